// Compile-time proof (tsc --noEmit), no runtime: what createWorld returns is a World of
// @workflow/world 4.5.0, both as declared (js/index.d.ts) and as implemented (js/world.js);
// and every value type generated from Rust (pkg/world_cloudflare.d.ts) fits the
// contract's type of the same value.
import type {
  BaseEventSchema,
  Hook,
  PaginatedResponse,
  Queue,
  Step,
  Storage,
  StreamChunksResponse,
  Streamer,
  StreamInfoResponse,
  Wait,
  WorkflowRunBaseSchema,
  World,
} from '@workflow/world';
import type { z } from 'zod';
import type { CloudflareEnv, CloudflareWorld, EventV4, RunV4, StepV4 } from '../../js/index.js';
import { createWorld as declared } from '../../js/index.js';
import { createWorld as remoteDeclared } from '../../js/remote.js';
import { createWorld as implemented } from '../../js/world.js';
import type * as Generated from '../../pkg/world_cloudflare.js';

declare const env: CloudflareEnv;

export const viaDeclaration: Storage = declared(env);
export const viaImplementation: Storage = implemented(env);
export const withoutBindings: Storage = implemented();

export const queueViaDeclaration: Queue = declared(env);
export const queueViaImplementation: Queue = implemented(env);
export const streamerViaDeclaration: Streamer = declared(env);
export const streamerViaImplementation: Streamer = implemented(env);
export const worldViaDeclaration: World = declared(env);
export const worldViaImplementation: World = implemented(env);
// The World over HTTP (js/remote.d.ts) is the same World.
export const remoteWorld: World = remoteDeclared({ url: 'https://app.example/workflow-world', secret: 's' });
export const remoteWorldFromEnv: World = remoteDeclared();

/** Compiles only when `Actual` is assignable to `Contract`. */
type Fits<Contract, Actual extends Contract> = Actual;

export type RunFits = Fits<z.infer<typeof WorkflowRunBaseSchema>, RunV4>;
export type StepFits = Fits<Step, StepV4>;
export type HookFits = Fits<Hook, Generated.Hook>;
export type WaitFits = Fits<Wait, Generated.Wait>;
export type EventFits = Fits<z.infer<typeof BaseEventSchema>, EventV4>;
export type PageFits = Fits<PaginatedResponse<Generated.Run>, Generated.Page<Generated.Run>>;
export type ChunksFit = Fits<StreamChunksResponse, Generated.StreamChunksPage>;
export type InfoFits = Fits<StreamInfoResponse, Generated.StreamInfo>;

// The declared World is the line's own, not `never` (which any check above would accept):
// js/index.d.ts picks each line's World by the `@workflow/world` installed.
type IsNever<T> = [T] extends [never] ? true : false;
export const declaredWorldIsReal: IsNever<CloudflareWorld> = false;
