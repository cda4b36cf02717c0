//! The exported `World`, run in Node 22 (`wasm-pack test --node`) over a D1-compatible
//! adapter on `node:sqlite`: the JS ⇄ Rust conversions, the D1 binding path and the
//! error objects, as JS sees them. (The conformance suite runs the same class against
//! real D1 in workerd.)
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Date, Object, Promise, Reflect, Uint8Array};
use tsify::Ts;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use world_cloudflare::wasm::World;

#[wasm_bindgen(module = "/tests/support/sqlite-d1.mjs")]
extern "C" {
    /// An in-memory D1 with every migration of `migrations_dir` applied.
    #[wasm_bindgen(js_name = sqliteD1)]
    fn sqlite_d1_at(migrations_dir: &str) -> JsValue;
}

fn sqlite_d1() -> JsValue {
    sqlite_d1_at(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
}

/// A run id of now, from the `ulid` crate.
fn ulid_now() -> String {
    let random = (js_sys::Math::random() * 2f64.powi(52)) as u128;
    format!(
        "wrun_{}",
        ulid::Ulid::from_parts(js_sys::Date::now() as u64, random << 28)
    )
}

fn event(event_type: &str, correlation_id: JsValue, event_data: JsValue) -> JsValue {
    obj(&[
        ("eventType", event_type.into()),
        ("correlationId", correlation_id),
        ("eventData", event_data),
    ])
}

/// A World over an `env` whose `DB` is `db`.
fn world(db: &JsValue) -> World {
    let env = Object::new();
    Reflect::set(&env, &"DB".into(), db).unwrap();
    World::new(env.into(), None).unwrap()
}

/// The 5.x World (`{ specVersion: 7 }`) over the same `env`.
fn world_v5(db: &JsValue) -> World {
    let env = Object::new();
    Reflect::set(&env, &"DB".into(), db).unwrap();
    let options = obj(&[("specVersion", 7.into())]);
    World::new(env.into(), Some(Ts::new_unchecked(options))).unwrap()
}

async fn settle(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

fn optional<T: tsify::Tsify>(v: JsValue) -> Option<Ts<T>> {
    (!v.is_undefined()).then(|| Ts::new_unchecked(v))
}

async fn create_event(
    db: JsValue,
    run_id: JsValue,
    data: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    settle(world(&db).create_event(run_id, Ts::new_unchecked(data), optional(params))).await
}

async fn get_run(db: JsValue, run_id: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    settle(world(&db).get_run(run_id, optional(params))).await
}

async fn get_step(
    db: JsValue,
    run_id: JsValue,
    step_id: JsValue,
    params: JsValue,
) -> Result<JsValue, JsValue> {
    settle(world(&db).get_step(run_id, step_id, optional(params))).await
}

async fn list_events(db: JsValue, params: JsValue) -> Result<JsValue, JsValue> {
    settle(world(&db).list_events(optional(params))).await
}

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &key.into()).unwrap()
}

fn obj(entries: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in entries {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o.into()
}

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

async fn create(db: &JsValue, run_id: &str, e: JsValue) -> Result<JsValue, JsValue> {
    create_event(db.clone(), run_id.into(), e, JsValue::UNDEFINED).await
}

async fn started_run(db: &JsValue) -> String {
    let run_id = ulid_now();
    let data = obj(&[
        ("deploymentId", "d".into()),
        ("workflowName", "w".into()),
        ("input", bytes(&[0, 1, 0])),
    ]);
    create(db, &run_id, event("run_created", JsValue::UNDEFINED, data))
        .await
        .unwrap();
    create(
        db,
        &run_id,
        event("run_started", JsValue::UNDEFINED, JsValue::UNDEFINED),
    )
    .await
    .unwrap();
    run_id
}

#[wasm_bindgen_test]
async fn payloads_come_back_as_uint8array_and_dates_as_date() {
    let db = sqlite_d1();
    let run_id = started_run(&db).await;
    let run = get_run(db.clone(), run_id.clone().into(), JsValue::UNDEFINED)
        .await
        .unwrap();
    let input = get(&run, "input");
    assert!(input.is_instance_of::<Uint8Array>());
    assert_eq!(Uint8Array::from(input).to_vec(), vec![0, 1, 0]);
    assert!(get(&run, "startedAt").is_instance_of::<Date>());
    assert!(get(&run, "output").is_undefined() && !Reflect::has(&run, &"output".into()).unwrap());

    let resume_at = Date::new(&JsValue::from_f64(1_764_000_000_123.0));
    let nested = obj(&[
        ("resumeAt", resume_at.into()),
        (
            "note",
            obj(&[("list", Array::of2(&1.into(), &"x".into()).into())]),
        ),
    ]);
    create(&db, &run_id, event("wait_created", "wait_1".into(), nested))
        .await
        .unwrap();
    let page = list_events(db.clone(), obj(&[("runId", run_id.clone().into())]))
        .await
        .unwrap();
    let events = Array::from(&get(&page, "data"));
    let wait = events.get(2);
    let data = get(&wait, "eventData");
    let back = get(&data, "resumeAt");
    assert!(back.is_instance_of::<Date>());
    assert_eq!(Date::from(back).get_time(), 1_764_000_000_123.0);
    assert_eq!(Array::from(&get(&get(&data, "note"), "list")).get(1), "x");
}

#[wasm_bindgen_test]
async fn errors_are_named_as_core_checks_them() {
    let db = sqlite_d1();
    let run_id = started_run(&db).await;
    let step = obj(&[("stepName", "s".into())]);
    create(
        &db,
        &run_id,
        event("step_created", "step_1".into(), step.clone()),
    )
    .await
    .unwrap();
    let dup = create(&db, &run_id, event("step_created", "step_1".into(), step))
        .await
        .unwrap_err();
    assert!(dup.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&dup, "name"), "EntityConflictError");

    let missing = get_run(db.clone(), ulid_now().into(), JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert_eq!(get(&missing, "name"), "WorkflowRunNotFoundError");
    assert!(get(&missing, "runId").is_string());

    let step = get_step(
        db.clone(),
        JsValue::UNDEFINED,
        "step_nope".into(),
        JsValue::UNDEFINED,
    )
    .await
    .unwrap_err();
    assert_eq!(
        (get(&step, "name"), get(&step, "status")),
        ("WorkflowWorldError".into(), 404.into())
    );

    let retry_at = Date::new(&JsValue::from_f64(js_sys::Date::now() + 30_000.0));
    let retrying = obj(&[("error", "e".into()), ("retryAfter", retry_at.into())]);
    create(
        &db,
        &run_id,
        event("step_retrying", "step_1".into(), retrying),
    )
    .await
    .unwrap();
    let early = create(
        &db,
        &run_id,
        event("step_started", "step_1".into(), JsValue::UNDEFINED),
    )
    .await
    .unwrap_err();
    assert_eq!(get(&early, "name"), "TooEarlyError");
    let seconds = get(&early, "retryAfter").as_f64().unwrap();
    assert!((29.0..=30.0).contains(&seconds), "{seconds}");
}

#[wasm_bindgen_test]
async fn bad_input_is_refused_by_name_and_stores_nothing() {
    let db = sqlite_d1();
    let run_id = started_run(&db).await;
    let bigint = js_sys::BigInt::from(5u32);
    let bad = create(
        &db,
        &run_id,
        event(
            "step_created",
            "step_1".into(),
            obj(&[("stepName", "s".into()), ("input", bigint.into())]),
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (get(&bad, "name"), get(&bad, "status")),
        ("WorkflowWorldError".into(), 400.into())
    );
    assert!(get(&bad, "message")
        .as_string()
        .unwrap()
        .contains("eventData.input"));

    let unknown = create(
        &db,
        &run_id,
        event("run_teleported", JsValue::UNDEFINED, JsValue::UNDEFINED),
    )
    .await
    .unwrap_err();
    assert!(get(&unknown, "message")
        .as_string()
        .unwrap()
        .contains("unknown eventType 'run_teleported'"));

    let not_ulid = create(
        &db,
        "wrun_nope",
        event("step_started", "s".into(), JsValue::UNDEFINED),
    )
    .await
    .unwrap_err();
    assert!(get(&not_ulid, "message")
        .as_string()
        .unwrap()
        .contains("is not a valid ULID"));

    let page = list_events(db.clone(), obj(&[("runId", run_id.into())]))
        .await
        .unwrap();
    assert_eq!(Array::from(&get(&page, "data")).length(), 2);
}

#[wasm_bindgen_test]
async fn a_missing_binding_is_a_clear_error() {
    let e = get_run(JsValue::UNDEFINED, "wrun_x".into(), JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert!(get(&e, "message")
        .as_string()
        .unwrap()
        .contains("D1 binding is missing"));
}

/// Core 5 passes functions (`replayEventObserver`) and telemetry in `events.create`'s params:
/// the boundary converts only the fields the World reads, so they are ignored, not refused.
#[wasm_bindgen_test]
async fn the_5x_world_reads_only_its_params_and_answers_slot_ids() {
    let db = sqlite_d1();
    let w = world_v5(&db);
    let run_id = ulid_now();
    let data = obj(&[
        ("deploymentId", "d".into()),
        ("workflowName", "w".into()),
        ("input", bytes(&[1])),
    ]);
    settle(w.create_event(
        run_id.clone().into(),
        Ts::new_unchecked(event("run_created", JsValue::UNDEFINED, data)),
        None,
    ))
    .await
    .unwrap();
    let observer = js_sys::Function::new_no_args("return 1");
    let params = obj(&[
        ("skipPreload", true.into()),
        ("replayEventObserver", observer.into()),
        ("requestId", "req_1".into()),
    ]);
    let started = settle(w.create_event(
        run_id.clone().into(),
        Ts::new_unchecked(event("run_started", JsValue::UNDEFINED, JsValue::UNDEFINED)),
        Some(Ts::new_unchecked(params)),
    ))
    .await
    .unwrap();
    assert_eq!(
        get(&get(&started, "event"), "eventId").as_string().unwrap(),
        "evnt_00000000000000000000000002"
    );
    assert!(
        get(&started, "events").is_undefined(),
        "skipPreload was read"
    );
    assert_eq!(w.spec_version(), 7);
}
