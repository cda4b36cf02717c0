// Public types of @workflow/world-cloudflare. The World's shapes are the contract's own,
// from the `@workflow/world` the app installed: 4.5.0 for `workflow` 4.x, 5.0.0-beta.37
// for 5.x (each line's World type is `never` when the other line is installed). The values
// the wasm core returns are typed by the declarations generated from Rust with tsify
// (pkg/world_cloudflare.d.ts); tests/types/world.check.ts and world-v5.check.ts prove both
// fit each line's contract.
import type * as InstalledWorld from '@workflow/world';
import type { BindingNames } from '../pkg/world_cloudflare.js';

export type {
  BindingNames,
  Event,
  EventResult,
  Hook,
  Page,
  Run,
  Step,
  StreamChunksPage,
  StreamInfo,
  Wait,
  WorldOptions,
} from '../pkg/world_cloudflare.js';

import type { Event, EventType, Run, Step, StructuredError } from '../pkg/world_cloudflare.js';

// The generated entity types serve both lines; the line of a run fixes the shape of its
// error (4.x: the StructuredError; 5.x: the bytes core serialized) and whether it has
// attributes (5.x: always, `{}` when none were set). The engine guarantees these by the
// run's spec version (tests/conformance-v5/runs.test.mjs V32, V36).
/** A run of the 4.x World (spec 3). */
export type RunV4 = Omit<Run, 'error' | 'errorCode' | 'attributes' | 'encryptionPublicKey'> & {
  error?: StructuredError;
};
/** A run of the 5.x World (spec 7). */
export type RunV5 = Omit<Run, 'error' | 'attributes'> & { error?: Uint8Array; attributes: Record<string, string> };
/** An event of the 4.x World (`attr_set` is a 5.x event type). */
export type EventV4 = Omit<Event, 'eventType'> & { eventType: Exclude<EventType, 'attr_set'> };
/** A step of the 4.x World. */
export type StepV4 = Omit<Step, 'error'> & { error?: StructuredError };
/** A step of the 5.x World. */
export type StepV5 = Omit<Step, 'error'> & { error?: Uint8Array };

// Hand-written: the bindings are Cloudflare's types (@cloudflare/workers-types), which
// Rust cannot name.
/** The Worker bindings this World reads (names fixed: see README "Using it from a Worker"). */
export interface CloudflareEnv {
  /** D1 database with the schema of `migrations/`. */
  DB?: D1Database;
  WORKFLOW_QUEUE?: Queue;
  STEP_QUEUE?: Queue;
  STREAM_BUCKET?: R2Bucket;
  /** Defaults to "cloudflare". */
  DEPLOYMENT_ID?: string;
  /** Service binding to the app serving `/.well-known/workflow/v1/{flow,step}` (split deployments). */
  WORKFLOW_APP?: Fetcher;
  /** Base URL of that app when it is reached over plain HTTP. */
  WORKFLOW_APP_URL?: string;
  /** HMAC secret: HTTP deliveries are signed and unsigned requests refused with 401. */
  WORKFLOW_SECRET?: string;
  /** HMAC secret of the World over HTTP (`serveWorld`); unset: `serveWorld` serves nothing (403). */
  WORKFLOW_REMOTE_SECRET?: string;
  /** Secret from which each run's 32-byte encryption key is derived (HKDF-SHA-256); unset: no encryption. */
  WORKFLOW_ENCRYPTION_KEY?: string;
  /** Longest delay of one queue send (default 43200, the Queues limit); lower only to test delay chaining. */
  WORKFLOW_QUEUE_MAX_DELAY_SECONDS?: string | number;
  /** Days after its end when `start()` removes a run whole (fractions allowed); unset keeps every run. */
  WORKFLOW_RETENTION_DAYS?: string | number;
}

/** Whether the installed `@workflow/world` is the 5.x line (it has slot identity). */
type InstalledIsV5 = typeof InstalledWorld extends { SPEC_VERSION_SUPPORTS_SLOT_IDENTITY: unknown } ? true : false;
/** The 5.x World of the installed `@workflow/world`; `never` when 4.x is installed. */
type WorldV5 = InstalledIsV5 extends true ? InstalledWorld.World : never;
/** The 4.x World's parts of the installed `@workflow/world`; `never` when 5.x is installed. */
type WorldV4 = InstalledIsV5 extends true
  ? never
  : InstalledWorld.Storage & InstalledWorld.Queue & InstalledWorld.Streamer;

export type CloudflareWorld = WorldV4 & {
  /** `SPEC_VERSION_CURRENT` of @workflow/world. */
  readonly specVersion: 3;
  /** 0: the runtime's stream writer flushes each chunk at once (every write is one D1 round trip). */
  readonly streamFlushIntervalMs: 0;
  /** Re-enqueues every pending or running run (contract §5.6), then applies `WORKFLOW_RETENTION_DAYS`. */
  start(): Promise<void>;
  getEncryptionKeyForRun(
    run: { runId: string } | string,
    context?: Record<string, unknown>,
  ): Promise<Uint8Array | undefined>;
};

/** The World of `workflow` 5.x (`@workflow/world` 5.0.0-beta.37, spec version 7). */
export type CloudflareWorldV5 = WorldV5 & {
  readonly specVersion: 7;
  readonly capabilities: { readonly hookRetention: { readonly active: true }; readonly hookResumeDedup: true };
  readonly runs: Required<Pick<WorldV5['runs'], 'getMany' | 'waitForTerminalStatus' | 'cancelMany'>>;
  readonly queueBatch: NonNullable<WorldV5['queueBatch']>;
  readonly events: Required<Pick<WorldV5['events'], 'createBatch'>>;
  readonly streamFlushIntervalMs: 0;
  start(): Promise<void>;
};
/**
 * The World over a Worker's bindings. Synchronous and side-effect free; bindings are
 * read when a method needs them, so it may be created before `env` is complete.
 */
export function createWorld(env?: CloudflareEnv, options?: { specVersion?: 3 }): CloudflareWorld;
/** The World of `workflow` 5.x: slot-numbered logs, `world.streams.*`, one queue. */
export function createWorld(env: CloudflareEnv | undefined, options: { specVersion: 7 }): CloudflareWorldV5;

/**
 * Delivers one Queues message to its workflow or step handler. Resolves when the message
 * may be acknowledged, rejects when it should be retried:
 * `try { await handleQueueMessage(env, message); message.ack(); } catch { message.retry(); }`
 */
export function handleQueueMessage(env: CloudflareEnv, message: Message<unknown>): Promise<void>;

/**
 * A Worker's whole `queue()` handler, for every queue it consumes:
 * `queue: (batch, env) => handleQueueBatch(batch, env)`. Each message of the dead-letter
 * queue (`WORKFLOW_DEAD_LETTER_QUEUE`, default `workflow-dlq`) fails its run
 * (`handleDeadLetter`); every other is delivered (`handleQueueMessage`). Each is
 * acknowledged, or retried when that failed (its error is logged).
 */
export function handleQueueBatch(batch: MessageBatch<unknown>, env: CloudflareEnv): Promise<void>;

/** For the dead-letter queue's consumer: fails the message's run; resolves to its id. */
export function handleDeadLetter(env: CloudflareEnv, message: Message<unknown>): Promise<string | undefined>;

/** The names of the bindings and vars read from `env`. */
export declare const BINDINGS: Readonly<BindingNames>;

/**
 * Answers one call of the World over HTTP (from `@workflow/world-cloudflare/remote`) on
 * this Worker's bindings. Mount it on a path of the app's choosing in `fetch()`. Refuses
 * with 401 a request whose signature is missing, wrong, altered, stale or replayed, and
 * with 403 every request when `WORKFLOW_REMOTE_SECRET` is not set.
 */
export function serveWorld(request: Request, env: CloudflareEnv): Promise<Response>;
