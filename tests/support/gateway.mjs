// A bindings gateway for a World in Node: each D1 call (a batch, or one statement's
// run/all/first/raw) and each queue send is ONE HTTP request to a Worker that runs it on
// its own bindings, instead of wrangler's binding proxy (`getEnv()`), on which every
// `prepare()` and `bind()` is a synchronous round trip to workerd that blocks Node's event
// loop (~20 ms each on these machines; BENCHMARKS.md "Profile"). The SQL, the D1 database
// and its answers are the real ones: only the transport differs. Test infrastructure only:
// the test harness (tests/support/harness.mjs) uses it; the bench's Node host uses the
// World over HTTP (js/remote.js) instead.
//
//   Worker:  const answer = await serveBindings(env, request); if (answer) return answer;
//   Node:    const env2 = gatewayEnv(env, (path, init) => worker.fetch(`http://gateway${path}`, init), token);
//
// The Worker half serves nothing unless its env has BINDINGS_GATEWAY_TOKEN and the request
// carries that token: a fixture Worker never answers SQL from an unknown caller.
import { decodeBody, encodeBody } from '../../js/wire.js';

export const GATEWAY_PATH = '/__bindings/';
export const GATEWAY_TOKEN_HEADER = 'x-bindings-gateway-token';
const QUEUES = new Set(['WORKFLOW_QUEUE', 'STEP_QUEUE']);
const STATEMENT_CALLS = new Set(['run', 'all', 'first', 'raw']);

const json = (body, status = 200) =>
  new Response(encodeBody(body), { status, headers: { 'content-type': 'application/json' } });

/** Worker half: answers a gateway request on `env`'s bindings, or returns undefined. */
export async function serveBindings(env, request) {
  const { pathname } = new URL(request.url);
  if (request.method !== 'POST' || !pathname.startsWith(GATEWAY_PATH)) return undefined;
  if (!env.BINDINGS_GATEWAY_TOKEN)
    return json({ error: 'bindings gateway disabled: BINDINGS_GATEWAY_TOKEN unset' }, 403);
  if (request.headers.get(GATEWAY_TOKEN_HEADER) !== env.BINDINGS_GATEWAY_TOKEN)
    return json({ error: 'bindings gateway: missing or wrong token' }, 401);
  const statement = ({ sql, params }) => {
    const s = env.DB.prepare(sql);
    return params.length ? s.bind(...params) : s;
  };
  try {
    const call = decodeBody(await request.text());
    switch (pathname.slice(GATEWAY_PATH.length)) {
      case 'd1/batch':
        return json({ value: await env.DB.batch(call.statements.map(statement)) });
      case 'd1/statement': {
        if (!STATEMENT_CALLS.has(call.method)) return json({ error: `no D1 statement method ${call.method}` }, 400);
        const s = statement(call.statement);
        return json({ value: await (call.column === undefined ? s[call.method]() : s[call.method](call.column)) });
      }
      case 'd1/exec':
        return json({ value: await env.DB.exec(call.sql) });
      case 'queue/send':
        if (!QUEUES.has(call.binding)) return json({ error: `no queue ${call.binding}` }, 400);
        await env[call.binding].send(call.body, call.options);
        return json({ value: null });
      case 'queue/sendBatch':
        if (!QUEUES.has(call.binding)) return json({ error: `no queue ${call.binding}` }, 400);
        await env[call.binding].sendBatch(call.messages);
        return json({ value: null });
      default:
        return json({ error: `unknown gateway call ${pathname}` }, 404);
    }
  } catch (error) {
    // The binding's own message (e.g. "D1_ERROR: UNIQUE constraint failed: …"), which the
    // Node half rethrows as the binding would have thrown it.
    return json({ error: String(error?.message ?? error) }, 500);
  }
}

/**
 * Node half: `env` with DB, WORKFLOW_QUEUE and STEP_QUEUE replaced by stand-ins that call
 * the gateway. `post(path, init)` sends one request to the Worker and resolves to its
 * Response (e.g. the test harness's `worker.fetch`); `token` is the Worker's
 * BINDINGS_GATEWAY_TOKEN.
 */
export function gatewayEnv(env, post, token) {
  async function call(path, payload) {
    const response = await post(`${GATEWAY_PATH}${path}`, {
      method: 'POST',
      body: encodeBody(payload),
      headers: { 'content-type': 'application/json', [GATEWAY_TOKEN_HEADER]: token },
    });
    const answer = decodeBody(await response.text());
    if (!response.ok) throw new Error(answer.error);
    return answer.value;
  }
  // An ArrayBuffer binds as a BLOB, as on the binding; the wire carries it as bytes.
  const wire = (params) => params.map((p) => (p instanceof ArrayBuffer ? new Uint8Array(p) : p));
  const statement = (sql, params = []) => {
    const s = { sql, params, bind: (...p) => statement(sql, p) };
    for (const method of STATEMENT_CALLS) {
      s[method] = (column) => call('d1/statement', { method, column, statement: { sql, params: wire(params) } });
    }
    return s;
  };
  const DB = {
    prepare: (sql) => statement(sql),
    batch: (statements) =>
      call('d1/batch', { statements: Array.from(statements, ({ sql, params }) => ({ sql, params: wire(params) })) }),
    exec: (sql) => call('d1/exec', { sql }),
  };
  const queue = (binding) => ({
    send: (body, options) => call('queue/send', { binding, body, options }).then(() => undefined),
    sendBatch: (messages) => call('queue/sendBatch', { binding, messages }).then(() => undefined),
  });
  return { ...env, DB, WORKFLOW_QUEUE: queue('WORKFLOW_QUEUE'), STEP_QUEUE: queue('STEP_QUEUE') };
}
