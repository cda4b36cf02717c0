// Compile-time proof (tsc --noEmit), no runtime: `createWorld(env, { specVersion: 7 })` is a
// World of @workflow/world 5.0.0-beta.37, as declared (js/index.d.ts) and as implemented
// (js/world.js); and the generated value types fit the 5.x contract's types.
import type {
  BaseEventSchema,
  Hook,
  PaginatedResponse,
  Step,
  StreamChunksResponse,
  StreamInfoResponse,
  Wait,
  WorkflowRunBaseSchema,
  World,
} from '@workflow/world-v5';
import type { z } from 'zod';
import type { CloudflareEnv, CloudflareWorldV5, RunV5, StepV5 } from '../../js/index.js';
import { createWorld as declared } from '../../js/index.js';
import { createWorld as implemented } from '../../js/world.js';
import type * as Generated from '../../pkg/world_cloudflare.js';

declare const env: CloudflareEnv;

export const worldViaDeclaration: World = declared(env, { specVersion: 7 });
export const worldViaImplementation: World = implemented(env, { specVersion: 7 });

type Fits<Contract, Actual extends Contract> = Actual;

export type RunFits = Fits<z.infer<typeof WorkflowRunBaseSchema>, RunV5>;
export type StepFits = Fits<Step, StepV5>;
export type HookFits = Fits<Hook, Generated.Hook>;
export type WaitFits = Fits<Wait, Generated.Wait>;
export type EventFits = Fits<z.infer<typeof BaseEventSchema>, Generated.Event>;
export type PageFits = Fits<PaginatedResponse<Generated.Run>, Generated.Page<Generated.Run>>;
export type ChunksFit = Fits<StreamChunksResponse, Generated.StreamChunksPage>;
export type InfoFits = Fits<StreamInfoResponse, Generated.StreamInfo>;

// The optional members this World implements are there, with the contract's signatures.
const world = declared(env, { specVersion: 7 });
export const getMany: NonNullable<World['runs']['getMany']> = world.runs.getMany;
export const waitForTerminalStatus: NonNullable<World['runs']['waitForTerminalStatus']> =
  world.runs.waitForTerminalStatus;
export const cancelMany: NonNullable<World['runs']['cancelMany']> = world.runs.cancelMany;
export type CancelManyFits = Fits<Awaited<ReturnType<NonNullable<World['runs']['cancelMany']>>>, Generated.CancelMany>;
export const queueBatch: NonNullable<World['queueBatch']> = world.queueBatch;
export const createBatch: NonNullable<World['events']['createBatch']> = world.events.createBatch;

// The declared World is the line's own, not `never` (which any check above would accept):
// js/index.d.ts picks each line's World by the `@workflow/world` installed.
type IsNever<T> = [T] extends [never] ? true : false;
export const declaredWorldIsReal: IsNever<CloudflareWorldV5> = false;
