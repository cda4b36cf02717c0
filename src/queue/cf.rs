//! [`Sender`] over the Queues bindings.

use super::{QueueKind, Sender};
use crate::bindings::queue::Queue;
use crate::interop::to_js;
use crate::model::Value;
use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub(crate) fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

pub(crate) async fn wait(p: Result<Promise, JsValue>) -> Result<JsValue, String> {
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
