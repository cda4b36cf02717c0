//! Core of `@workflow/world-cloudflare`: a Workflow DevKit World whose state lives on
//! Cloudflare D1, Queues and R2.
//!
//! - `model`: the contract's entities, payload values, ids, read params and errors (plain data).
//! - `engine`: the event state machine; decides a plan of guarded writes. Pure.
//! - `store`: events and entities in D1 (a plan as one atomic batch, and the reads).
//! - `queue`: messages on Cloudflare Queues (idempotency, delivery, delays, dead letters).
//! - `stream`: stream chunks in D1 segments and R2.
//! - `encryption`: per-run keys derived from the deployment's secret.
//! - `remote`: who may call the World over HTTP (signatures, served-once claims).
//! - `signed_header`: the one HMAC header scheme of HTTP deliveries and the World over HTTP.
//! - `sql`, `ports`: statements as data, and the traits the flows do their I/O through.
//! - `wasm` (wasm32 only): the JS boundary, and the only module that names wasm-bindgen,
//!   js-sys or web-sys.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
// `WorldError` carries every field a JS error class may need; errors are the cold path,
// so its size in `Result` is not worth boxing.
#![allow(clippy::result_large_err)]

pub mod encryption;
pub mod engine;
pub mod model;
pub mod ports;
pub mod queue;
pub mod remote;
pub mod signed_header;
pub mod sql;
pub mod store;
pub mod stream;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod testing;
#[cfg(target_arch = "wasm32")]
pub mod wasm;
