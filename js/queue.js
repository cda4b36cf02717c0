// The Queue half of the World on Cloudflare Queues (contract §5). The rules live in Rust
// (src/queue): sending with durable idempotency, which delivery runs, reschedules and
// chained delays, dead letters, signatures. This file does what only JS can: keep the
// handlers registered in this isolate, call them, and speak HTTP.
import * as core from '../pkg/world_cloudflare.js';
import { BINDINGS, DEFAULT_DEPLOYMENT_ID, queueBindings } from './env.js';
import { decodeBody, encodeBody } from './wire.js';

/**
 * Handlers registered by createQueueHandler, by prefix. Global to the isolate, not to a
 * World: the runtime may build one World for its routes and another for its calls
 * (contract §1.2), and the consumer must find the routes' handlers.
 */
const HANDLERS_KEY = Symbol.for('@workflow/world-cloudflare//queue-handlers');
const handlers = (globalThis[HANDLERS_KEY] ??= new Map());

const json = (body, status = 200) => Response.json(body, { status });

/**
 * `createQueueHandler(prefix, handler)`: the route handler for the app's
 * `/.well-known/workflow/v1/{flow,step}` (world-local's request format), and, as a side
 * effect, the handler this isolate's queue consumer calls directly.
 */
export function createQueueHandler(env, prefix, handler) {
  handlers.set(prefix, handler);
  return async (request) => {
    const queueName = request.headers.get('x-vqs-queue-name');
    const messageId = request.headers.get('x-vqs-message-id');
    const attemptHeader = request.headers.get('x-vqs-message-attempt');
    const attempt = Number(attemptHeader);
    let validName = false;
    try {
      validName = queueName !== null && Boolean(core.queueRoute(queueName));
    } catch {
      validName = false;
    }
    if (!validName || !messageId || attemptHeader === null || !Number.isFinite(attempt)) {
      return json({ error: 'Missing required headers' }, 400);
    }
    const text = request.body ? await request.text() : '';
    if (!text) return json({ error: 'Missing request body' }, 400);
    const secret = env[BINDINGS.secret];
    if (secret) {
      const refused = core.verifyDelivery(secret, request.headers.get('x-wcf-signature') ?? undefined, queueName, messageId, attemptHeader, text);
      if (refused) return json({ error: `Unauthorized: ${refused}` }, 401);
    }
    if (!queueName.startsWith(prefix)) return json({ error: 'Unhandled queue' }, 400);
    let payload;
    try {
      payload = decodeBody(text);
    } catch (e) {
      return json({ error: `Invalid request body: ${String(e)}` }, 400);
    }
    try {
      const result = await handler(payload, { attempt, queueName, messageId });
      if (typeof result?.timeoutSeconds === 'number') return json({ timeoutSeconds: result.timeoutSeconds });
      return json({ ok: true });
    } catch (error) {
      return json(String(error), 500);
    }
  };
}

function registeredHandler(queueName) {
  let best;
  for (const [prefix, handler] of handlers) {
    if (queueName.startsWith(prefix) && (!best || prefix.length > best.prefix.length)) best = { prefix, handler };
  }
  return best?.handler;
}

/** Delivers over HTTP to the app's route; resolves to the handler's result. */
async function post(env, delivery) {
  const app = env[BINDINGS.app];
  // A service binding ignores the host; any absolute URL carries the path.
  const base = env[BINDINGS.appUrl] ?? (app ? 'https://workflow-app' : undefined);
  if (!base) {
    throw new Error(
      `No handler for ${delivery.queueName} in this isolate, and neither WORKFLOW_APP (service binding) nor WORKFLOW_APP_URL is set`,
    );
  }
  const url = new URL(`.well-known/workflow/v1/${delivery.route}`, base.endsWith('/') ? base : `${base}/`);
  const body = encodeBody(delivery.payload);
  const attempt = String(delivery.attempt);
  // Reserved delivery headers win over the caller's (contract §5.2).
  const headers = new Headers(delivery.headers);
  headers.set('content-type', 'application/json');
  headers.set('x-vqs-queue-name', delivery.queueName);
  headers.set('x-vqs-message-id', delivery.messageId);
  headers.set('x-vqs-message-attempt', attempt);
  const secret = env[BINDINGS.secret];
  if (secret) headers.set('x-wcf-signature', core.signDelivery(secret, delivery.queueName, delivery.messageId, attempt, body));
  const init = { method: 'POST', headers, body };
  const response = app ? await app.fetch(url, init) : await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 500)}`);
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Delivers one Cloudflare Queues message to its handler. Resolves when the message may
 * be acknowledged; rejects when it should be retried (`message.retry()`).
 */
export async function handleQueueMessage(env, message) {
  const bindings = queueBindings(env);
  const delivery = await core.beginDelivery(bindings, message.body, message.attempts ?? 1);
  if (delivery.action === 'invalid') {
    // Retrying a body that is not ours cannot help: report it and let it be acknowledged.
    console.error(`[world-cloudflare] dropped queue message ${message.id}: ${delivery.error.message}`);
    return;
  }
  if (delivery.action !== 'deliver') return;
  let result;
  try {
    const handler = registeredHandler(delivery.queueName);
    result = handler
      ? await handler(delivery.payload, { attempt: delivery.attempt, queueName: delivery.queueName, messageId: delivery.messageId })
      : await post(env, delivery);
  } catch (error) {
    await core.finishDelivery(bindings, message.body, { failed: true });
    throw error;
  }
  const timeoutSeconds = result?.timeoutSeconds;
  await core.finishDelivery(bindings, message.body, typeof timeoutSeconds === 'number' ? { timeoutSeconds } : {});
}

/** A Worker `queue()` handler body: acknowledges or retries each message. */
export async function handleQueueBatch(batch, env) {
  for (const message of batch.messages) {
    try {
      await handleQueueMessage(env, message);
      message.ack();
    } catch (error) {
      console.error(`[world-cloudflare] queue message ${message.id} will be retried: ${String(error)}`);
      message.retry();
    }
  }
}

/** For the dead-letter queue's consumer: fails the message's run so it never hangs. */
export async function handleDeadLetter(env, message) {
  const runId = await core.deadLetter(queueBindings(env), message.body, message.attempts ?? 1);
  if (runId) console.error(`[world-cloudflare] run ${runId} failed: its queue message ${message.id} was dead-lettered`);
  return runId;
}

/** The Queue members of the World for `env`. */
export function createQueue(env) {
  return {
    getDeploymentId: async () => env[BINDINGS.deploymentId] || DEFAULT_DEPLOYMENT_ID,
    queue: (queueName, payload, opts) => core.queueSend(queueBindings(env), queueName, payload, opts),
    createQueueHandler: (prefix, handler) => createQueueHandler(env, prefix, handler),
    /** Re-enqueues every pending or running run (contract §5.6); run it from a cron trigger too. */
    start: async () => {
      const { failed } = await core.recover(queueBindings(env));
      for (const { runId, error } of failed) {
        console.error(`[world-cloudflare] start(): run ${runId} was not re-enqueued: ${error?.name}: ${error?.message}`);
      }
    },
  };
}
