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
}
