//! [`Database`] over a D1 binding: statements to `prepare().bind()`, one `batch()` per
//! call, and D1's result objects back to rows.

use super::rows::Row;
use super::sql::{SqlValue, Statement};
use super::{Database, QueryResult};
use crate::bindings::d1::D1Database;
use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub struct D1(pub D1Database);

fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

fn param(v: &SqlValue) -> JsValue {
    match v {
        SqlValue::Null => JsValue::NULL,
        SqlValue::Integer(i) => JsValue::from_f64(*i as f64),
        SqlValue::Real(f) => JsValue::from_f64(*f),
        SqlValue::Text(t) => JsValue::from_str(t),
        SqlValue::Blob(b) => Uint8Array::from(b.as_slice()).into(),
    }
}

/// D1 returns BLOB columns as an `Array` of byte values (measured on workerd
/// 1.20261117); the typed forms are accepted too.
fn column(v: JsValue) -> SqlValue {
    if v.is_null() || v.is_undefined() {
        SqlValue::Null
    } else if let Some(n) = v.as_f64() {
        if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 {
            SqlValue::Integer(n as i64)
        } else {
            SqlValue::Real(n)
        }
    } else if let Some(s) = v.as_string() {
        SqlValue::Text(s)
    } else if let Some(b) = v.dyn_ref::<Uint8Array>() {
        SqlValue::Blob(b.to_vec())
    } else if let Some(b) = v.dyn_ref::<ArrayBuffer>() {
        SqlValue::Blob(Uint8Array::new(b).to_vec())
    } else if Array::is_array(&v) {
        SqlValue::Blob(Uint8Array::new(&v).to_vec())
    } else if let Some(b) = v.as_bool() {
        SqlValue::Integer(b.into())
    } else {
        SqlValue::Null
    }
}

fn result(r: JsValue) -> QueryResult {
    let rows = Reflect::get(&r, &"results".into())
        .ok()
        .filter(Array::is_array)
        .map(|rows| {
            rows.unchecked_into::<Array>()
                .iter()
                .map(|row: JsValue| {
                    Row(Object::entries(row.unchecked_ref())
                        .iter()
                        .map(|pair| {
                            let pair: Array = pair.unchecked_into();
                            (
                                pair.get(0).as_string().unwrap_or_default(),
                                column(pair.get(1)),
                            )
                        })
                        .collect())
                })
                .collect()
        })
        .unwrap_or_default();
    let changes = Reflect::get(&r, &"meta".into())
        .and_then(|m| Reflect::get(&m, &"changes".into()))
        .ok()
        .and_then(|c| c.as_f64())
        .unwrap_or(0.0) as i64;
    QueryResult { rows, changes }
}

impl Database for D1 {
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<QueryResult>, String> {
        let prepared = Array::new();
        for s in &statements {
            let stmt = self.0.prepare(&s.sql).map_err(message)?;
            let stmt = if s.params.is_empty() {
                stmt
            } else {
                stmt.bind(s.params.iter().map(param).collect())
                    .map_err(message)?
            };
            prepared.push(&stmt);
        }
        let promise = self.0.batch(prepared).map_err(message)?;
        let results = JsFuture::from(promise).await.map_err(message)?;
        Ok(results
            .unchecked_into::<Array>()
            .iter()
            .map(result)
            .collect())
    }
}
