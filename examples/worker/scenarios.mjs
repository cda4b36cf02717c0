// The example's scenarios against the Worker (app.mjs): the same workflows and the same
// expectations as examples/basic/scenarios.mjs, each driven over the Worker's HTTP routes.
import { scenarios as basicScenarios, eventTypes, eventually, unique } from '../basic/scenarios.mjs';

export { runScenario } from '../basic/scenarios.mjs';

/** A settled run as the basic scenarios report it: `value` is the result. */
async function settled(app, runId, extra) {
  const { status, result, error } = await app.settle(runId);
  return { runId, status, ...(error === undefined ? { value: result } : { error }), ...(extra ? { extra } : {}) };
}

const drivers = {
  sequential: async (app) => settled(app, await app.start('sequential', [2, 3])),
  parallel: async (app) => settled(app, await app.start('parallel', [10])),
  shortSleep: async (app) => settled(app, await app.start('shortSleep', [1500])),
  async longSleep(app) {
    const runId = await app.start('longSleep');
    await eventually('the 7-day wait', async () => (await eventTypes(app.world, runId)).includes('wait_created'));
    await app.wake(runId);
    return settled(app, runId);
  },
  async hook(app) {
    const token = `order:${unique()}`;
    const runId = await app.start('hooked', [token]);
    await eventually('the hook', () => app.world.hooks.getByToken(token));
    const statusWhileWaiting = (await app.status(runId)).status;
    await app.resumeHook(token, { message: 'hello from resumeHook' });
    return settled(app, runId, { statusWhileWaiting });
  },
  async webhook(app) {
    const runId = await app.start('webhooked');
    const hook = await eventually('the webhook', async () => (await app.world.hooks.list({ runId })).data[0]);
    const response = await app.fetch(`/.well-known/workflow/v1/webhook/${encodeURIComponent(hook.token)}`, {
      method: 'POST',
      body: 'ping',
    });
    return settled(app, runId, { httpStatus: response.status });
  },
  async stream(app) {
    const runId = await app.start('streaming', [5]);
    const chunks = await app.stream(runId);
    return settled(app, runId, { chunks });
  },
  retry: async (app) => settled(app, await app.start('retried')),
  fatal: async (app) => settled(app, await app.start('fatal')),
  bytes: async (app) => settled(app, await app.start('binary')),
  async child(app) {
    const parent = await settled(app, await app.start('parent', [41]));
    const child = parent.value?.childRunId ? await settled(app, parent.value.childRunId) : undefined;
    return { ...parent, value: parent.value && { child: child?.value }, extra: { childStatus: child?.status } };
  },
};

export const scenarios = basicScenarios.map((scenario) => ({ ...scenario, drive: drivers[scenario.name] }));
