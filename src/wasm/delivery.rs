//! The `Delivery` handle: what `beginDelivery` decided about one Queues message, and the
//! calls that end it. It keeps the parsed envelope, so ending a delivery reads nothing
//! again and the outcome is a method, not an object shape.

use super::bindings::{WORKFLOW_APP, WORKFLOW_APP_URL};
use super::env::Env;
use crate::js::{to_js, to_value};
use crate::model::WorldError;
use crate::queue::{self, delivery, Begin, Envelope, Outcome};
use js_sys::Promise;
use serde::Serialize;
use std::rc::Rc;
use tsify::{Ts, Tsify};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// What a handler is told about the message it runs (`createQueueHandler`, contract §5.3).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMeta {
    pub attempt: i64,
    pub queue_name: String,
    pub message_id: String,
}

/// An HTTP delivery to the app's route: where, and with which headers (world-local's
/// request format, signed when `WORKFLOW_SECRET` is set).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// `WORKFLOW_APP`, the service binding to call instead of `fetch`, if set.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Fetcher | undefined")]
    pub app: JsValue,
}

struct State {
    env: Env,
    begin: Begin,
}

#[wasm_bindgen]
pub struct Delivery {
    state: Rc<State>,
}

impl Delivery {
    pub fn new(env: Env, begin: Begin) -> Delivery {
        Delivery {
            state: Rc::new(State { env, begin }),
        }
    }

    fn deliverable(&self) -> Result<(&Envelope, i64), WorldError> {
        match &self.state.begin {
            Begin::Deliver {
                envelope, attempt, ..
            } => Ok((envelope, *attempt)),
            _ => Err(WorldError::invalid(
                "NOT_DELIVERABLE",
                format!(
                    "This delivery is `{}`: there is no handler run to end",
                    self.action()
                ),
            )),
        }
    }

    fn end(&self, outcome: Outcome) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let Begin::Deliver { envelope, .. } = &state.begin else {
                return Err(WorldError::invalid(
                    "NOT_DELIVERABLE",
                    "This delivery has no handler run to end",
                )
                .into());
            };
            let bindings = state.env.bindings()?;
            queue::finish(&bindings.io(), envelope, outcome).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}

#[wasm_bindgen]
impl Delivery {
    /// `deliver`: run the handler; `settled`: nothing to run (a duplicate, or a hop of a
    /// long delay); `invalid`: not a message of this World, to be acknowledged and logged.
    #[wasm_bindgen(getter, unchecked_return_type = "'deliver' | 'settled' | 'invalid'")]
    pub fn action(&self) -> String {
        match &self.state.begin {
            Begin::Deliver { .. } => "deliver",
            Begin::Settled(_) => "settled",
            Begin::Invalid(_) => "invalid",
        }
        .to_owned()
    }

    /// Why nothing runs, for `settled` and `invalid`.
    #[wasm_bindgen(getter)]
    pub fn reason(&self) -> Option<String> {
        match &self.state.begin {
            Begin::Settled(reason) => Some((*reason).to_owned()),
            Begin::Invalid(e) => Some(e.message.clone()),
            Begin::Deliver { .. } => None,
        }
    }

    /// The spec version of the line that sent the message (3 or 7): its handler is that
    /// line's, for `deliver`.
    #[wasm_bindgen(getter, js_name = specVersion)]
    pub fn spec_version(&self) -> Option<u32> {
        self.deliverable()
            .ok()
            .map(|(e, _)| e.line.spec_version() as u32)
    }

    /// The logical queue name, for `deliver`.
    #[wasm_bindgen(getter, js_name = queueName)]
    pub fn queue_name(&self) -> Option<String> {
        self.deliverable().ok().map(|(e, _)| e.queue_name.clone())
    }

    /// The handler's arguments: `(payload, meta)`.
    #[wasm_bindgen(unchecked_return_type = "unknown")]
    pub fn payload(&self) -> JsValue {
        match &self.state.begin {
            Begin::Deliver { payload, .. } => to_js(payload),
            _ => JsValue::UNDEFINED,
        }
    }

    pub fn meta(&self) -> Result<Ts<DeliveryMeta>, JsValue> {
        let (envelope, attempt) = self.deliverable()?;
        let meta = DeliveryMeta {
            attempt,
            queue_name: envelope.queue_name.clone(),
            message_id: envelope.message_id.clone(),
        };
        Ok(Ts::new_unchecked(to_value(&meta)?))
    }

    /// The request that delivers this message to the app over HTTP, with `body` (the
    /// encoded payload) signed; an error when no app is configured.
    #[wasm_bindgen(js_name = httpRequest)]
    pub fn http_request(&self, body: &str) -> Result<Ts<DeliveryRequest>, JsValue> {
        let (envelope, attempt) = self.deliverable()?;
        let env = &self.state.env;
        let app = env.get(WORKFLOW_APP);
        // A service binding ignores the host; any absolute URL carries the path.
        let base = env
            .text(WORKFLOW_APP_URL)
            .or_else(|| app.as_ref().map(|_| "https://workflow-app".to_owned()))
            .ok_or_else(|| {
                WorldError::invalid(
                    "NO_DELIVERY_TARGET",
                    format!(
                        "No handler for {} in this isolate, and neither {WORKFLOW_APP} (service binding) nor {WORKFLOW_APP_URL} is set",
                        envelope.queue_name
                    ),
                )
            })?;
        let base = if base.ends_with('/') {
            base
        } else {
            format!("{base}/")
        };
        let url = web_sys::Url::new_with_base(&delivery::route_path(envelope), &base)
            .map_err(|_| {
                WorldError::invalid(
                    "INVALID_APP_URL",
                    format!("{WORKFLOW_APP_URL} is not a URL: {base}"),
                )
            })?
            .href();
        let now = (js_sys::Date::now() / 1000.0) as i64;
        let headers = delivery::http_headers(envelope, attempt, body, env.secret().as_deref(), now);
        let request = DeliveryRequest {
            url,
            headers,
            app: app.unwrap_or(JsValue::UNDEFINED),
        };
        Ok(Ts::new_unchecked(to_value(&request)?))
    }

    /// The handler finished: the message is done.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn finish(&self) -> Promise {
        self.end(Outcome::Done)
    }

    /// The handler answered `{timeoutSeconds}`: deliver the same message again after that long.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reschedule(
        &self,
        #[wasm_bindgen(js_name = timeoutSeconds)] timeout_seconds: f64,
    ) -> Promise {
        self.end(Outcome::Reschedule(timeout_seconds))
    }

    /// The handler failed: Cloudflare's retry may take the delivery at once.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn fail(&self) -> Promise {
        self.end(Outcome::Failed)
    }
}
