//! The queue consumer's side of the World: what a Worker's `queue()` needs (js/queue.js,
//! js/executor.js), over its env alone: begin a delivery, dead-letter a message, the
//! executor's retry delay, the dead-letter queue's name.

use super::delivery::Delivery;
use super::env::Env;
use crate::js::{from_js, to_value};
use crate::model::{Value, WorldError};
use crate::queue::{self, delivery};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// A Queues message's body as a value (an absent body is `null`), or why it is not one.
fn message_body(body: &JsValue) -> Result<Value, WorldError> {
    from_js(body, "message.body").map(|v| v.unwrap_or(Value::Null))
}

#[wasm_bindgen]
pub struct Consumer {
    env: Env,
}

#[wasm_bindgen]
impl Consumer {
    /// The consumer over a Worker's `env`. Reads nothing yet: bindings are read by each call.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "object | undefined")] env: JsValue,
    ) -> Consumer {
        Consumer { env: Env(env) }
    }

    /// The name of the dead-letter queue: `WORKFLOW_DEAD_LETTER_QUEUE`, or `"workflow-dlq"`.
    #[wasm_bindgen(getter, js_name = deadLetterQueue)]
    pub fn dead_letter_queue(&self) -> String {
        self.env.dead_letter_queue()
    }

    /// The first half of delivering a Queues message: resolves to the [`Delivery`] that
    /// says whether the handler runs, and ends it.
    #[wasm_bindgen(js_name = beginDelivery, unchecked_return_type = "Promise<Delivery>")]
    pub fn begin_delivery(
        &self,
        #[wasm_bindgen(unchecked_param_type = "unknown")] body: JsValue,
        #[wasm_bindgen(js_name = cfAttempts)] cf_attempts: f64,
    ) -> Promise {
        let env = self.env.clone();
        future_to_promise(async move {
            let bindings = env.bindings()?;
            let begin =
                queue::begin(&bindings.io(), message_body(&body), cf_attempts as i64).await?;
            Ok(Delivery::new(env, begin).into())
        })
    }

    /// For a dead-letter consumer: fails the message's run; resolves to its id, if any.
    #[wasm_bindgen(js_name = deadLetter, unchecked_return_type = "Promise<string | undefined>")]
    pub fn dead_letter(
        &self,
        #[wasm_bindgen(unchecked_param_type = "unknown")] body: JsValue,
        #[wasm_bindgen(js_name = cfAttempts)] cf_attempts: f64,
    ) -> Promise {
        let env = self.env.clone();
        future_to_promise(async move {
            let bindings = env.bindings()?;
            let run_id =
                queue::dead_letter(&bindings.io(), message_body(&body), cf_attempts as i64).await?;
            Ok(to_value(&run_id)?)
        })
    }

    /// The executor's answer to a failed try of a delivery (js/executor.js): the delay in
    /// ms before it tries again, or `undefined` when its retries are spent and it is to be
    /// dead-lettered.
    #[wasm_bindgen(js_name = retryDelay)]
    pub fn retry_delay(&self, attempts: f64) -> Option<f64> {
        match delivery::after_failure(attempts as i64, self.env.executor_max_retries()) {
            delivery::AfterFailure::Retry { delay_ms } => Some(delay_ms as f64),
            delivery::AfterFailure::DeadLetter => None,
        }
    }
}
