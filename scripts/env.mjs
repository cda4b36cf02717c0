// Shared by scripts/ and bench/: repo root, and a child environment in which
// node_modules/.bin (Node 22, wrangler, wasm-opt) and ~/.cargo/bin come first
// on PATH, with Miniflare kept offline and quiet (docs/toolchain.md "Node 22 from npm",
// "Offline Miniflare") and Node's compile cache on.

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(ROOT, 'node_modules', '.bin');
export const NODE = path.join(BIN, 'node');
/**
 * The `wf` CLI of `workflow` 4.8.9, which builds the example's routes. Not `.bin/wf`: the
 * 5.x line is installed too (npm alias `workflow-v5`), and npm links whichever `wf` it
 * installs last.
 */
export const WF4 = path.join(ROOT, 'node_modules', 'workflow', 'bin', 'run.js');

export function childEnv(extra = {}) {
  const cargoBin = path.join(process.env.CARGO_HOME ?? path.join(os.homedir(), '.cargo'), 'bin');
  const first = [BIN, cargoBin];
  const rest = (process.env.PATH ?? '').split(path.delimiter).filter((p) => p && !first.includes(p));
  return {
    ...process.env,
    PATH: [...first, ...rest].join(path.delimiter),
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_SEND_METRICS: 'false',
    // V8's code cache for every Node process started from here: each test file imports
    // wrangler (~2.2 s cold, ~1.3 s cached; docs/toolchain.md "CI time").
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(ROOT, 'node_modules', '.cache', 'node-compile'),
    ...extra,
  };
}

/** Run a command with inherited stdio in the repo root; returns its exit code (never throws). */
export function run(cmd, args, { env = childEnv(), cwd = ROOT, timeout } = {}) {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, env, stdio: 'inherit', timeout });
  if (r.error?.code === 'ETIMEDOUT') {
    console.error(`${cmd}: timed out after ${timeout / 1000} s`);
    return 124;
  }
  if (r.error) {
    console.error(`${cmd}: ${r.error.message}`);
    return 127;
  }
  if (r.signal) {
    console.error(`${cmd}: killed by ${r.signal}`);
    return 128 + (os.constants.signals[r.signal] ?? 0);
  }
  return r.status ?? 1;
}
