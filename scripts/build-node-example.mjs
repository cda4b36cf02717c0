// Builds the 4.x Node-host example (examples/basic) with `wf build`. Its workflows are the
// Worker example's (examples/worker/workflows: one source for both lines), copied in first:
// a file is bundled with the `workflow` found above it on disk, and only a copy under
// examples/basic finds the 4.x line's (a link resolves to the Worker's 5.x and fails).
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { NODE, ROOT, run, WF4 } from './env.mjs';

const SHARED_WORKFLOWS = ['basic.ts', 'bench.ts'];
const from = path.join(ROOT, 'examples', 'worker', 'workflows');
const to = path.join(ROOT, 'examples', 'basic', 'workflows');

for (const file of SHARED_WORKFLOWS) copyFileSync(path.join(from, file), path.join(to, file));
process.exit(run(NODE, [WF4, 'build'], { cwd: path.join(ROOT, 'examples', 'basic') }));
