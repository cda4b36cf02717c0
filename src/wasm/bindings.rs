//! The one table of the bindings and vars this package reads from a Worker's `env`: their
//! names, and the defaults of the vars that have one.

use serde::Serialize;
use tsify::Tsify;

pub const DB: &str = "DB";
pub const WORKFLOW_QUEUE: &str = "WORKFLOW_QUEUE";
pub const STEP_QUEUE: &str = "STEP_QUEUE";
pub const STREAM_BUCKET: &str = "STREAM_BUCKET";
pub const DEPLOYMENT_ID: &str = "DEPLOYMENT_ID";
/// Service binding to the app that serves the workflow routes (split deployments).
pub const WORKFLOW_APP: &str = "WORKFLOW_APP";
/// Base URL of that app, when it is not a service binding.
pub const WORKFLOW_APP_URL: &str = "WORKFLOW_APP_URL";
/// HMAC secret for signed HTTP deliveries; unset: unsigned, as world-local.
pub const WORKFLOW_SECRET: &str = "WORKFLOW_SECRET";
/// HMAC secret of the World over HTTP (`serveWorld`, crates/core/src/remote.rs); unset: not served.
pub const WORKFLOW_REMOTE_SECRET: &str = "WORKFLOW_REMOTE_SECRET";
/// Secret from which per-run encryption keys are derived (`crates/core/src/encryption.rs`); unset:
/// payloads are stored as the runtime serialized them.
pub const WORKFLOW_ENCRYPTION_KEY: &str = "WORKFLOW_ENCRYPTION_KEY";
/// The longest delay one queue send asks for; lower it to test chaining.
pub const WORKFLOW_QUEUE_MAX_DELAY_SECONDS: &str = "WORKFLOW_QUEUE_MAX_DELAY_SECONDS";

/// Days after its end when `start()` removes a run (crates/core/src/store/retention.rs); unset keeps all.
pub const WORKFLOW_RETENTION_DAYS: &str = "WORKFLOW_RETENTION_DAYS";
/// Durable Object namespace of `WorkflowExecutor` (js/executor.js): when bound, the queue
/// consumer hands each message to an object that runs it in an alarm of its own.
pub const WORKFLOW_EXECUTOR: &str = "WORKFLOW_EXECUTOR";
/// How often the executor retries a failed delivery before it dead-letters it; unset: the
/// example's `max_retries` ([`crate::queue::delivery::EXECUTOR_MAX_RETRIES`]).
pub const WORKFLOW_EXECUTOR_MAX_RETRIES: &str = "WORKFLOW_EXECUTOR_MAX_RETRIES";
/// The dead-letter queue's name, which `handleQueueBatch` answers with `handleDeadLetter`.
pub const WORKFLOW_DEAD_LETTER_QUEUE: &str = "WORKFLOW_DEAD_LETTER_QUEUE";
/// Its name when the var is not set: the one the README and `world-cloudflare init` use.
pub const DEFAULT_DEAD_LETTER_QUEUE: &str = "workflow-dlq";

/// The deployment id when `DEPLOYMENT_ID` is not set.
pub const DEFAULT_DEPLOYMENT_ID: &str = "cloudflare";

/// The names of the bindings and vars this package reads from `env`.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct BindingNames {
    pub db: &'static str,
    pub workflow_queue: &'static str,
    pub step_queue: &'static str,
    pub stream_bucket: &'static str,
    pub deployment_id: &'static str,
    pub app: &'static str,
    pub app_url: &'static str,
    pub secret: &'static str,
    pub remote_secret: &'static str,
    pub encryption_key: &'static str,
    pub max_delay_seconds: &'static str,
    pub retention_days: &'static str,
    pub executor: &'static str,
    pub executor_max_retries: &'static str,
    pub dead_letter_queue: &'static str,
}

pub const BINDING_NAMES: BindingNames = BindingNames {
    db: DB,
    workflow_queue: WORKFLOW_QUEUE,
    step_queue: STEP_QUEUE,
    stream_bucket: STREAM_BUCKET,
    deployment_id: DEPLOYMENT_ID,
    app: WORKFLOW_APP,
    app_url: WORKFLOW_APP_URL,
    secret: WORKFLOW_SECRET,
    remote_secret: WORKFLOW_REMOTE_SECRET,
    encryption_key: WORKFLOW_ENCRYPTION_KEY,
    max_delay_seconds: WORKFLOW_QUEUE_MAX_DELAY_SECONDS,
    retention_days: WORKFLOW_RETENTION_DAYS,
    executor: WORKFLOW_EXECUTOR,
    executor_max_retries: WORKFLOW_EXECUTOR_MAX_RETRIES,
    dead_letter_queue: WORKFLOW_DEAD_LETTER_QUEUE,
};
