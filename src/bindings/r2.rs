use js_sys::Promise;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
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
}
