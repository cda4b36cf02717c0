// The Worker side of the World over HTTP: `serveWorld(request, env)` answers World calls
// from Node processes (js/remote.js) on this Worker's own bindings, through the same wasm
// core. It serves nothing without WORKFLOW_REMOTE_SECRET, and a request only when its
// signature holds and it was never served before (crates/core/src/remote.rs): both are decided by
// `World.admitRemote` before the call runs.
import * as wasm from '../pkg/world_cloudflare.js';
import { CONTENT_TYPE, decode, encode, rebuildError, SIGNATURE_HEADER, WORLD_ERROR_HEADER } from './remote-wire.js';

/** The `World` methods a remote caller may call (crates/core/src/calls.rs `CALLS`); read once the wasm is ready. */
let worldCalls;
const callNames = () => {
  worldCalls ??= wasm.worldCalls().map((c) => c.name);
  return worldCalls;
};

const answer = (body, status, headers = {}) =>
  new Response(encode(body), { status, headers: { 'content-type': CONTENT_TYPE, ...headers } });

/** The World's (or the wire's) error, with its name and fields, as the caller rethrows it. */
function failure(error) {
  const status = Number.isInteger(error?.status) && error.status >= 400 && error.status < 600 ? error.status : 500;
  const thrown = error instanceof Error ? error : new Error(String(error));
  return answer({ error: thrown }, status, { [WORLD_ERROR_HEADER]: '1' });
}

const badCall = (message) =>
  failure(
    rebuildError({
      name: 'WorkflowWorldError',
      message: `serveWorld: ${message}`,
      status: 400,
      code: 'INVALID_REMOTE_CALL',
    }),
  );

/**
 * `{ specVersion, call, args }` of a request body, or why it is not one.
 *
 * @param {string} text
 * @returns {{ refused: string } | { refused?: undefined, specVersion: 3 | 7 | undefined, call: string, args: unknown[] }}
 */
function parseCall(text) {
  let body;
  try {
    body = decode(text);
  } catch (e) {
    return { refused: `the body is not a devalue-encoded call (${e instanceof Error ? e.message : e})` };
  }
  const { specVersion, call, args } = body ?? {};
  if (!callNames().includes(call)) {
    return { refused: `unknown call ${JSON.stringify(call)}; allowed: ${callNames().join(', ')}` };
  }
  if (!Array.isArray(args)) return { refused: `\`args\` of ${call} must be an array` };
  return { specVersion, call, args };
}

/**
 * Answers one World call: mount it on a path of the app's choosing, e.g.
 * `if (url.pathname === '/workflow-world') return serveWorld(request, env);`.
 *
 * @param {Request} request
 * @param {import('./index.js').CloudflareEnv} env
 * @returns {Promise<Response>}
 */
export async function serveWorld(request, env) {
  if (request.method !== 'POST') return answer({ error: 'serveWorld takes POST' }, 405, { allow: 'POST' });
  const text = await request.text();
  const admission = new wasm.World(env);
  let refusal;
  try {
    refusal = await admission.admitRemote(
      request.headers.get(SIGNATURE_HEADER) ?? undefined,
      request.method,
      new URL(request.url).pathname,
      text,
    );
  } catch (error) {
    return failure(error);
  } finally {
    admission.free();
  }
  if (refusal) return answer({ error: refusal.reason }, refusal.status);
  const parsed = parseCall(text);
  if (parsed.refused !== undefined) return badCall(parsed.refused);
  const { specVersion, call, args } = parsed;
  let core;
  try {
    core = new wasm.World(env, { specVersion });
    return answer({ value: await core[call](...args) }, 200);
  } catch (error) {
    return failure(error);
  } finally {
    core?.free();
  }
}
