use js_sys::Promise;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// A Queues producer binding (`env.WORKFLOW_QUEUE`, `env.STEP_QUEUE`).
    #[derive(Clone)]
    pub type Queue;

    #[wasm_bindgen(method, catch)]
    pub fn send(this: &Queue, body: &JsValue, options: &JsValue) -> Result<Promise, JsValue>;
}
