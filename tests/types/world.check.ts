// Compile-time proof (tsc --noEmit), no runtime: what createWorld returns is a Storage of
// @workflow/world 4.5.0, both as declared (js/index.d.ts) and as implemented (js/world.js).
import type { Queue, Storage, Streamer, World } from '@workflow/world';
import type { CloudflareEnv } from '../../js/index.js';
import { createWorld as declared } from '../../js/index.js';
import { createWorld as implemented } from '../../js/world.js';

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
