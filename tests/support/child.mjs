// Runs one of the support scripts in a Node process of its own, so that two Worlds (or two
// `workflow` lines) never share a runtime, and resolves to the JSON it prints on the line that
// starts with `tag` (tests/support/reference.mjs, reference-v5.mjs, differential-v5.mjs).
//
//   const logs = await childJson('tests/support/reference-v5.mjs', [], '@@REFERENCE@@');
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './harness.mjs';

export function childJson(script, args, tag) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, script), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(tag));
      if (code !== 0 || !line) reject(new Error(`${script} failed (exit ${code}): ${err.slice(-2000)}`));
      else resolve(JSON.parse(line.slice(tag.length)));
    });
  });
}
