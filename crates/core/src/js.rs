//! The JS side of the model (feature `js`), and the only module of this crate that names
//! wasm-bindgen or js-sys. JS ⇄ Rust values: outbound, every typed value goes through
//! serde-wasm-bindgen; the newtypes of `src/model/shapes.rs` get their JS form here (a real `Date`, the payload as
//! the JS value it encodes, `null`), so core receives `Date`s, `Uint8Array`s and absent
//! optional fields as `undefined` (contract §0.3). Inbound, payloads are walked into
//! [`Value`] by [`from_js`]: a `Date` and a `Uint8Array` are kept as such, which serde's
//! data model cannot tell apart from plain objects.

use crate::model::value::{self, Value};
use crate::model::{Cursor, Payload, Timestamp, WorldError};
use js_sys::{Array, Date, Object, Reflect, Uint8Array};
use serde::{Serialize, Serializer};
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

/// A [`Value`] as the JS value it encodes.
pub fn to_js(v: &Value) -> JsValue {
    if let Some(ms) = value::as_date(v) {
        return Date::new(&JsValue::from_f64(ms as f64)).into();
    }
    if value::is_undefined(v) {
        return JsValue::UNDEFINED;
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
                    // Setting a property on a fresh plain object cannot throw.
                    let _ = Reflect::set(&o, &JsValue::from_str(k), &to_js(item));
                }
            }
            o.into()
        }
        // Only values this crate wrote are stored; anything else reads as null.
        _ => JsValue::NULL,
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(&Date::new(&JsValue::from_f64(self.0 as f64)), s)
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(&to_js(&self.0), s)
    }
}

impl Serialize for Cursor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(cursor) => s.serialize_str(cursor),
            None => serde_wasm_bindgen::preserve::serialize(&JsValue::NULL, s),
        }
    }
}

/// A typed value as JS: plain objects (never `Map`s), `undefined` for absent options.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, WorldError> {
    v.serialize(&serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true))
        .map_err(|e| WorldError::unavailable(format!("converting a result for JS failed: {e}")))
}

/// The one place a [`WorldError`] becomes a JS `Error`, named as core checks it (§1.5).
impl From<WorldError> for JsValue {
    fn from(e: WorldError) -> JsValue {
        let error = js_sys::Error::new(&e.message);
        error.set_name(e.name.as_str());
        let o: &Object = error.as_ref();
        let set = |key: &str, v: JsValue| {
            let _ = Reflect::set(o, &JsValue::from_str(key), &v);
        };
        if let Some(status) = e.status {
            set("status", JsValue::from_f64(status.into()));
        }
        if let Some(code) = e.code {
            set("code", JsValue::from_str(code));
        }
        if let Some(s) = e.retry_after {
            set("retryAfter", JsValue::from_f64(s as f64));
        }
        if let Some(run_id) = &e.run_id {
            set("runId", JsValue::from_str(run_id));
        }
        if let Some(token) = &e.token {
            set("token", JsValue::from_str(token));
        }
        if let Some(v) = e.run_spec_version {
            set("runSpecVersion", JsValue::from_f64(v as f64));
        }
        if let Some(v) = e.world_spec_version {
            set("worldSpecVersion", JsValue::from_f64(v as f64));
        }
        error.into()
    }
}
