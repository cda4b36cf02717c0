// A bindings gateway for the Node host: D1 batches and queue sends as ONE HTTP request each
// to a Worker that runs them on its own bindings, instead of wrangler's binding proxy
// (`getEnv()`), on which every `prepare()` and `bind()` is a synchronous round trip to
// workerd that blocks Node's event loop (~2 ms each, measured in BENCHMARKS.md), and every
// call is one more. The World's core uses only `prepare(sql).bind(...params)` and
// `batch(statements)` of D1, and `send(body, options)` of a queue, so that is all the
// Node half offers. This is the shape a production Node host has too (a Worker in front
// of the bindings, or D1's HTTP API: one request per batch).
//
//   Worker:  const answer = await serveBindings(env, request); if (answer) return answer;
//   Node:    const world = createWorld(gatewayEnv(env, (path, body) => worker.fetch(...)));
import { decodeBody, encodeBody } from '../js/wire.js';

export const GATEWAY_PATH = '/__bindings/';
const QUEUES = new Set(['WORKFLOW_QUEUE', 'STEP_QUEUE']);

/** D1 returns BLOB columns as Arrays of byte values; send them as bytes (base64 in JSON). */
function blobsToBytes(results) {
  for (const r of results) {
    for (const row of r.results ?? []) {
      for (const [k, v] of Object.entries(row)) {
        if (Array.isArray(v)) row[k] = Uint8Array.from(v);
        else if (v instanceof ArrayBuffer) row[k] = new Uint8Array(v);
      }
    }
  }
  return results;
}

/** Worker half: answers a gateway request on `env`'s bindings, or returns undefined. */
export async function serveBindings(env, request) {
  const { pathname } = new URL(request.url);
  if (request.method !== 'POST' || !pathname.startsWith(GATEWAY_PATH)) return undefined;
  try {
    const call = decodeBody(await request.text());
    switch (pathname.slice(GATEWAY_PATH.length)) {
      case 'd1/batch': {
        const statements = call.statements.map(({ sql, params }) => {
          const s = env.DB.prepare(sql);
          return params.length ? s.bind(...params) : s;
        });
        const results = await env.DB.batch(statements);
        return new Response(encodeBody(blobsToBytes(results)), { headers: { 'content-type': 'application/json' } });
      }
      case 'queue/send': {
        if (!QUEUES.has(call.binding)) return Response.json({ error: `no queue ${call.binding}` }, { status: 400 });
        await env[call.binding].send(call.body, call.options);
        return Response.json({ ok: true });
      }
      default:
        return Response.json({ error: `unknown gateway call ${pathname}` }, { status: 404 });
    }
  } catch (error) {
    return Response.json({ error: String(error?.message ?? error) }, { status: 500 });
  }
}

/**
 * Node half: `env` with DB, WORKFLOW_QUEUE and STEP_QUEUE replaced by stand-ins that call
 * the gateway. `post(path, body)` sends one request to the Worker and resolves to its
 * Response (e.g. the test harness's `worker.fetch`).
 */
export function gatewayEnv(env, post) {
  async function call(path, payload) {
    const response = await post(`${GATEWAY_PATH}${path}`, encodeBody(payload));
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = JSON.parse(text).error ?? text;
      } catch {}
      throw new Error(message);
    }
    return decodeBody(text);
  }
  const statement = (sql, params = []) => ({ sql, params, bind: (...p) => statement(sql, p) });
  const DB = {
    prepare: (sql) => statement(sql),
    batch: (statements) => call('d1/batch', { statements: statements.map(({ sql, params }) => ({ sql, params })) }),
  };
  const queue = (binding) => ({
    send: (body, options) => call('queue/send', { binding, body, options }).then(() => undefined),
  });
  return { ...env, DB, WORKFLOW_QUEUE: queue('WORKFLOW_QUEUE'), STEP_QUEUE: queue('STEP_QUEUE') };
}
