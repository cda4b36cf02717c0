// Public types of @workflow/world-cloudflare. The World's shapes are the contract's own
// (`@workflow/world` 4.5.0); tests/types checks that the implementation in js/world.js
// satisfies them.
import type { Storage } from '@workflow/world';

/** The Worker bindings this World reads (names fixed: see README "Worker setup"). */
export interface CloudflareEnv {
  /** D1 database with the schema of `migrations/`. */
  DB?: D1Database;
  WORKFLOW_QUEUE?: Queue;
  STEP_QUEUE?: Queue;
  STREAM_BUCKET?: R2Bucket;
  /** Defaults to "cloudflare". */
  DEPLOYMENT_ID?: string;
}

export type CloudflareWorld = Storage & {
  /** `SPEC_VERSION_CURRENT` of @workflow/world. */
  readonly specVersion: 3;
};

/**
 * The World over a Worker's bindings. Synchronous and side-effect free; bindings are
 * read when a method needs them, so it may be created before `env` is complete.
 */
export function createWorld(env?: CloudflareEnv): CloudflareWorld;

export declare const BINDINGS: {
  readonly db: 'DB';
  readonly workflowQueue: 'WORKFLOW_QUEUE';
  readonly stepQueue: 'STEP_QUEUE';
  readonly streamBucket: 'STREAM_BUCKET';
  readonly deploymentId: 'DEPLOYMENT_ID';
};
