// The names of the Worker bindings and vars this package reads: written once, here.

export const BINDINGS = Object.freeze({
  db: 'DB',
  workflowQueue: 'WORKFLOW_QUEUE',
  stepQueue: 'STEP_QUEUE',
  streamBucket: 'STREAM_BUCKET',
  deploymentId: 'DEPLOYMENT_ID',
  /** Service binding to the app that serves the workflow routes (split deployments). */
  app: 'WORKFLOW_APP',
  /** Base URL of that app, when it is not a service binding. */
  appUrl: 'WORKFLOW_APP_URL',
  /** HMAC secret for signed HTTP deliveries; unset: unsigned, as world-local. */
  secret: 'WORKFLOW_SECRET',
  /** The longest delay one queue send asks for (default 86,400 s); lower it to test chaining. */
  maxDelaySeconds: 'WORKFLOW_QUEUE_MAX_DELAY_SECONDS',
});

export const DEFAULT_DEPLOYMENT_ID = 'cloudflare';

/** What the Rust queue calls need from a Worker's env. */
export function queueBindings(env) {
  const maxDelay = Number(env[BINDINGS.maxDelaySeconds]);
  return {
    db: env[BINDINGS.db],
    workflowQueue: env[BINDINGS.workflowQueue],
    stepQueue: env[BINDINGS.stepQueue],
    bucket: env[BINDINGS.streamBucket],
    maxDelaySeconds: Number.isFinite(maxDelay) && maxDelay > 0 ? maxDelay : undefined,
  };
}
