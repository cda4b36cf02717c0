//! The Worker bindings and vars this package reads, by name: written once, here, and read
//! from `env` on each call (contract §1.2: a World may be built before its bindings exist).

use super::adapters::{Crypto, Queues, SystemClock, D1, R2};
use super::externs::{D1Database, Queue, R2Bucket};
use crate::model::WorldError;
use crate::ports::Io;
use crate::queue::delivery;
use crate::queue::envelope::MAX_QUEUE_DELAY_SECONDS;
use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use super::bindings::*;

/// A Worker's `env` (or any object with the same keys).
#[derive(Clone)]
pub struct Env(pub JsValue);

impl Env {
    /// `env[name]`, unless absent (`undefined` or `null`).
    pub fn get(&self, name: &str) -> Option<JsValue> {
        if self.0.is_undefined() || self.0.is_null() {
            return None;
        }
        Reflect::get(&self.0, &JsValue::from_str(name))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    }

    pub fn deployment_id(&self) -> String {
        self.text(DEPLOYMENT_ID)
            .unwrap_or_else(|| DEFAULT_DEPLOYMENT_ID.to_owned())
    }

    pub fn dead_letter_queue(&self) -> String {
        self.text(WORKFLOW_DEAD_LETTER_QUEUE)
            .unwrap_or_else(|| DEFAULT_DEAD_LETTER_QUEUE.to_owned())
    }

    pub fn secret(&self) -> Option<String> {
        self.text(WORKFLOW_SECRET)
    }

    pub fn remote_secret(&self) -> Option<String> {
        self.text(WORKFLOW_REMOTE_SECRET)
    }

    pub fn encryption_secret(&self) -> Option<String> {
        self.text(WORKFLOW_ENCRYPTION_KEY)
    }

    /// `env[name]` as a number (a var is text, a test may pass a number).
    fn number(&self, name: &str) -> Option<f64> {
        self.get(name)
            .and_then(|v| {
                v.as_f64()
                    .or_else(|| v.as_string().and_then(|s| s.trim().parse::<f64>().ok()))
            })
            .filter(|n| n.is_finite())
    }

    /// `WORKFLOW_QUEUE_MAX_DELAY_SECONDS` when it is a positive number.
    fn max_delay_seconds(&self) -> i64 {
        self.number(WORKFLOW_QUEUE_MAX_DELAY_SECONDS)
            .filter(|s| *s > 0.0)
            .map_or(MAX_QUEUE_DELAY_SECONDS, |s| s as i64)
    }

    /// `WORKFLOW_EXECUTOR_MAX_RETRIES` when it is a number ≥ 0.
    pub fn executor_max_retries(&self) -> i64 {
        self.number(WORKFLOW_EXECUTOR_MAX_RETRIES)
            .filter(|n| *n >= 0.0)
            .map_or(delivery::EXECUTOR_MAX_RETRIES, |n| n as i64)
    }

    /// `WORKFLOW_RETENTION_DAYS` as an age in ms (text or number); a bad value is an error
    /// of the `start()` that reads it.
    pub fn retention(&self) -> Result<Option<crate::model::Millis>, WorldError> {
        let text = self.get(WORKFLOW_RETENTION_DAYS).map(|v| {
            v.as_f64()
                .map_or_else(|| v.as_string().unwrap_or_default(), |n| n.to_string())
        });
        crate::store::retention::parse_setting(text.as_deref())
    }

    /// The bindings every call needs; only D1 is required up front, the others are
    /// reported by the call that needs them.
    pub fn bindings(&self) -> Result<Bindings, WorldError> {
        let db = self.get(DB).ok_or_else(|| {
            WorldError::invalid(
                "MISSING_BINDING",
                format!("The D1 binding is missing: pass the Worker's env (with `{DB}`) to createWorld(env)"),
            )
        })?;
        Ok(Bindings {
            db: D1(db.unchecked_into::<D1Database>()),
            blobs: R2(self
                .get(STREAM_BUCKET)
                .map(JsCast::unchecked_into::<R2Bucket>)),
            queues: Queues {
                workflow: self
                    .get(WORKFLOW_QUEUE)
                    .map(JsCast::unchecked_into::<Queue>),
                step: self.get(STEP_QUEUE).map(JsCast::unchecked_into::<Queue>),
            },
            max_delay_seconds: self.max_delay_seconds(),
        })
    }
}

/// One call's bindings.
pub struct Bindings {
    pub db: D1,
    pub blobs: R2,
    pub queues: Queues,
    pub max_delay_seconds: i64,
}

impl Bindings {
    pub fn io(&self) -> Io<'_, D1, R2, Queues> {
        Io {
            db: &self.db,
            blobs: &self.blobs,
            sender: &self.queues,
            clock: &SystemClock,
            entropy: &Crypto,
            max_delay_seconds: self.max_delay_seconds,
        }
    }
}
