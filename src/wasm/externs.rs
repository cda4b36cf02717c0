//! `extern "C"` declarations of the Cloudflare bindings, shaped like worker-sys: every
//! call that can throw is `catch`, promises come back as `Promise`. No decisions here.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// A D1 binding (`env.DB`), or anything with its `prepare`/`batch` methods.
    #[derive(Clone)]
    pub type D1Database;

    #[wasm_bindgen(method, catch)]
    pub fn prepare(this: &D1Database, query: &str) -> Result<D1PreparedStatement, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn batch(this: &D1Database, statements: Array) -> Result<Promise, JsValue>;

    #[derive(Clone)]
    pub type D1PreparedStatement;

    #[wasm_bindgen(method, catch, variadic)]
    pub fn bind(this: &D1PreparedStatement, values: Array) -> Result<D1PreparedStatement, JsValue>;

    /// A Queues producer binding (`env.WORKFLOW_QUEUE`, `env.STEP_QUEUE`).
    #[derive(Clone)]
    pub type Queue;

    #[wasm_bindgen(method, catch)]
    pub fn send(this: &Queue, body: &JsValue, options: &JsValue) -> Result<Promise, JsValue>;

    /// `messages`: `[{body, delaySeconds?}]`, sent all or none.
    #[wasm_bindgen(method, catch, js_name = sendBatch)]
    pub fn send_batch(this: &Queue, messages: Array) -> Result<Promise, JsValue>;

    /// An R2 bucket binding (`env.STREAM_BUCKET`).
    #[derive(Clone)]
    pub type R2Bucket;

    #[wasm_bindgen(method, catch)]
    pub fn put(this: &R2Bucket, key: &str, value: &JsValue) -> Result<Promise, JsValue>;

    /// Resolves to an object body, or `null` when the key is missing. `options` may ask
    /// for a byte `range`.
    #[wasm_bindgen(method, catch)]
    pub fn get(this: &R2Bucket, key: &str, options: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn delete(this: &R2Bucket, key: &str) -> Result<Promise, JsValue>;

    pub type R2ObjectBody;

    #[wasm_bindgen(method, catch, js_name = arrayBuffer)]
    pub fn array_buffer(this: &R2ObjectBody) -> Result<Promise, JsValue>;

    /// The global `setTimeout` of workerd and Node.
    #[wasm_bindgen(js_name = setTimeout, catch)]
    pub fn set_timeout(handler: &js_sys::Function, ms: f64) -> Result<JsValue, JsValue>;
}
