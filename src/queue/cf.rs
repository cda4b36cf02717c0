//! [`Sender`] and [`Blobs`] over the Queues and R2 bindings.

use super::{Blobs, QueueKind, Sender};
use crate::bindings::queue::Queue;
use crate::bindings::r2::{R2Bucket, R2ObjectBody};
use crate::interop::to_js;
use crate::model::Value;
use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

async fn wait(p: Result<Promise, JsValue>) -> Result<JsValue, String> {
    JsFuture::from(p.map_err(message)?).await.map_err(message)
}

/// The two producer bindings; a missing one is reported when a message needs it.
pub struct Queues {
    pub workflow: Option<Queue>,
    pub step: Option<Queue>,
}

impl Sender for Queues {
    async fn send(&self, kind: QueueKind, body: &Value, delay_seconds: i64) -> Result<(), String> {
        let (queue, name) = match kind {
            QueueKind::Workflow => (&self.workflow, "WORKFLOW_QUEUE"),
            QueueKind::Step => (&self.step, "STEP_QUEUE"),
        };
        let queue = queue
            .as_ref()
            .ok_or_else(|| format!("the {name} binding is missing from env"))?;
        let options = Object::new();
        if delay_seconds > 0 {
            let _ = Reflect::set(
                &options,
                &"delaySeconds".into(),
                &JsValue::from_f64(delay_seconds as f64),
            );
        }
        wait(queue.send(&to_js(body), &options)).await.map(|_| ())
    }
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
        let object = wait(self.bucket()?.get(key)).await?;
        if object.is_null() || object.is_undefined() {
            return Ok(None);
        }
        let buffer = wait(object.unchecked_ref::<R2ObjectBody>().array_buffer()).await?;
        Ok(Some(Uint8Array::new(&buffer).to_vec()))
    }

    async fn delete(&self, key: &str) -> Result<(), String> {
        wait(self.bucket()?.delete(key)).await.map(|_| ())
    }
}
