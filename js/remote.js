// The World over HTTP, for Node processes that have no Cloudflare bindings: the 4.x routes
// host, the `workflow` CLI and the web UI. Each World call is one signed POST to a Worker
// that mounts `serveWorld` (js/serve.js), which runs it on its bindings through the same
// wasm core; the members are those of js/world.js over a stand-in for the core.
//
//   WORKFLOW_TARGET_WORLD=@workflow/world-cloudflare/remote
//   WORKFLOW_CLOUDFLARE_URL=https://app.example.workers.dev/workflow-world
//   WORKFLOW_REMOTE_SECRET=…          (the Worker's secret of the same name)
import './wasm-node.js';
import * as wasm from '../pkg/world_cloudflare.js';
import { CONTENT_TYPE, decode, encode, rebuildError, SIGNATURE_HEADER, WORLD_ERROR_HEADER } from './remote-wire.js';
import { worldOver } from './world.js';

/** Attempts of a call that is safe to repeat, and the waits between them (ms). */
const RETRY_WAITS_MS = [100, 400];
const DEFAULT_TIMEOUT_MS = 30_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function worldError(message, fields) {
  return rebuildError({ name: 'WorkflowWorldError', message, ...fields });
}

/** Failures of the transport (no answer, or a 5xx that is not the World's error). */
const transportFailures = new WeakSet();
function transportFailure(message, fields) {
  const error = worldError(message, { status: 503, code: 'TRANSPORT', ...fields });
  transportFailures.add(error);
  return error;
}

/**
 * The World calls of one Worker over HTTP: `call(name, args, repeatable, {waitMs, signal})`,
 * each one signed POST.
 *
 * @param {{ url?: string, secret?: string, send: typeof fetch, timeoutMs: number, specVersion: number }} target
 */
function caller({ url, secret, send, timeoutMs, specVersion }) {
  /**
   * @param {string} body
   * @param {number} [waitMs]
   * @param {AbortSignal} [signal]
   */
  async function once(body, waitMs = 0, signal = undefined) {
    if (!url)
      throw worldError('The remote World needs WORKFLOW_CLOUDFLARE_URL (or `url`)', {
        status: 400,
        code: 'MISSING_REMOTE_URL',
      });
    if (!secret)
      throw worldError('The remote World needs WORKFLOW_REMOTE_SECRET (or `secret`)', {
        status: 400,
        code: 'MISSING_REMOTE_SECRET',
      });
    let response;
    try {
      response = await send(url, {
        method: 'POST',
        headers: {
          'content-type': CONTENT_TYPE,
          [SIGNATURE_HEADER]: wasm.signRemote(secret, 'POST', new URL(url).pathname, body),
        },
        body,
        signal: signal
          ? AbortSignal.any([AbortSignal.timeout(timeoutMs + waitMs), signal])
          : AbortSignal.timeout(timeoutMs + waitMs),
      });
    } catch (cause) {
      throw transportFailure(`The Worker at ${url} is unreachable: ${cause instanceof Error ? cause.message : cause}`, {
        cause,
      });
    }
    const text = await response.text().catch(() => '');
    if (response.headers.get(WORLD_ERROR_HEADER)) throw decode(text).error;
    if (!response.ok) {
      let reason = text.slice(0, 300);
      try {
        reason = String(decode(text).error);
      } catch {}
      const message = `The Worker at ${url} answered ${response.status}: ${reason}`;
      if (response.status >= 500) throw transportFailure(message, { status: response.status });
      throw worldError(message, { status: response.status, code: 'REMOTE_REFUSED' });
    }
    return decode(text).value;
  }

  /**
   * One World call; `repeatable` ones are retried when the transport failed. `waitMs`: how
   * long the Worker may hold the call by design (a long poll), beyond the usual timeout;
   * `signal` ends it early.
   *
   * @param {string} name
   * @param {unknown[]} args
   * @param {boolean} repeatable
   * @param {{ waitMs?: number, signal?: AbortSignal }} [options]
   */
  async function call(name, args, repeatable, { waitMs = 0, signal } = {}) {
    const body = encode({ specVersion, call: name, args });
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(body, waitMs, signal);
      } catch (error) {
        if (
          signal?.aborted ||
          !repeatable ||
          !transportFailures.has(/** @type {object} */ (error)) ||
          attempt >= RETRY_WAITS_MS.length
        )
          throw error;
        await sleep(RETRY_WAITS_MS[attempt]);
      }
    }
  }
  return call;
}

/**
 * The World of a Worker, over HTTP. Synchronous and side-effect free: the URL and secret
 * are checked by the first call.
 *
 * @param {import('./remote.js').RemoteWorldOptions} [options]
 */
export function createWorld(options = {}) {
  const url = options.url ?? process.env.WORKFLOW_CLOUDFLARE_URL;
  const secret = options.secret ?? process.env.WORKFLOW_REMOTE_SECRET;
  const specVersion = options.specVersion ?? (Number(process.env.WORKFLOW_CLOUDFLARE_SPEC_VERSION) || 3);
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // What needs no bindings runs here: checks of a delivery's signature (WORKFLOW_SECRET,
  // as on the Worker) and of a stream's arguments.
  const local = new wasm.World(
    { WORKFLOW_SECRET: options.deliverySecret ?? process.env.WORKFLOW_SECRET },
    { specVersion: /** @type {3 | 7} */ (specVersion) },
  );

  const call = caller({ url, secret, send, timeoutMs, specVersion });

  const core = {
    // Every call as it is, then those whose arguments or repeats need more.
    ...Object.fromEntries(
      wasm
        .worldCalls()
        .map(({ name, repeatable }) => [name, (/** @type {unknown[]} */ ...args) => call(name, args, repeatable)]),
    ),
    specVersion: local.specVersion,
    refuseDelivery: (signature, queueName, messageId, attempt, body) =>
      local.refuseDelivery(signature, queueName, messageId, attempt, body),
    checkStream: (name, runId) => local.checkStream(name, runId),
    createEvent: (runId, data, params) => call('createEvent', [runId, data, wasm.createParamsForWire(params)], false),
    createEventBatch: (runId, events, params) =>
      call(
        'createEventBatch',
        // Only the events cross: the World stamps its own time on each.
        [
          runId,
          Array.isArray(events) ? events.map((item) => ({ event: item?.event })) : events,
          wasm.createParamsForWire(params),
        ],
        false,
      ),
    // A signal cannot cross HTTP: aborting it ends the call here, and the run's latest
    // state is read instead, as the Worker's own wait would answer.
    waitForTerminalStatus: async (runId, params) => {
      const signal = params?.signal;
      const latest = () => call('getRun', [runId, { resolveData: params?.resolveData }], true);
      if (signal?.aborted) return latest();
      try {
        return await call(
          'waitForTerminalStatus',
          [runId, { resolveData: params?.resolveData, timeoutMs: params?.timeoutMs }],
          true,
          { waitMs: Number(params?.timeoutMs) || 0, signal },
        );
      } catch (error) {
        if (signal?.aborted) return latest();
        throw error;
      }
    },
    encryptionKey: (run) => call('encryptionKey', [typeof run === 'string' ? run : { runId: run?.runId }], true),
    // A send with an idempotency key is one message however often it is repeated.
    queue: (queueName, payload, opts) => call('queue', [queueName, payload, opts], opts?.idempotencyKey !== undefined),
    // Repeatable when every message has an idempotency key, as for queue().
    queueBatch: (queueName, messages) =>
      call(
        'queueBatch',
        [queueName, messages],
        Array.from(messages ?? []).every((m) => m?.opts?.idempotencyKey !== undefined),
      ),
  };
  return worldOver(/** @type {any} */ (core));
}

export default createWorld;
