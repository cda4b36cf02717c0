//! The World over HTTP at the boundary: `World.admitRemote` (the Worker side's check of a
//! request before it is served) and `signRemote` (the Node side's signature), over the
//! rules of `crates/core/src/remote.rs`.

use super::adapters::{Crypto, SystemClock};
use super::bindings::WORKFLOW_REMOTE_SECRET;
use super::world::{data_fields, World};
use crate::js::to_value;
use crate::model::WorldError;
use crate::ports::{Clock, Entropy};
use crate::remote;
use js_sys::Promise;
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// Why `serveWorld` answers a request without serving it.
#[derive(Serialize, Tsify)]
pub struct RemoteRefusal {
    /// 403: no secret is set, so nothing is served; 401: the request's signature.
    pub status: u16,
    pub reason: String,
}

fn refusal(status: u16, reason: impl Into<String>) -> Result<JsValue, JsValue> {
    Ok(to_value(&RemoteRefusal {
        status,
        reason: reason.into(),
    })?)
}

#[wasm_bindgen]
impl World {
    /// Whether a request to `serveWorld` may be served: `undefined` when its signature
    /// holds and it was never served before (claimed now, one D1 round trip), else why not.
    /// The signature is checked before any I/O.
    #[wasm_bindgen(js_name = admitRemote, unchecked_return_type = "Promise<RemoteRefusal | undefined>")]
    pub fn admit_remote(
        &self,
        signature: Option<String>,
        method: String,
        path: String,
        body: String,
    ) -> Promise {
        let env = self.env.clone();
        future_to_promise(async move {
            let Some(secret) = env.remote_secret() else {
                return refusal(
                    403,
                    format!("serveWorld is disabled: set the secret `{WORKFLOW_REMOTE_SECRET}` in the Worker's env"),
                );
            };
            let now = SystemClock.now();
            let signed = match remote::verify(
                &secret,
                signature.as_deref(),
                &method,
                &path,
                body.as_bytes(),
                now / 1000,
            ) {
                Ok(signed) => signed,
                Err(reason) => return refusal(401, reason),
            };
            if !remote::claim(&env.bindings()?.db, &signed, now).await? {
                return refusal(401, "request already served (replayed signature)");
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// The `x-wcf-world-signature` header of one request, signed now with a fresh nonce.
#[wasm_bindgen(js_name = signRemote)]
pub fn sign_remote(secret: &str, method: &str, path: &str, body: &str) -> Result<String, JsValue> {
    if secret.is_empty() {
        return Err(WorldError::invalid(
            "MISSING_REMOTE_SECRET",
            "signRemote: the secret is empty",
        )
        .into());
    }
    Ok(remote::sign(
        secret,
        SystemClock.now() / 1000,
        Crypto.random(),
        method,
        path,
        body.as_bytes(),
    ))
}

/// The `World` calls (`calls::CALLS`), for the World's members (js/world.js), `serveWorld`
/// (js/serve.js) and the World over HTTP (js/remote.js): the one list of them.
#[wasm_bindgen(js_name = worldCalls, unchecked_return_type = "Call[]")]
pub fn world_calls() -> Result<JsValue, JsValue> {
    Ok(to_value(crate::calls::CALLS)?)
}

/// `events.create`'s params as sent over HTTP: only their data fields (core passes
/// functions and telemetry in the same object).
#[wasm_bindgen(js_name = createParamsForWire)]
pub fn create_params_for_wire(params: JsValue) -> JsValue {
    if params.is_object() {
        data_fields(&params)
    } else {
        JsValue::UNDEFINED
    }
}
