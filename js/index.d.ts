// Public types of @workflow/world-cloudflare. The World's shapes are the contract's own
// (`@workflow/world` 4.5.0); the values the wasm core returns are typed by the
// declarations generated from Rust with tsify (pkg/world_cloudflare.d.ts), and
// tests/types/world.check.ts proves both fit the contract.
import type { Storage, Streamer, Queue as WorkflowQueue } from '@workflow/world';
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
} from '../pkg/world_cloudflare.js';

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
  /** Longest delay of one queue send (default 86400); lower only to test delay chaining. */
  WORKFLOW_QUEUE_MAX_DELAY_SECONDS?: string | number;
}

export type CloudflareWorld = Storage &
  WorkflowQueue &
  Streamer & {
    /** `SPEC_VERSION_CURRENT` of @workflow/world. */
    readonly specVersion: 3;
    /** 0: the runtime's stream writer flushes each chunk at once (every write is one D1 round trip). */
    readonly streamFlushIntervalMs: 0;
    /** Re-enqueues every pending or running run (contract §5.6). */
    start(): Promise<void>;
  };

/**
 * The World over a Worker's bindings. Synchronous and side-effect free; bindings are
 * read when a method needs them, so it may be created before `env` is complete.
 */
export function createWorld(env?: CloudflareEnv): CloudflareWorld;

/**
 * Delivers one Queues message to its workflow or step handler. Resolves when the message
 * may be acknowledged, rejects when it should be retried:
 * `try { await handleQueueMessage(env, message); message.ack(); } catch { message.retry(); }`
 */
export function handleQueueMessage(env: CloudflareEnv, message: Message<unknown>): Promise<void>;

/** A whole `queue()` handler: acknowledges or retries each message of the batch. */
export function handleQueueBatch(batch: MessageBatch<unknown>, env: CloudflareEnv): Promise<void>;

/** For the dead-letter queue's consumer: fails the message's run; resolves to its id. */
export function handleDeadLetter(env: CloudflareEnv, message: Message<unknown>): Promise<string | undefined>;

/** The names of the bindings and vars read from `env`. */
export declare const BINDINGS: Readonly<BindingNames>;
