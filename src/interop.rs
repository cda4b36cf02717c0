//! JS ⇄ Rust at the wasm boundary: JS values to [`Value`], entities and results to the
//! JS objects core expects (real `Date`s and `Uint8Array`s, absent optional fields left
//! out rather than `null`: contract §0.3).

use crate::model::value::{self, Value};
use crate::model::{Event, Hook, Run, Step, StructuredError, Wait, WorldError};
use crate::store::{EventResult, Page};
use js_sys::{Array, Date, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// Deeper than this is refused: it protects the stack from cyclic or hostile input.
const MAX_DEPTH: usize = 64;

fn unsupported(path: &str, what: &str) -> WorldError {
    WorldError::invalid(
        "INVALID_VALUE",
        format!("Unsupported value at `{path}`: {what}; allowed: JSON values, Uint8Array and Date"),
    )
}

/// A JS value as a [`Value`]; `None` for `undefined` (an absent field).
pub fn from_js(v: &JsValue, path: &str) -> Result<Option<Value>, WorldError> {
    from_js_at(v, path, 0)
}

fn from_js_at(v: &JsValue, path: &str, depth: usize) -> Result<Option<Value>, WorldError> {
    if depth > MAX_DEPTH {
        return Err(unsupported(
            path,
            "nested deeper than 64 levels (or cyclic)",
        ));
    }
    if v.is_undefined() {
        return Ok(None);
    }
    if v.is_null() {
        return Ok(Some(Value::Null));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Some(Value::Bool(b)));
    }
    if let Some(n) = v.as_f64() {
        let is_int = n.fract() == 0.0
            && n.abs() <= 9_007_199_254_740_991.0
            && !(n == 0.0 && n.is_sign_negative());
        return Ok(Some(if is_int {
            Value::Integer((n as i64).into())
        } else {
            Value::Float(n)
        }));
    }
    if let Some(s) = v.as_string() {
        return Ok(Some(Value::Text(s)));
    }
    if let Some(bytes) = v.dyn_ref::<Uint8Array>() {
        return Ok(Some(Value::Bytes(bytes.to_vec())));
    }
    if let Some(d) = v.dyn_ref::<Date>() {
        let ms = d.get_time();
        if ms.is_nan() {
            return Err(unsupported(path, "an invalid Date"));
        }
        return Ok(Some(value::date(ms as i64)));
    }
    if let Some(array) = v.dyn_ref::<Array>() {
        let mut items = Vec::with_capacity(array.length() as usize);
        for (i, item) in array.iter().enumerate() {
            // JSON turns holes and undefined in arrays into null.
            items.push(
                from_js_at(&item, &format!("{path}[{i}]"), depth + 1)?.unwrap_or(Value::Null),
            );
        }
        return Ok(Some(Value::Array(items)));
    }
    if v.is_bigint() {
        return Err(unsupported(path, "a BigInt"));
    }
    if v.is_function() || v.is_symbol() {
        return Err(unsupported(path, "a function or symbol"));
    }
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        // An Error's fields are not enumerable; keep what a reader needs.
        let mut entries = vec![value::text("message", String::from(e.message()))];
        if let Some(stack) = Reflect::get(e, &"stack".into())
            .ok()
            .and_then(|s| s.as_string())
        {
            entries.push(value::text("stack", stack));
        }
        return Ok(Some(Value::Map(entries)));
    }
    if !v.is_object() {
        return Err(unsupported(path, "not a JSON value"));
    }
    let object = Object::unchecked_from_js_ref(v);
    let mut entries = Vec::new();
    for pair in Object::entries(object).iter() {
        let pair: Array = pair.unchecked_into();
        let key = pair.get(0).as_string().unwrap_or_default();
        if let Some(item) = from_js_at(&pair.get(1), &format!("{path}.{key}"), depth + 1)? {
            entries.push((Value::Text(key), item));
        }
    }
    Ok(Some(Value::Map(entries)))
}

pub fn to_js(v: &Value) -> JsValue {
    if let Some(ms) = value::as_date(v) {
        return Date::new(&JsValue::from_f64(ms as f64)).into();
    }
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Integer(i) => JsValue::from_f64(i128::from(*i) as f64),
        Value::Float(f) => JsValue::from_f64(*f),
        Value::Text(t) => JsValue::from_str(t),
        Value::Bytes(b) => Uint8Array::from(b.as_slice()).into(),
        Value::Array(items) => items.iter().map(to_js).collect::<Array>().into(),
        Value::Map(entries) => {
            let o = Object::new();
            for (k, item) in entries {
                if let Value::Text(k) = k {
                    set(&o, k, &to_js(item));
                }
            }
            o.into()
        }
        // Only values this module wrote are stored; anything else reads as null.
        _ => JsValue::NULL,
    }
}

fn set(o: &Object, key: &str, v: &JsValue) {
    // Setting a property on a fresh plain object cannot throw.
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

/// Builds a JS object, leaving absent optional fields out.
struct Obj(Object);

impl Obj {
    fn new() -> Obj {
        Obj(Object::new())
    }
    fn str(self, k: &str, v: &str) -> Obj {
        set(&self.0, k, &JsValue::from_str(v));
        self
    }
    fn opt_str(self, k: &str, v: &Option<String>) -> Obj {
        if let Some(v) = v {
            set(&self.0, k, &JsValue::from_str(v));
        }
        self
    }
    fn num(self, k: &str, v: i64) -> Obj {
        set(&self.0, k, &JsValue::from_f64(v as f64));
        self
    }
    fn opt_num(self, k: &str, v: Option<i64>) -> Obj {
        if let Some(v) = v {
            set(&self.0, k, &JsValue::from_f64(v as f64));
        }
        self
    }
    fn date(self, k: &str, ms: i64) -> Obj {
        set(&self.0, k, &Date::new(&JsValue::from_f64(ms as f64)).into());
        self
    }
    fn opt_date(self, k: &str, ms: Option<i64>) -> Obj {
        match ms {
            Some(ms) => self.date(k, ms),
            None => self,
        }
    }
    fn opt_value(self, k: &str, v: &Option<Value>) -> Obj {
        if let Some(v) = v {
            set(&self.0, k, &to_js(v));
        }
        self
    }
    fn js(self, k: &str, v: JsValue) -> Obj {
        set(&self.0, k, &v);
        self
    }
    fn done(self) -> JsValue {
        self.0.into()
    }
}

fn error_js(e: &StructuredError) -> JsValue {
    Obj::new()
        .str("message", &e.message)
        .opt_str("stack", &e.stack)
        .opt_str("code", &e.code)
        .done()
}

pub fn run_js(r: &Run) -> JsValue {
    let mut o = Obj::new()
        .str("runId", &r.run_id)
        .str("status", r.status.as_str())
        .str("deploymentId", &r.deployment_id)
        .str("workflowName", &r.workflow_name)
        .opt_num("specVersion", r.spec_version)
        .opt_value("executionContext", &r.execution_context)
        .opt_value("input", &r.input);
    if r.status == crate::model::RunStatus::Completed {
        // The schema wants the key on completed runs, even with an undefined value (§2.3).
        o = o.js(
            "output",
            r.output.as_ref().map_or(JsValue::UNDEFINED, to_js),
        );
    }
    if let Some(e) = &r.error {
        o = o.js("error", error_js(e));
    }
    o.opt_date("expiredAt", r.expired_at)
        .opt_date("startedAt", r.started_at)
        .opt_date("completedAt", r.completed_at)
        .date("createdAt", r.created_at)
        .date("updatedAt", r.updated_at)
        .done()
}

pub fn step_js(s: &Step) -> JsValue {
    let mut o = Obj::new()
        .str("runId", &s.run_id)
        .str("stepId", &s.step_id)
        .str("stepName", &s.step_name)
        .str("status", s.status.as_str())
        .opt_value("input", &s.input)
        .opt_value("output", &s.output);
    if let Some(e) = &s.error {
        o = o.js("error", error_js(e));
    }
    o.num("attempt", s.attempt)
        .opt_date("startedAt", s.started_at)
        .opt_date("completedAt", s.completed_at)
        .opt_date("retryAfter", s.retry_after)
        .date("createdAt", s.created_at)
        .date("updatedAt", s.updated_at)
        .opt_num("specVersion", s.spec_version)
        .done()
}

pub fn hook_js(h: &Hook) -> JsValue {
    Obj::new()
        .str("runId", &h.run_id)
        .str("hookId", &h.hook_id)
        .str("token", &h.token)
        .str("ownerId", &h.owner_id)
        .str("projectId", &h.project_id)
        .str("environment", &h.environment)
        .opt_value("metadata", &h.metadata)
        .date("createdAt", h.created_at)
        .opt_num("specVersion", h.spec_version)
        // Absent reads as true in both references (contract §2.5).
        .js(
            "isWebhook",
            JsValue::from_bool(h.is_webhook.unwrap_or(true)),
        )
        .done()
}

pub fn wait_js(w: &Wait) -> JsValue {
    Obj::new()
        .str("waitId", &w.wait_id)
        .str("runId", &w.run_id)
        .str("status", w.status.as_str())
        .opt_date("resumeAt", w.resume_at)
        .opt_date("completedAt", w.completed_at)
        .date("createdAt", w.created_at)
        .date("updatedAt", w.updated_at)
        .opt_num("specVersion", w.spec_version)
        .done()
}

pub fn event_js(e: &Event) -> JsValue {
    Obj::new()
        .str("runId", &e.run_id)
        .str("eventId", &e.event_id)
        .str("eventType", e.event_type.as_str())
        .opt_str("correlationId", &e.correlation_id)
        .opt_value("eventData", &e.event_data)
        .date("createdAt", e.created_at)
        .num("specVersion", e.spec_version)
        .done()
}

pub fn event_result_js(r: &EventResult) -> JsValue {
    let mut o = Obj::new();
    if let Some(e) = &r.event {
        o = o.js("event", event_js(e));
    }
    if let Some(x) = &r.run {
        o = o.js("run", run_js(x));
    }
    if let Some(x) = &r.step {
        o = o.js("step", step_js(x));
    }
    if let Some(x) = &r.hook {
        o = o.js("hook", hook_js(x));
    }
    if let Some(x) = &r.wait {
        o = o.js("wait", wait_js(x));
    }
    if let Some(events) = &r.events {
        o = o.js(
            "events",
            events.iter().map(event_js).collect::<Array>().into(),
        );
        o = o.js(
            "cursor",
            r.cursor.as_deref().map_or(JsValue::NULL, JsValue::from_str),
        );
        o = o.js("hasMore", JsValue::from_bool(r.has_more.unwrap_or(false)));
    }
    o.done()
}

pub fn page_js<T>(p: &Page<T>, item: fn(&T) -> JsValue) -> JsValue {
    Obj::new()
        .js("data", p.data.iter().map(item).collect::<Array>().into())
        .js(
            "cursor",
            p.cursor.as_deref().map_or(JsValue::NULL, JsValue::from_str),
        )
        .js("hasMore", JsValue::from_bool(p.has_more))
        .done()
}

/// The one place a [`WorldError`] becomes a JS `Error`, named as core checks it (§1.5).
pub fn error_to_js(e: WorldError) -> JsValue {
    let error = js_sys::Error::new(&e.message);
    error.set_name(e.name.as_str());
    let o: &Object = error.as_ref();
    if let Some(status) = e.status {
        set(o, "status", &JsValue::from_f64(status.into()));
    }
    if let Some(code) = e.code {
        set(o, "code", &JsValue::from_str(code));
    }
    if let Some(s) = e.retry_after {
        set(o, "retryAfter", &JsValue::from_f64(s as f64));
    }
    if let Some(run_id) = &e.run_id {
        set(o, "runId", &JsValue::from_str(run_id));
    }
    if let Some(token) = &e.token {
        set(o, "token", &JsValue::from_str(token));
    }
    if let Some(v) = e.run_spec_version {
        set(o, "runSpecVersion", &JsValue::from_f64(v as f64));
    }
    if let Some(v) = e.world_spec_version {
        set(o, "worldSpecVersion", &JsValue::from_f64(v as f64));
    }
    error.into()
}
