// Processes a test kills: `wrangler dev` and the Node hosts of the crash tests, each in a
// process group of its own so that SIGKILL to the group takes workerd down with it (no
// shutdown code runs), then started again on the same persisted state.
//
//   const dev = await launch('wrangler dev', 'wrangler', [...], /Ready on/, { cwd });
//   await kill(dev);
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from './harness.mjs';

/** The environment of a launched process: node_modules/.bin first, Miniflare offline and quiet. */
export const processEnv = {
  ...process.env,
  PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
  CI: '1',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
};

/** A TCP port free right now on 127.0.0.1 (a process keeps its port across restarts). */
export const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/**
 * Starts `cmd args` in a group of its own; resolves to `{child, log()}` when its output
 * matches `ready`, rejects if it exits first or is not ready within `timeoutMs`.
 */
export function launch(label, cmd, args, ready, { cwd = ROOT, env = processEnv, timeoutMs = 60_000 } = {}) {
  const child = spawn(cmd, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${label} not ready after ${timeoutMs} ms: ${out.slice(-3000)}`)),
      timeoutMs,
    );
    const on = (data) => {
      out += data;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, log: () => out });
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code ?? signal}) before it was ready: ${out.slice(-3000)}`));
    });
  });
}

/**
 * SIGKILL to the process's whole group (also when the leader is gone already: what it
 * started may not be); resolves once the leader has exited.
 */
export async function kill(proc) {
  if (!proc) return;
  try {
    process.kill(-proc.child.pid, 'SIGKILL');
  } catch {}
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    await new Promise((resolve) => proc.child.once('exit', resolve));
  }
}
