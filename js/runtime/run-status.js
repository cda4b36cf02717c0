// A run as an app reports it: shared by the Worker runtime (js/runtime.js) and the
// reference the end-to-end suite compares it with (tests/support/reference-v5.mjs), so
// both read results and errors the same way.

/**
 * A run's status, and its result or error once it ended; `undefined` for no such run.
 * @param {{ runs: { get(runId: string, params: object): Promise<{ workflowName: string, status: string }> } }} world
 * @param {{ getRun: Function }} api the app's `workflow/api`
 * @param {string} runId
 */
export async function runStatus(world, api, runId) {
  const run = await world.runs.get(runId, { resolveData: 'none' }).catch((error) => {
    if (error?.name === 'WorkflowRunNotFoundError') return undefined;
    throw error;
  });
  if (!run) return undefined;
  /** @type {{ runId: string, workflowName: string, status: string, result?: unknown, error?: string }} */
  const out = { runId, workflowName: run.workflowName, status: run.status };
  if (run.status === 'completed') out.result = await api.getRun(runId).returnValue;
  if (run.status === 'failed') {
    out.error = await api.getRun(runId).returnValue.then(
      () => undefined,
      (e) => String(e?.message ?? e),
    );
  }
  return out;
}
