//! The wasm exports: each takes the D1 binding and plain JS arguments, and resolves to
//! the JS value the World method returns or rejects with a named `Error`.

use crate::bindings::d1::D1Database;
use crate::interop::{self, error_to_js, from_js};
use crate::model::params::{ReadParams, ResolveData, SortOrder};
use crate::model::{Millis, Value, WorldError};
use crate::store::{self, d1::D1, Clock};
use wasm_bindgen::prelude::*;

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        js_sys::Date::now() as Millis
    }

    fn random(&self) -> u128 {
        let mut bytes = [0u8; 16];
        // crypto.getRandomValues exists in workerd and Node 22; if it ever failed, ids
        // would still be unique per millisecond only by chance, so fall back to time.
        if getrandom::getrandom(&mut bytes).is_err() {
            return js_sys::Math::random().to_bits() as u128
                ^ (js_sys::Date::now().to_bits() as u128) << 64;
        }
        u128::from_le_bytes(bytes)
    }
}

fn database(db: JsValue) -> Result<D1, JsValue> {
    if db.is_undefined() || db.is_null() {
        return Err(error_to_js(WorldError::invalid(
            "MISSING_BINDING",
            "The D1 binding is missing: pass the Worker's env (with `DB`) to createWorld(env)",
        )));
    }
    Ok(D1(db.unchecked_into::<D1Database>()))
}

fn value(v: &JsValue, path: &str) -> Result<Option<Value>, JsValue> {
    from_js(v, path).map_err(error_to_js)
}

fn text(v: &JsValue, what: &str) -> Result<String, JsValue> {
    v.as_string().ok_or_else(|| {
        error_to_js(WorldError::invalid(
            "INVALID_ARGUMENT",
            format!("`{what}` must be a string"),
        ))
    })
}

fn optional_text(v: &JsValue, what: &str) -> Result<Option<String>, JsValue> {
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        text(v, what).map(Some)
    }
}

fn params(v: &JsValue, default_limit: i64, order: SortOrder) -> Result<ReadParams, JsValue> {
    ReadParams::parse(value(v, "params")?.as_ref(), default_limit, order).map_err(error_to_js)
}

fn resolve(v: &JsValue) -> Result<ResolveData, JsValue> {
    Ok(params(v, 1, SortOrder::Asc)?.resolve_data)
}

#[wasm_bindgen(js_name = createEvent)]
pub async fn create_event(
    db: JsValue,
    run_id: JsValue,
    data: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let run_id = optional_text(&run_id, "runId")?;
    let data = value(&data, "data")?.unwrap_or(Value::Null);
    let resolve = resolve(&params)?;
    let result = store::create_event(&db, &SystemClock, run_id.as_deref(), &data, resolve)
        .await
        .map_err(error_to_js)?;
    Ok(interop::event_result_js(&result))
}

#[wasm_bindgen(js_name = getRun)]
pub async fn get_run(db: JsValue, run_id: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let run = store::get_run(&db, &text(&run_id, "runId")?, resolve(&params)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::run_js(&run))
}

#[wasm_bindgen(js_name = listRuns)]
pub async fn list_runs(db: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let page = store::list_runs(&db, &self::params(&params, 20, SortOrder::Desc)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::page_js(&page, interop::run_js))
}

#[wasm_bindgen(js_name = getStep)]
pub async fn get_step(
    db: JsValue,
    run_id: JsValue,
    step_id: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let run_id = optional_text(&run_id, "runId")?;
    let step = store::get_step(
        &db,
        run_id.as_deref(),
        &text(&step_id, "stepId")?,
        resolve(&params)?,
    )
    .await
    .map_err(error_to_js)?;
    Ok(interop::step_js(&step))
}

#[wasm_bindgen(js_name = listSteps)]
pub async fn list_steps(db: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let page = store::list_steps(&db, &self::params(&params, 20, SortOrder::Desc)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::page_js(&page, interop::step_js))
}

#[wasm_bindgen(js_name = getEvent)]
pub async fn get_event(
    db: JsValue,
    run_id: JsValue,
    event_id: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let event = store::get_event(
        &db,
        &text(&run_id, "runId")?,
        &text(&event_id, "eventId")?,
        resolve(&params)?,
    )
    .await
    .map_err(error_to_js)?;
    Ok(interop::event_js(&event))
}

/// `events.list` and `events.listByCorrelationId`: the params say which.
#[wasm_bindgen(js_name = listEvents)]
pub async fn list_events(db: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let page = store::list_events(&db, &self::params(&params, 100, SortOrder::Asc)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::page_js(&page, interop::event_js))
}

#[wasm_bindgen(js_name = getHook)]
pub async fn get_hook(db: JsValue, hook_id: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let hook = store::get_hook(&db, &text(&hook_id, "hookId")?, resolve(&params)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::hook_js(&hook))
}

#[wasm_bindgen(js_name = getHookByToken)]
pub async fn get_hook_by_token(
    db: JsValue,
    token: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let hook = store::get_hook_by_token(&db, &text(&token, "token")?, resolve(&params)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::hook_js(&hook))
}

#[wasm_bindgen(js_name = listHooks)]
pub async fn list_hooks(db: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let page = store::list_hooks(&db, &self::params(&params, 100, SortOrder::Asc)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::page_js(&page, interop::hook_js))
}

// ---- Queue (contract §5) ----

use crate::bindings::queue::Queue;
use crate::bindings::r2::R2Bucket;
use crate::blobs::Bucket;
use crate::queue::cf::Queues;
use crate::queue::{self, envelope, signature, Begin, Io, Outcome, SendOptions};
use js_sys::{Object, Reflect};

/// The bindings a queue call uses, as the shim passes them.
struct QueueBindings {
    db: D1,
    queues: Queues,
    bucket: Bucket,
    max_delay_seconds: i64,
}

fn binding<T: JsCast>(from: &JsValue, key: &str) -> Option<T> {
    Reflect::get(from, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
        .map(JsCast::unchecked_into)
}

fn queue_bindings(b: &JsValue) -> Result<QueueBindings, JsValue> {
    Ok(QueueBindings {
        db: database(Reflect::get(b, &"db".into()).unwrap_or(JsValue::UNDEFINED))?,
        queues: Queues {
            workflow: binding::<Queue>(b, "workflowQueue"),
            step: binding::<Queue>(b, "stepQueue"),
        },
        bucket: Bucket(binding::<R2Bucket>(b, "bucket")),
        max_delay_seconds: Reflect::get(b, &"maxDelaySeconds".into())
            .ok()
            .and_then(|v| v.as_f64())
            .map_or(envelope::MAX_QUEUE_DELAY_SECONDS, |s| s as i64),
    })
}

fn io(b: &QueueBindings) -> Io<'_, D1, Queues, Bucket, SystemClock> {
    Io {
        db: &b.db,
        sender: &b.queues,
        blobs: &b.bucket,
        clock: &SystemClock,
        max_delay_seconds: b.max_delay_seconds,
    }
}

fn set(o: &Object, key: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

/// The app route (`flow` or `step`) of a valid queue name, or the named error.
#[wasm_bindgen(js_name = queueRoute)]
pub fn queue_route(queue_name: JsValue) -> Result<String, JsValue> {
    let name = text(&queue_name, "queueName")?;
    envelope::queue_kind(&name)
        .map(|k| k.route().to_owned())
        .map_err(error_to_js)
}

#[wasm_bindgen(js_name = queueSend)]
pub async fn queue_send(
    bindings: JsValue,
    queue_name: JsValue,
    payload: JsValue,
    opts: JsValue,
) -> Result<JsValue, JsValue> {
    let b = queue_bindings(&bindings)?;
    let name = text(&queue_name, "queueName")?;
    let payload = value(&payload, "payload")?.unwrap_or(Value::Null);
    let opts = SendOptions::parse(value(&opts, "opts")?.as_ref()).map_err(error_to_js)?;
    let message_id = queue::send(&io(&b), &name, &payload, &opts)
        .await
        .map_err(error_to_js)?;
    let out = Object::new();
    set(&out, "messageId", &JsValue::from_str(&message_id));
    Ok(out.into())
}

#[wasm_bindgen(js_name = beginDelivery)]
pub async fn begin_delivery(
    bindings: JsValue,
    body: JsValue,
    cf_attempts: f64,
) -> Result<JsValue, JsValue> {
    let b = queue_bindings(&bindings)?;
    let body = from_js(&body, "message.body").map(|v| v.unwrap_or(Value::Null));
    let out = Object::new();
    match queue::begin(&io(&b), body, cf_attempts as i64)
        .await
        .map_err(error_to_js)?
    {
        Begin::Invalid(e) => {
            set(&out, "action", &"invalid".into());
            set(&out, "error", &error_to_js(e));
        }
        Begin::Settled(reason) => {
            set(&out, "action", &"settled".into());
            set(&out, "reason", &reason.into());
        }
        Begin::Deliver {
            envelope,
            payload,
            attempt,
        } => {
            set(&out, "action", &"deliver".into());
            set(&out, "queueName", &envelope.queue_name.as_str().into());
            set(&out, "messageId", &envelope.message_id.as_str().into());
            set(&out, "route", &envelope.kind().route().into());
            set(&out, "attempt", &JsValue::from_f64(attempt as f64));
            let headers = Object::new();
            for (k, v) in &envelope.headers {
                set(&headers, k, &v.as_str().into());
            }
            set(&out, "headers", &headers);
            set(&out, "payload", &interop::to_js(&payload));
        }
    }
    Ok(out.into())
}

/// `outcome`: `{}` (done), `{timeoutSeconds}` (suspended) or `{failed: true}`.
#[wasm_bindgen(js_name = finishDelivery)]
pub async fn finish_delivery(
    bindings: JsValue,
    body: JsValue,
    outcome: JsValue,
) -> Result<(), JsValue> {
    let b = queue_bindings(&bindings)?;
    let body = value(&body, "message.body")?.unwrap_or(Value::Null);
    let envelope = queue::Envelope::parse(&body).map_err(error_to_js)?;
    let timeout = Reflect::get(&outcome, &"timeoutSeconds".into())
        .ok()
        .and_then(|v| v.as_f64());
    let failed = Reflect::get(&outcome, &"failed".into())
        .ok()
        .is_some_and(|v| v.is_truthy());
    let outcome = match (failed, timeout) {
        (true, _) => Outcome::Failed,
        (false, Some(seconds)) => Outcome::Reschedule(seconds),
        (false, None) => Outcome::Done,
    };
    queue::finish(&io(&b), &envelope, outcome)
        .await
        .map_err(error_to_js)
}

/// For a dead-letter consumer: fails the message's run; resolves to its id, if any.
#[wasm_bindgen(js_name = deadLetter)]
pub async fn dead_letter(
    bindings: JsValue,
    body: JsValue,
    cf_attempts: f64,
) -> Result<JsValue, JsValue> {
    let b = queue_bindings(&bindings)?;
    let body = from_js(&body, "message.body").map(|v| v.unwrap_or(Value::Null));
    let run = queue::dead_letter(&io(&b), body, cf_attempts as i64)
        .await
        .map_err(error_to_js)?;
    Ok(run.map_or(JsValue::UNDEFINED, |r| JsValue::from_str(&r)))
}

/// `start()`: re-enqueues active runs; resolves to `{sent, failed: [{runId, error}]}`.
#[wasm_bindgen]
pub async fn recover(bindings: JsValue) -> Result<JsValue, JsValue> {
    let b = queue_bindings(&bindings)?;
    let recovery = queue::recover(&io(&b)).await.map_err(error_to_js)?;
    let failed = js_sys::Array::new();
    for (run_id, error) in recovery.failed {
        let f = Object::new();
        set(&f, "runId", &run_id.as_str().into());
        set(&f, "error", &error_to_js(error));
        failed.push(&f);
    }
    let out = Object::new();
    set(&out, "sent", &JsValue::from_f64(recovery.sent as f64));
    set(&out, "failed", &failed);
    Ok(out.into())
}

#[wasm_bindgen(js_name = signDelivery)]
pub fn sign_delivery(
    secret: &str,
    queue_name: &str,
    message_id: &str,
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

/// `undefined` if the request is signed correctly and recently, else why not.
#[wasm_bindgen(js_name = verifyDelivery)]
pub fn verify_delivery(
    secret: &str,
    header: Option<String>,
    queue_name: &str,
    message_id: &str,
    attempt: &str,
    body: &str,
) -> Option<String> {
    let now = (js_sys::Date::now() / 1000.0) as i64;
    signature::verify(
        secret,
        header.as_deref(),
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

use crate::stream;

struct StreamBindings {
    db: D1,
    bucket: Bucket,
}

fn stream_bindings(b: &JsValue) -> Result<StreamBindings, JsValue> {
    Ok(StreamBindings {
        db: database(Reflect::get(b, &"db".into()).unwrap_or(JsValue::UNDEFINED))?,
        bucket: Bucket(binding::<R2Bucket>(b, "bucket")),
    })
}

fn stream_io(b: &StreamBindings) -> stream::Io<'_, D1, Bucket, SystemClock> {
    stream::Io {
        db: &b.db,
        blobs: &b.bucket,
        clock: &SystemClock,
    }
}

/// A chunk as stored: a string is its UTF-8 bytes (contract §6.1).
fn chunk_bytes(v: &JsValue, i: u32) -> Result<Vec<u8>, JsValue> {
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    if let Some(bytes) = v.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(bytes.to_vec());
    }
    Err(error_to_js(WorldError::invalid(
        "INVALID_CHUNK",
        format!("Invalid stream chunk #{i}: expected a string or a Uint8Array"),
    )))
}

#[wasm_bindgen(js_name = streamWrite)]
pub async fn stream_write(
    bindings: JsValue,
    name: JsValue,
    run_id: JsValue,
    chunks: js_sys::Array,
) -> Result<(), JsValue> {
    let b = stream_bindings(&bindings)?;
    let chunks = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| chunk_bytes(&c, i as u32))
        .collect::<Result<Vec<_>, _>>()?;
    stream::write(
        &stream_io(&b),
        &text(&name, "name")?,
        &text(&run_id, "runId")?,
        &chunks,
    )
    .await
    .map_err(error_to_js)
}

#[wasm_bindgen(js_name = streamClose)]
pub async fn stream_close(
    bindings: JsValue,
    name: JsValue,
    run_id: JsValue,
) -> Result<(), JsValue> {
    let b = stream_bindings(&bindings)?;
    stream::close(
        &stream_io(&b),
        &text(&name, "name")?,
        &text(&run_id, "runId")?,
    )
    .await
    .map_err(error_to_js)
}

fn chunks_js(chunks: &[(i64, Vec<u8>)]) -> js_sys::Array {
    chunks
        .iter()
        .map(|(index, data)| {
            let o = Object::new();
            set(&o, "index", &JsValue::from_f64(*index as f64));
            set(
                &o,
                "data",
                &js_sys::Uint8Array::from(data.as_slice()).into(),
            );
            JsValue::from(o)
        })
        .collect()
}

/// `{chunks: [{index, data}], count, done}`: the chunks from `from` on (at most `limit`).
#[wasm_bindgen(js_name = streamRead)]
pub async fn stream_read(
    bindings: JsValue,
    name: JsValue,
    from: f64,
    limit: f64,
) -> Result<JsValue, JsValue> {
    let b = stream_bindings(&bindings)?;
    let read = stream::read(
        &stream_io(&b),
        &text(&name, "name")?,
        from as i64,
        limit as i64,
    )
    .await
    .map_err(error_to_js)?;
    let o = Object::new();
    set(&o, "chunks", &chunks_js(&read.chunks));
    set(&o, "count", &JsValue::from_f64(read.info.count as f64));
    set(&o, "done", &JsValue::from_bool(read.info.done));
    Ok(o.into())
}

#[wasm_bindgen(js_name = streamInfo)]
pub async fn stream_info(bindings: JsValue, name: JsValue) -> Result<JsValue, JsValue> {
    let b = stream_bindings(&bindings)?;
    let info = stream::info(&b.db, &text(&name, "name")?)
        .await
        .map_err(error_to_js)?;
    let o = Object::new();
    set(&o, "tailIndex", &JsValue::from_f64((info.count - 1) as f64));
    set(&o, "done", &JsValue::from_bool(info.done));
    Ok(o.into())
}

/// `getStreamChunks(name, runId, {limit, cursor})` (contract §6.3).
#[wasm_bindgen(js_name = streamChunks)]
pub async fn stream_chunks(
    bindings: JsValue,
    name: JsValue,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let b = stream_bindings(&bindings)?;
    let options = value(&options, "options")?;
    let limit = match options.as_ref().and_then(|o| crate::model::value::get(o, "limit")) {
        None | Some(Value::Null) => stream::DEFAULT_PAGE,
        Some(v) => match crate::model::value::integer(v) {
            Some(n) if n >= 1 => n.min(crate::model::params::MAX_PAGE_SIZE),
            _ => {
                return Err(error_to_js(WorldError::invalid(
                    "INVALID_PAGINATION",
                    format!(
                        "Invalid `limit`: {}; allowed: an integer from 1 to 1000 (larger values are clamped)",
                        crate::model::params::describe(v)
                    ),
                )))
            }
        },
    };
    let cursor = match options
        .as_ref()
        .and_then(|o| crate::model::value::get(o, "cursor"))
    {
        Some(Value::Text(c)) => Some(c.clone()),
        _ => None,
    };
    let from = stream::parse_chunk_cursor(cursor.as_deref());
    let read = stream::read(&stream_io(&b), &text(&name, "name")?, from, limit)
        .await
        .map_err(error_to_js)?;
    let next = from + limit;
    let has_more = next < read.info.count;
    let o = Object::new();
    set(&o, "data", &chunks_js(&read.chunks));
    set(
        &o,
        "cursor",
        &if has_more {
            JsValue::from_str(&stream::chunk_cursor(next))
        } else {
            JsValue::NULL
        },
    );
    set(&o, "hasMore", &JsValue::from_bool(has_more));
    set(&o, "done", &JsValue::from_bool(read.info.done));
    Ok(o.into())
}

#[wasm_bindgen(js_name = listStreams)]
pub async fn list_streams(bindings: JsValue, run_id: JsValue) -> Result<JsValue, JsValue> {
    let b = stream_bindings(&bindings)?;
    let names = stream::list_by_run(&b.db, &text(&run_id, "runId")?)
        .await
        .map_err(error_to_js)?;
    Ok(names
        .iter()
        .map(|n| JsValue::from_str(n))
        .collect::<js_sys::Array>()
        .into())
}
