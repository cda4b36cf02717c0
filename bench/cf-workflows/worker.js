// `npm run bench` only: the bench's workloads (examples/worker/workflows/bench.ts) written as
// Cloudflare Workflows, the platform's own durable execution, run in the same local workerd
// (wrangler emulates Workflows) so it stands beside this World in the same tables. Workload
// (c), a live stream, has no counterpart: a Workflow has no stream its client reads while it
// runs, so that row says n/a.
//
//   POST /start/:workflow  {args}   → {id}          (bench3 | benchSteps)
//   POST /statuses/:workflow [ids]  → [{id, status, output?, error?}]
import { WorkflowEntrypoint } from 'cloudflare:workers';

const inc = (x) => x + 1;

/** Workload (a): 3 sequential steps, as bench3. */
export class Bench3 extends WorkflowEntrypoint {
  async run(event, step) {
    let v = event.payload.args[0];
    for (let i = 0; i < 3; i++) {
      const x = v;
      v = await step.do(`inc ${i}`, async () => inc(x));
    }
    return v;
  }
}

/** Workload (b): `n` sequential steps, as benchSteps. */
export class BenchSteps extends WorkflowEntrypoint {
  async run(event, step) {
    const [n] = event.payload.args;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const x = v;
      v = await step.do(`inc ${i}`, async () => inc(x));
    }
    return v;
  }
}

const BINDINGS = { bench3: 'BENCH3', benchSteps: 'BENCH_STEPS' };

export default {
  async fetch(request, env) {
    const [, action, name] = new URL(request.url).pathname.split('/');
    const workflow = env[BINDINGS[name]];
    if (!workflow || request.method !== 'POST') return new Response('not found', { status: 404 });
    if (action === 'start') {
      const { args } = await request.json();
      const instance = await workflow.create({ params: { args } });
      return Response.json({ id: instance.id });
    }
    if (action === 'statuses') {
      const ids = await request.json();
      const statuses = await Promise.all(ids.map(async (id) => ({ id, ...(await (await workflow.get(id)).status()) })));
      return Response.json(statuses);
    }
    return new Response('not found', { status: 404 });
  },
};
