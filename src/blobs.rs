//! Blob storage (R2): where payloads too large for a D1 row or a queue message, and stream
//! segments too large to keep inline, are kept.

use std::future::Future;

pub trait Blobs {
    fn put(&self, key: &str, bytes: Vec<u8>) -> impl Future<Output = Result<(), String>>;
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, String>>;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), String>>;

    /// `length` bytes from `offset`: stores that can read a range override this.
    fn get_range(
        &self,
        key: &str,
        offset: u64,
        length: u64,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, String>> {
        async move {
            Ok(self.get(key).await?.map(|b| {
                let start = (offset as usize).min(b.len());
                b[start..(start + length as usize).min(b.len())].to_vec()
            }))
        }
    }
}

#[cfg(target_arch = "wasm32")]
pub use r2::Bucket;

#[cfg(target_arch = "wasm32")]
mod r2 {
    use super::Blobs;
    use crate::bindings::r2::{R2Bucket, R2ObjectBody};
    use crate::queue::cf::wait;
    use js_sys::{Object, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};

    /// The bytes of an R2 get's result, `None` for a missing key.
    async fn body(object: JsValue) -> Result<Option<Vec<u8>>, String> {
        if object.is_null() || object.is_undefined() {
            return Ok(None);
        }
        let buffer = wait(object.unchecked_ref::<R2ObjectBody>().array_buffer()).await?;
        Ok(Some(Uint8Array::new(&buffer).to_vec()))
    }

    pub struct Bucket(pub Option<R2Bucket>);

    impl Bucket {
        fn bucket(&self) -> Result<&R2Bucket, String> {
            self.0
                .as_ref()
                .ok_or_else(|| "the STREAM_BUCKET binding is missing from env".to_owned())
        }
    }

    impl Blobs for Bucket {
        async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), String> {
            wait(
                self.bucket()?
                    .put(key, &Uint8Array::from(bytes.as_slice()).into()),
            )
            .await
            .map(|_| ())
        }

        async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
            body(wait(self.bucket()?.get(key, &JsValue::UNDEFINED)).await?).await
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
            let _ = Reflect::set(&range, &"offset".into(), &JsValue::from_f64(offset as f64));
            let _ = Reflect::set(&range, &"length".into(), &JsValue::from_f64(length as f64));
            let options = Object::new();
            let _ = Reflect::set(&options, &"range".into(), &range);
            body(wait(self.bucket()?.get(key, &options)).await?).await
        }

        async fn delete(&self, key: &str) -> Result<(), String> {
            wait(self.bucket()?.delete(key)).await.map(|_| ())
        }
    }
}
