//! The exported `World` class: one method per World operation over the Worker's `env`.
//! A method converts its arguments, runs the flow on this call's bindings and converts the
//! result; the rules are in the flows. Methods return promises built here because
//! wasm-bindgen cannot export an `async fn(&self)` (its future must be `'static`).

use super::adapters::{PlatformTimer, SystemClock};
use super::bindings::BINDING_NAMES;
use super::env::{Bindings, Env};
use crate::engine::request::{CreateEventParamsInput, EventInput};
use crate::js::{from_js, to_value};
use crate::model::params::{CreateParams, ReadParams, ReadParamsInput, ResolveData, SortOrder};
use crate::model::{Line, Value, WorldError};
use crate::queue::{self, envelope, signature, QueueOptionsInput, SendOptions};
use crate::store;
use crate::stream::{self, ChunkPageInput, StreamInfo};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use serde::Serialize;
use std::future::Future;
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

fn value(v: &JsValue, path: &str) -> Result<Option<Value>, WorldError> {
    from_js(v, path)
}

fn text(v: &JsValue, what: &str) -> Result<String, WorldError> {
    v.as_string().ok_or_else(|| {
        WorldError::invalid("INVALID_ARGUMENT", format!("`{what}` must be a string"))
    })
}

fn optional_text(v: &JsValue, what: &str) -> Result<Option<String>, WorldError> {
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        text(v, what).map(Some)
    }
}

fn params<T: Tsify>(
    v: &Option<Ts<T>>,
    default_limit: i64,
    order: SortOrder,
) -> Result<ReadParams, WorldError> {
    let v = v.as_ref().map_or(JsValue::UNDEFINED, Ts::js_value);
    ReadParams::parse(value(&v, "params")?.as_ref(), default_limit, order)
}

fn resolve<T: Tsify>(v: &Option<Ts<T>>) -> Result<ResolveData, WorldError> {
    Ok(params(v, 1, SortOrder::Asc)?.resolve_data)
}

/// `events.create`'s params: core passes functions (`replayEventObserver`) and telemetry
/// objects in the same object as the fields this World reads, so only their data fields
/// are converted.
fn create_params(v: &Option<Ts<CreateEventParamsInput>>) -> Result<CreateParams, WorldError> {
    let Some(params) = v.as_ref().map(Ts::js_value).filter(|p| p.is_object()) else {
        return CreateParams::parse(None);
    };
    CreateParams::parse(value(&data_fields(&params), "params")?.as_ref())
}

/// A new object with the fields of `params` that are data: primitives, arrays, plain
/// objects, dates and bytes. Functions and instances of other classes (telemetry) are left
/// out; every field the World reads is data, so what it reads, and refuses, is unchanged.
pub(super) fn data_fields(params: &JsValue) -> JsValue {
    let picked = Object::new();
    for entry in Object::entries(params.unchecked_ref()).iter() {
        let entry: Array = entry.unchecked_into();
        let (key, v) = (entry.get(0), entry.get(1));
        let data = if v.is_function() || v.is_symbol() {
            false
        } else if v.is_object() {
            // A plain object's prototype is null or Object.prototype, whose own is null.
            let proto = Object::get_prototype_of(&v);
            Array::is_array(&v)
                || v.is_instance_of::<js_sys::Date>()
                || v.is_instance_of::<Uint8Array>()
                || proto.is_null()
                || Object::get_prototype_of(&proto).is_null()
        } else {
            true
        };
        if data {
            let _ = Reflect::set(&picked, &key, &v);
        }
    }
    picked.into()
}

/// The run id of `getEncryptionKeyForRun(run | runId, context?)`.
fn run_id_of(run: &JsValue) -> Result<String, WorldError> {
    if let Some(id) = run.as_string() {
        return Ok(id);
    }
    Reflect::get(run, &JsValue::from_str("runId"))
        .ok()
        .and_then(|id| id.as_string())
        .ok_or_else(|| {
            WorldError::invalid(
                "INVALID_ARGUMENT",
                "getEncryptionKeyForRun takes a run (with `runId`) or a run id string",
            )
        })
}

/// A chunk as stored: a string is its UTF-8 bytes (contract §6.1).
fn chunk_bytes(v: &JsValue, i: usize) -> Result<Vec<u8>, WorldError> {
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(bytes) = v.dyn_ref::<Uint8Array>() {
        return Ok(bytes.to_vec());
    }
    Err(WorldError::invalid(
        "INVALID_CHUNK",
        format!("Invalid stream chunk #{i}: expected a string or a Uint8Array"),
    ))
}

/// `queue()`'s result.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct QueueSent {
    pub message_id: String,
}

/// One message of `queueBatch`: its id, or why it was not sent (`messageId: null`).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct QueueBatchResult {
    #[tsify(type = "string | null")]
    #[serde(serialize_with = "null_if_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
}

fn null_if_none<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(id) => s.serialize_str(id),
        None => serde_wasm_bindgen::preserve::serialize(&JsValue::NULL, s),
    }
}

/// A run that `start()` could not re-enqueue, and why.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Unsent {
    pub run_id: String,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Error")]
    pub error: JsValue,
}

/// What `start()` re-enqueued, and what retention removed (`WORKFLOW_RETENTION_DAYS`).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Recovered {
    pub sent: usize,
    pub failed: Vec<Unsent>,
    /// Ended runs removed whole.
    pub removed_runs: usize,
    /// R2 objects of removed streams whose delete failed (left unreferenced).
    pub orphaned_objects: usize,
    /// More ended runs are due than one `start()` removes; the next call goes on.
    pub more_to_remove: bool,
}

/// `createWorld`'s options.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
pub struct WorldOptions {
    /// 3 (the default): the `workflow` 4.x World; 7: the 5.x World.
    #[tsify(optional, type = "3 | 7")]
    pub spec_version: i64,
}

#[wasm_bindgen]
pub struct World {
    pub(super) env: Env,
    line: Line,
}

impl World {
    /// Runs `call` on this call's bindings; the promise resolves to its result as JS,
    /// or rejects with the named `Error`.
    fn spawn<T, F, Fut>(&self, call: F) -> Promise
    where
        T: Serialize,
        F: FnOnce(Bindings) -> Fut + 'static,
        Fut: Future<Output = Result<T, WorldError>> + 'static,
    {
        let env = self.env.clone();
        future_to_promise(async move {
            let out = call(env.bindings()?).await?;
            Ok(to_value(&out)?)
        })
    }

    /// A 5.x read's check of its `(runId, name)` order; 4.x reads pass no run id.
    fn run_first(&self, run_id: Option<String>) -> impl Fn(&str) -> Result<(), WorldError> {
        let line = self.line;
        move |name| match (&run_id, line) {
            (Some(run_id), Line::V5) => stream::check_run_first(run_id, name),
            _ => Ok(()),
        }
    }
}

#[wasm_bindgen]
impl World {
    /// The World over a Worker's `env`. Reads nothing yet: bindings are read by each call.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] env: JsValue,
        options: Option<Ts<WorldOptions>>,
    ) -> Result<World, JsValue> {
        let options = options.as_ref().map_or(JsValue::UNDEFINED, Ts::js_value);
        let spec_version = match value(&options, "options")? {
            None | Some(Value::Null) => None,
            Some(o) => match crate::model::value::get(&o, "specVersion") {
                None | Some(Value::Null) => None,
                Some(v) => Some(crate::model::value::integer(v).ok_or_else(|| {
                    WorldError::invalid(
                        "INVALID_OPTIONS",
                        format!(
                            "createWorld: `specVersion` must be 3 or 7, got {}",
                            crate::model::params::describe(v)
                        ),
                    )
                })?),
            },
        };
        Ok(World {
            env: Env(env),
            line: Line::from_option(spec_version)?,
        })
    }

    /// The spec version of this World's line: 3 (`workflow` 4.x) or 7 (5.x).
    #[wasm_bindgen(getter, js_name = specVersion)]
    pub fn spec_version(&self) -> u32 {
        self.line.spec_version() as u32
    }

    /// `getEncryptionKeyForRun(run | runId)`: the run's 32-byte key, or `undefined` when
    /// no `WORKFLOW_ENCRYPTION_KEY` is set (nothing is encrypted).
    #[wasm_bindgen(js_name = encryptionKey, unchecked_return_type = "Promise<Uint8Array | undefined>")]
    pub fn encryption_key(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | { runId: string }")] run: JsValue,
    ) -> Promise {
        let secret = self.env.encryption_secret();
        future_to_promise(async move {
            let Some(secret) = secret else {
                return Ok(JsValue::UNDEFINED);
            };
            let key = crate::encryption::run_key(&secret, &run_id_of(&run)?)?;
            Ok(Uint8Array::from(&key[..]).into())
        })
    }

    /// `DEPLOYMENT_ID`, or `"cloudflare"`.
    #[wasm_bindgen(js_name = deploymentId)]
    pub fn deployment_id(&self) -> String {
        self.env.deployment_id()
    }

    // ---- Storage (contract §3, §4) ----

    #[wasm_bindgen(js_name = createEvent, unchecked_return_type = "Promise<EventResult>")]
    pub fn create_event(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | null | undefined", js_name = runId)] run_id: JsValue,
        data: Ts<EventInput>,
        params: Option<Ts<CreateEventParamsInput>>,
    ) -> Promise {
        let line = self.line;
        self.spawn(move |b| async move {
            let run_id = optional_text(&run_id, "runId")?;
            let data = value(&data.js_value(), "data")?.unwrap_or(Value::Null);
            let params = create_params(&params)?;
            store::create_event(&b.io(), line, run_id.as_deref(), &data, &params).await
        })
    }

    /// `events.createBatch(runId, [{event}], params)` of a slot run: `{results}`, one per
    /// event, in order: `{status: 200, event, run?, step?, wait?}` or `{status, error,
    /// message}` (world-contract-v5 §9).
    #[wasm_bindgen(
        js_name = createEventBatch,
        unchecked_return_type = "Promise<{ results: ({ status: 200 } & EventResult | { status: number, error: string, message: string })[] }>"
    )]
    pub fn create_event_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = runId)] run_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "readonly { event: EventInput }[]")] events: JsValue,
        params: Option<Ts<CreateEventParamsInput>>,
    ) -> Promise {
        let env = self.env.clone();
        future_to_promise(async move {
            let b = env.bindings()?;
            let run_id = text(&run_id, "runId")?;
            let events = store::batch::parse_events(value(&events, "events")?.as_ref())?;
            let params = create_params(&params)?;
            let results = Array::new();
            for result in store::batch::create_batch(&b.io(), &run_id, &events, &params).await? {
                let item = match result {
                    Ok(r) => {
                        let item = to_value(&r)?;
                        Reflect::set(&item, &"status".into(), &JsValue::from_f64(200.0))?;
                        item
                    }
                    Err(e) => {
                        let item = Object::new();
                        let status = store::batch::status_of(&e);
                        Reflect::set(&item, &"status".into(), &JsValue::from_f64(status.into()))?;
                        Reflect::set(&item, &"error".into(), &e.name.as_str().into())?;
                        Reflect::set(&item, &"message".into(), &e.message.into())?;
                        item.into()
                    }
                };
                results.push(&item);
            }
            let out = Object::new();
            Reflect::set(&out, &"results".into(), &results)?;
            Ok(out.into())
        })
    }

    #[wasm_bindgen(js_name = getRun, unchecked_return_type = "Promise<Run>")]
    pub fn get_run(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = runId)] run_id: JsValue,
        params: Option<Ts<ReadParamsInput>>,
    ) -> Promise {
        self.spawn(move |b| async move {
            store::get_run(&b.db, &text(&run_id, "runId")?, resolve(&params)?).await
        })
    }

    #[wasm_bindgen(js_name = listRuns, unchecked_return_type = "Promise<Page<Run>>")]
    pub fn list_runs(&self, params: Option<Ts<ReadParamsInput>>) -> Promise {
        self.spawn(move |b| async move {
            store::list_runs(&b.db, &self::params(&params, 20, SortOrder::Desc)?).await
        })
    }

    /// `runs.getMany(ids, params)`: the runs in the order of `ids`, `null` for a missing one.
    #[wasm_bindgen(js_name = getRuns, unchecked_return_type = "Promise<(Run | null)[]>")]
    pub fn get_runs(
        &self,
        #[wasm_bindgen(unchecked_param_type = "readonly string[]")] ids: JsValue,
        params: Option<Ts<ReadParamsInput>>,
    ) -> Promise {
        let env = self.env.clone();
        future_to_promise(async move {
            let b = env.bindings()?;
            let ids = store::runs::parse_ids(value(&ids, "ids")?.as_ref(), "runs.getMany: `ids`")?;
            let runs = store::runs::get_many(&b.db, &ids, resolve(&params)?).await?;
            let out = Array::new();
            for run in &runs {
                out.push(&match run {
                    Some(run) => to_value(run)?,
                    None => JsValue::NULL,
                });
            }
            Ok(out.into())
        })
    }

    /// `runs.waitForTerminalStatus(id, {resolveData, timeoutMs, signal})`: the run once it
    /// is terminal, or its latest state when `timeoutMs` passed or `signal` aborted.
    #[wasm_bindgen(js_name = waitForTerminalStatus, unchecked_return_type = "Promise<Run>")]
    pub fn wait_for_terminal_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = runId)] run_id: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "{ resolveData?: 'all' | 'none', timeoutMs?: number, signal?: AbortSignal }"
        )]
        params: JsValue,
    ) -> Promise {
        let env = self.env.clone();
        future_to_promise(async move {
            let b = env.bindings()?;
            let run_id = text(&run_id, "runId")?;
            let signal = if params.is_object() {
                Reflect::get(&params, &"signal".into()).unwrap_or(JsValue::UNDEFINED)
            } else {
                JsValue::UNDEFINED
            };
            let aborted = || {
                signal.is_object()
                    && Reflect::get(&signal, &"aborted".into())
                        .ok()
                        .and_then(|a| a.as_bool())
                        .unwrap_or(false)
            };
            // Only the fields read here: the signal is no JSON value.
            let read = Object::new();
            for key in ["resolveData", "timeoutMs"] {
                if params.is_object() {
                    let v = Reflect::get(&params, &key.into()).unwrap_or(JsValue::UNDEFINED);
                    let _ = Reflect::set(&read, &key.into(), &v);
                }
            }
            let read = value(&read.into(), "params")?;
            let timeout = store::runs::parse_timeout(read.as_ref())?;
            let resolve = ReadParams::parse(read.as_ref(), 1, SortOrder::Asc)?.resolve_data;
            let run = store::runs::wait_for_terminal(
                &b.db,
                &PlatformTimer,
                &SystemClock,
                &run_id,
                resolve,
                timeout,
                aborted,
            )
            .await?;
            Ok(to_value(&run)?)
        })
    }

    /// `runs.cancelMany({runIds, cancelReason})`: each run's outcome, in order, and a summary.
    #[wasm_bindgen(js_name = cancelRuns, unchecked_return_type = "Promise<CancelMany>")]
    pub fn cancel_runs(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ runIds: string[], cancelReason?: string }")]
        request: JsValue,
    ) -> Promise {
        self.spawn(move |b| async move {
            let (ids, reason) =
                store::runs::parse_cancel_request(value(&request, "request")?.as_ref())?;
            store::runs::cancel_many(&b.io(), &ids, reason.as_deref()).await
        })
    }

    #[wasm_bindgen(js_name = getStep, unchecked_return_type = "Promise<Step>")]
    pub fn get_step(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | undefined", js_name = runId)]
        run_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = stepId)] step_id: JsValue,
        params: Option<Ts<ReadParamsInput>>,
    ) -> Promise {
        self.spawn(move |b| async move {
            let run_id = optional_text(&run_id, "runId")?;
            let step_id = text(&step_id, "stepId")?;
            store::get_step(&b.db, run_id.as_deref(), &step_id, resolve(&params)?).await
        })
    }

    #[wasm_bindgen(js_name = listSteps, unchecked_return_type = "Promise<Page<Step>>")]
    pub fn list_steps(&self, params: Option<Ts<ReadParamsInput>>) -> Promise {
        self.spawn(move |b| async move {
            store::list_steps(&b.db, &self::params(&params, 20, SortOrder::Desc)?).await
        })
    }

    #[wasm_bindgen(js_name = getEvent, unchecked_return_type = "Promise<Event>")]
    pub fn get_event(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = runId)] run_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = eventId)] event_id: JsValue,
        params: Option<Ts<ReadParamsInput>>,
    ) -> Promise {
        self.spawn(move |b| async move {
            let run_id = text(&run_id, "runId")?;
            let event_id = text(&event_id, "eventId")?;
            store::get_event(&b.db, &run_id, &event_id, resolve(&params)?).await
        })
    }

    /// `events.list` and `events.listByCorrelationId`: the params say which.
    #[wasm_bindgen(js_name = listEvents, unchecked_return_type = "Promise<Page<Event>>")]
    pub fn list_events(&self, params: Option<Ts<ReadParamsInput>>) -> Promise {
        let line = self.line;
        self.spawn(move |b| async move {
            let params = self::params(&params, 100, SortOrder::Asc)?;
            store::list_events_of_line(&b.db, line, &params).await
        })
    }

    #[wasm_bindgen(js_name = getHook, unchecked_return_type = "Promise<Hook>")]
    pub fn get_hook(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = hookId)] hook_id: JsValue,
        params: Option<Ts<ReadParamsInput>>,
    ) -> Promise {
        self.spawn(move |b| async move {
            let now = b.io().clock.now();
            store::get_hook(&b.db, &text(&hook_id, "hookId")?, resolve(&params)?, now).await
        })
    }

    #[wasm_bindgen(js_name = getHookByToken, unchecked_return_type = "Promise<Hook>")]
    pub fn get_hook_by_token(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
        params: Option<Ts<ReadParamsInput>>,
    ) -> Promise {
        self.spawn(move |b| async move {
            let now = b.io().clock.now();
            store::get_hook_by_token(&b.db, &text(&token, "token")?, resolve(&params)?, now).await
        })
    }

    #[wasm_bindgen(js_name = listHooks, unchecked_return_type = "Promise<Page<Hook>>")]
    pub fn list_hooks(&self, params: Option<Ts<ReadParamsInput>>) -> Promise {
        self.spawn(move |b| async move {
            let now = b.io().clock.now();
            store::list_hooks(&b.db, &self::params(&params, 100, SortOrder::Asc)?, now).await
        })
    }

    // ---- Queue (contract §5) ----

    #[wasm_bindgen(unchecked_return_type = "Promise<QueueSent>")]
    pub fn queue(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = queueName)] queue_name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown")] payload: JsValue,
        opts: Option<Ts<QueueOptionsInput>>,
    ) -> Promise {
        let line = self.line;
        self.spawn(move |b| async move {
            let name = text(&queue_name, "queueName")?;
            let payload = value(&payload, "payload")?.unwrap_or(Value::Null);
            let opts = opts.as_ref().map_or(JsValue::UNDEFINED, Ts::js_value);
            let opts = SendOptions::parse(value(&opts, "opts")?.as_ref())?;
            let message_id = queue::send(&b.io(), line, &name, &payload, &opts).await?;
            Ok(QueueSent { message_id })
        })
    }

    /// `queueBatch(queueName, [{message, opts}])`: one result per message, in order:
    /// `{messageId}`, or `{messageId: null, error, retryable}` for one that was not sent.
    #[wasm_bindgen(js_name = queueBatch, unchecked_return_type = "Promise<QueueBatchResult[]>")]
    pub fn queue_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = queueName)] queue_name: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "readonly { message: unknown, opts?: QueueOptionsInput }[]"
        )]
        messages: JsValue,
    ) -> Promise {
        let line = self.line;
        self.spawn(move |b| async move {
            let name = text(&queue_name, "queueName")?;
            let messages = queue::parse_batch(value(&messages, "messages")?.as_ref())?;
            let sent = queue::send_batch(&b.io(), line, &name, &messages).await?;
            Ok(sent
                .into_iter()
                .map(|r| match r {
                    Ok(message_id) => QueueBatchResult {
                        message_id: Some(message_id),
                        error: None,
                        retryable: None,
                    },
                    Err(e) => QueueBatchResult {
                        message_id: None,
                        retryable: Some(e.status.is_none_or(|s| s >= 500)),
                        error: Some(format!("{}: {}", e.name.as_str(), e.message)),
                    },
                })
                .collect::<Vec<_>>())
        })
    }

    /// `start()`: re-enqueues active runs, then applies retention (crates/core/src/store/retention.rs).
    #[wasm_bindgen(unchecked_return_type = "Promise<Recovered>")]
    pub fn recover(&self) -> Promise {
        // A bad WORKFLOW_RETENTION_DAYS fails the call, but only after the recovery.
        let (retention, bad_setting) = match self.env.retention() {
            Ok(age) => (age, None),
            Err(e) => (None, Some(e)),
        };
        self.spawn(move |b| async move {
            let recovery = queue::recover(&b.io(), retention).await?;
            if let Some(e) = bad_setting {
                return Err(e);
            }
            Ok(Recovered {
                removed_runs: recovery.removed.runs,
                orphaned_objects: recovery.removed.orphaned_objects,
                more_to_remove: recovery.removed.more,
                sent: recovery.sent,
                failed: recovery
                    .failed
                    .into_iter()
                    .map(|(run_id, error)| Unsent {
                        run_id,
                        error: error.into(),
                    })
                    .collect(),
            })
        })
    }

    /// Why an HTTP delivery to the app's route must be refused (401), or `undefined` when
    /// it may be served: signed correctly and recently, or no `WORKFLOW_SECRET` is set.
    #[wasm_bindgen(js_name = refuseDelivery)]
    pub fn refuse_delivery(
        &self,
        signature: Option<String>,
        #[wasm_bindgen(js_name = queueName)] queue_name: &str,
        #[wasm_bindgen(js_name = messageId)] message_id: &str,
        attempt: &str,
        body: &str,
    ) -> Option<String> {
        let secret = self.env.secret()?;
        let now = (js_sys::Date::now() / 1000.0) as i64;
        signature::verify(
            &secret,
            signature.as_deref(),
            queue_name,
            message_id,
            attempt,
            body.as_bytes(),
            now,
        )
        .err()
        .map(str::to_owned)
    }

    // ---- Streamer (contract §6) ----

    #[wasm_bindgen(js_name = streamWrite, unchecked_return_type = "Promise<void>")]
    pub fn stream_write(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = runId)] run_id: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(string | Uint8Array)[]")] chunks: JsValue,
    ) -> Promise {
        let line = self.line;
        self.spawn(move |b| async move {
            let chunks = Array::from(&chunks)
                .iter()
                .enumerate()
                .map(|(i, c)| chunk_bytes(&c, i))
                .collect::<Result<Vec<_>, _>>()?;
            let (name, run_id) = (text(&name, "name")?, text(&run_id, "runId")?);
            if line == Line::V5 {
                stream::check_run_first(&run_id, &name)?;
            }
            stream::write(&b.io(), &name, &run_id, &chunks).await
        })
    }

    #[wasm_bindgen(js_name = streamClose, unchecked_return_type = "Promise<void>")]
    pub fn stream_close(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = runId)] run_id: JsValue,
    ) -> Promise {
        let line = self.line;
        self.spawn(move |b| async move {
            let (name, run_id) = (text(&name, "name")?, text(&run_id, "runId")?);
            if line == Line::V5 {
                stream::check_run_first(&run_id, &name)?;
            }
            stream::close(&b.io(), &name, &run_id).await
        })
    }

    /// Refuses a 5.x stream call whose `(runId, name)` look swapped; 4.x calls pass.
    #[wasm_bindgen(js_name = checkStream)]
    pub fn check_stream(
        &self,
        name: &str,
        #[wasm_bindgen(js_name = runId)] run_id: &str,
    ) -> Result<(), JsValue> {
        Ok(self.run_first(Some(run_id.to_owned()))(name)?)
    }

    /// One read of a live reader from `from` (negative: back from the end).
    #[wasm_bindgen(js_name = streamTail, unchecked_return_type = "Promise<TailPage>")]
    pub fn stream_tail(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        from: f64,
        #[wasm_bindgen(js_name = runId)] run_id: Option<String>,
    ) -> Promise {
        let check = self.run_first(run_id);
        self.spawn(move |b| async move {
            let name = text(&name, "name")?;
            check(&name)?;
            stream::tail(&b.io(), &name, from as i64).await
        })
    }

    #[wasm_bindgen(js_name = streamChunks, unchecked_return_type = "Promise<StreamChunksPage>")]
    pub fn stream_chunks(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        options: Option<Ts<ChunkPageInput>>,
        #[wasm_bindgen(js_name = runId)] run_id: Option<String>,
    ) -> Promise {
        let check = self.run_first(run_id);
        let line = self.line;
        self.spawn(move |b| async move {
            let name = text(&name, "name")?;
            check(&name)?;
            let options = options.as_ref().map_or(JsValue::UNDEFINED, Ts::js_value);
            let options = value(&options, "options")?;
            stream::chunks_page(&b.io(), line, &name, options.as_ref()).await
        })
    }

    #[wasm_bindgen(js_name = streamInfo, unchecked_return_type = "Promise<StreamInfo>")]
    pub fn stream_info(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
        #[wasm_bindgen(js_name = runId)] run_id: Option<String>,
    ) -> Promise {
        let check = self.run_first(run_id);
        self.spawn(move |b| async move {
            let name = text(&name, "name")?;
            check(&name)?;
            Ok(StreamInfo::from(stream::info(&b.db, &name).await?))
        })
    }

    #[wasm_bindgen(js_name = listStreams, unchecked_return_type = "Promise<string[]>")]
    pub fn list_streams(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string", js_name = runId)] run_id: JsValue,
    ) -> Promise {
        self.spawn(
            move |b| async move { stream::list_by_run(&b.db, &text(&run_id, "runId")?).await },
        )
    }
}

/// The app route (`flow` or `step`) of a valid queue name, or the named error.
#[wasm_bindgen(js_name = queueRoute)]
pub fn queue_route(
    #[wasm_bindgen(js_name = queueName)] queue_name: &str,
) -> Result<String, JsValue> {
    Ok(envelope::queue_kind(queue_name)?.route().to_owned())
}

/// Signs an HTTP delivery as the consumer does (`x-wcf-signature`, `crates/core/src/queue/signature.rs`),
/// at the current time; for senders outside this package and for tests.
#[wasm_bindgen(js_name = signDelivery)]
pub fn sign_delivery(
    secret: &str,
    #[wasm_bindgen(js_name = queueName)] queue_name: &str,
    #[wasm_bindgen(js_name = messageId)] message_id: &str,
    attempt: &str,
    body: &str,
) -> String {
    let now = (js_sys::Date::now() / 1000.0) as i64;
    signature::sign(
        secret,
        now,
        queue_name,
        message_id,
        attempt,
        body.as_bytes(),
    )
}

/// The names of the bindings and vars this package reads from `env` (the package's
/// `BINDINGS` export).
#[wasm_bindgen(js_name = bindingNames)]
pub fn binding_names() -> Result<Ts<super::bindings::BindingNames>, JsValue> {
    Ok(Ts::new_unchecked(to_value(&BINDING_NAMES)?))
}
