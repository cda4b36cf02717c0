//! The wasm exports: each takes the D1 binding and plain JS arguments, and resolves to
//! the JS value the World method returns or rejects with a named `Error`.

use crate::bindings::d1::D1Database;
use crate::interop::{self, error_to_js, from_js};
use crate::model::params::{ReadParams, ResolveData, SortOrder};
use crate::model::{Millis, Value, WorldError};
use crate::store::{self, d1::D1, Clock};
use wasm_bindgen::prelude::*;

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        js_sys::Date::now() as Millis
    }

    fn random(&self) -> u128 {
        let mut bytes = [0u8; 16];
        // crypto.getRandomValues exists in workerd and Node 22; if it ever failed, ids
        // would still be unique per millisecond only by chance, so fall back to time.
        if getrandom::getrandom(&mut bytes).is_err() {
            return js_sys::Math::random().to_bits() as u128
                ^ (js_sys::Date::now().to_bits() as u128) << 64;
        }
        u128::from_le_bytes(bytes)
    }
}

fn database(db: JsValue) -> Result<D1, JsValue> {
    if db.is_undefined() || db.is_null() {
        return Err(error_to_js(WorldError::invalid(
            "MISSING_BINDING",
            "The D1 binding is missing: pass the Worker's env (with `DB`) to createWorld(env)",
        )));
    }
    Ok(D1(db.unchecked_into::<D1Database>()))
}

fn value(v: &JsValue, path: &str) -> Result<Option<Value>, JsValue> {
    from_js(v, path).map_err(error_to_js)
}

fn text(v: &JsValue, what: &str) -> Result<String, JsValue> {
    v.as_string().ok_or_else(|| {
        error_to_js(WorldError::invalid(
            "INVALID_ARGUMENT",
            format!("`{what}` must be a string"),
        ))
    })
}

fn optional_text(v: &JsValue, what: &str) -> Result<Option<String>, JsValue> {
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        text(v, what).map(Some)
    }
}

fn params(v: &JsValue, default_limit: i64, order: SortOrder) -> Result<ReadParams, JsValue> {
    ReadParams::parse(value(v, "params")?.as_ref(), default_limit, order).map_err(error_to_js)
}

fn resolve(v: &JsValue) -> Result<ResolveData, JsValue> {
    Ok(params(v, 1, SortOrder::Asc)?.resolve_data)
}

#[wasm_bindgen(js_name = createEvent)]
pub async fn create_event(
    db: JsValue,
    run_id: JsValue,
    data: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let run_id = optional_text(&run_id, "runId")?;
    let data = value(&data, "data")?.unwrap_or(Value::Null);
    let resolve = resolve(&params)?;
    let result = store::create_event(&db, &SystemClock, run_id.as_deref(), &data, resolve)
        .await
        .map_err(error_to_js)?;
    Ok(interop::event_result_js(&result))
}

#[wasm_bindgen(js_name = getRun)]
pub async fn get_run(db: JsValue, run_id: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let run = store::get_run(&db, &text(&run_id, "runId")?, resolve(&params)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::run_js(&run))
}

#[wasm_bindgen(js_name = listRuns)]
pub async fn list_runs(db: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let page = store::list_runs(&db, &self::params(&params, 20, SortOrder::Desc)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::page_js(&page, interop::run_js))
}

#[wasm_bindgen(js_name = getStep)]
pub async fn get_step(
    db: JsValue,
    run_id: JsValue,
    step_id: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let run_id = optional_text(&run_id, "runId")?;
    let step = store::get_step(
        &db,
        run_id.as_deref(),
        &text(&step_id, "stepId")?,
        resolve(&params)?,
    )
    .await
    .map_err(error_to_js)?;
    Ok(interop::step_js(&step))
}

#[wasm_bindgen(js_name = listSteps)]
pub async fn list_steps(db: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let page = store::list_steps(&db, &self::params(&params, 20, SortOrder::Desc)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::page_js(&page, interop::step_js))
}

#[wasm_bindgen(js_name = getEvent)]
pub async fn get_event(
    db: JsValue,
    run_id: JsValue,
    event_id: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let event = store::get_event(
        &db,
        &text(&run_id, "runId")?,
        &text(&event_id, "eventId")?,
        resolve(&params)?,
    )
    .await
    .map_err(error_to_js)?;
    Ok(interop::event_js(&event))
}

/// `events.list` and `events.listByCorrelationId`: the params say which.
#[wasm_bindgen(js_name = listEvents)]
pub async fn list_events(db: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let page = store::list_events(&db, &self::params(&params, 100, SortOrder::Asc)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::page_js(&page, interop::event_js))
}

#[wasm_bindgen(js_name = getHook)]
pub async fn get_hook(db: JsValue, hook_id: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let hook = store::get_hook(&db, &text(&hook_id, "hookId")?, resolve(&params)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::hook_js(&hook))
}

#[wasm_bindgen(js_name = getHookByToken)]
pub async fn get_hook_by_token(
    db: JsValue,
    token: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let hook = store::get_hook_by_token(&db, &text(&token, "token")?, resolve(&params)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::hook_js(&hook))
}

#[wasm_bindgen(js_name = listHooks)]
pub async fn list_hooks(db: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    let db = database(db)?;
    let page = store::list_hooks(&db, &self::params(&params, 100, SortOrder::Asc)?)
        .await
        .map_err(error_to_js)?;
    Ok(interop::page_js(&page, interop::hook_js))
}
