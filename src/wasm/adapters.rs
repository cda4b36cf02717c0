//! The ports of `crates/core/src/ports.rs` over the Worker's bindings: D1 as [`Database`], Queues as
//! [`Sender`], R2 as [`Blobs`], the clock and `crypto.getRandomValues`.

use super::externs::{D1Database, Queue, R2Bucket, R2ObjectBody};
use crate::js::to_js;
use crate::model::{Millis, Value};
use crate::ports::{Blobs, Clock, Database, Entropy, QueueKind, Sender};
use crate::sql::{QueryResult, Row, SqlValue, Statement};
use js_sys::{Array, ArrayBuffer, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// What a failed binding call said: the one place a thrown JS value becomes text.
pub fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

async fn settle(p: Result<Promise, JsValue>) -> Result<JsValue, String> {
    JsFuture::from(p.map_err(message)?).await.map_err(message)
}

fn set(o: &Object, key: &str, v: &JsValue) {
    // Setting a property on a fresh plain object cannot throw.
    let _ = Reflect::set(o, &JsValue::from_str(key), v);
}

pub struct D1(pub D1Database);

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
        let results = settle(self.0.batch(prepared)).await?;
        Ok(results
            .unchecked_into::<Array>()
            .iter()
            .map(result)
            .collect())
    }
}

/// The two producer bindings; a missing one is reported when a message needs it.
pub struct Queues {
    pub workflow: Option<Queue>,
    pub step: Option<Queue>,
}

impl Queues {
    fn of(&self, kind: QueueKind) -> Result<&Queue, String> {
        let (queue, name) = match kind {
            QueueKind::Workflow => (&self.workflow, super::bindings::WORKFLOW_QUEUE),
            QueueKind::Step => (&self.step, super::bindings::STEP_QUEUE),
        };
        queue
            .as_ref()
            .ok_or_else(|| format!("the {name} binding is missing from env"))
    }
}

/// A send's options, or a batch entry's `{body?, delaySeconds?}`.
fn with_delay(o: Object, delay_seconds: i64) -> Object {
    if delay_seconds > 0 {
        set(&o, "delaySeconds", &JsValue::from_f64(delay_seconds as f64));
    }
    o
}

impl Sender for Queues {
    async fn send(&self, kind: QueueKind, body: &Value, delay_seconds: i64) -> Result<(), String> {
        let options = with_delay(Object::new(), delay_seconds);
        settle(self.of(kind)?.send(&to_js(body), &options))
            .await
            .map(|_| ())
    }

    async fn send_batch(&self, kind: QueueKind, messages: &[(Value, i64)]) -> Result<(), String> {
        let batch = Array::new();
        for (body, delay_seconds) in messages {
            let entry = Object::new();
            set(&entry, "body", &to_js(body));
            batch.push(&with_delay(entry, *delay_seconds));
        }
        settle(self.of(kind)?.send_batch(batch)).await.map(|_| ())
    }
}

/// The bytes of an R2 get's result, `None` for a missing key.
async fn body(object: JsValue) -> Result<Option<Vec<u8>>, String> {
    if object.is_null() || object.is_undefined() {
        return Ok(None);
    }
    let buffer = settle(object.unchecked_ref::<R2ObjectBody>().array_buffer()).await?;
    Ok(Some(Uint8Array::new(&buffer).to_vec()))
}

/// The R2 bucket; a missing binding is reported when something needs it.
pub struct R2(pub Option<R2Bucket>);

impl R2 {
    fn bucket(&self) -> Result<&R2Bucket, String> {
        self.0.as_ref().ok_or_else(|| {
            format!(
                "the {} binding is missing from env",
                super::bindings::STREAM_BUCKET
            )
        })
    }
}

impl Blobs for R2 {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        settle(
            self.bucket()?
                .put(key, &Uint8Array::from(bytes.as_slice()).into()),
        )
        .await
        .map(|_| ())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        body(settle(self.bucket()?.get(key, &JsValue::UNDEFINED)).await?).await
    }

    async fn get_range(
        &self,
        key: &str,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>, String> {
        if length == 0 {
            return Ok(Some(Vec::new()));
        }
        let range = Object::new();
        set(&range, "offset", &JsValue::from_f64(offset as f64));
        set(&range, "length", &JsValue::from_f64(length as f64));
        let options = Object::new();
        set(&options, "range", &range);
        body(settle(self.bucket()?.get(key, &options)).await?).await
    }

    async fn delete(&self, key: &str) -> Result<(), String> {
        settle(self.bucket()?.delete(key)).await.map(|_| ())
    }
}

/// Waits with the platform's `setTimeout` (a timer is I/O to workerd, so `Date.now()`
/// has moved on when it fires).
pub struct PlatformTimer;

impl crate::store::runs::Timer for PlatformTimer {
    fn sleep(&self, ms: Millis) -> impl std::future::Future<Output = ()> {
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            // Should the timer be refused, the wait ends at once: the caller reads again.
            if super::externs::set_timeout(&resolve, ms as f64).is_err() {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        });
        async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        js_sys::Date::now() as Millis
    }
}

/// `crypto.getRandomValues`, which workerd and Node 22 have, read [`POOL_BYTES`] at a time:
/// every read crosses into JS (about 15 µs in Node), and one `events.create` takes three or
/// four ids, which made it the largest share of the core's CPU per call (BENCHMARKS.md).
pub struct Crypto;

const POOL_BYTES: usize = 4096;

thread_local! {
    /// Random bytes not handed out yet, from the end.
    static POOL: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Entropy for Crypto {
    fn random(&self) -> u128 {
        POOL.with_borrow_mut(|pool| {
            if pool.len() < 16 {
                pool.resize(POOL_BYTES, 0);
                // If it ever failed, ids would still be unique per millisecond only by
                // chance, so fall back to time.
                if getrandom::getrandom(pool).is_err() {
                    pool.clear();
                    return js_sys::Math::random().to_bits() as u128
                        ^ (js_sys::Date::now().to_bits() as u128) << 64;
                }
            }
            let at = pool.len() - 16;
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&pool[at..]);
            pool.truncate(at);
            u128::from_le_bytes(bytes)
        })
    }
}
