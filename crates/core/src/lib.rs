//! The World of `@workflow/world-cloudflare` without its Worker: the Workflow DevKit's
//! event store, queue and streams on D1, Queues and R2, reached only through the traits in
//! `ports`. The wasm crate at the repository root (src/) binds it to a Worker's env.
//!
//! - `model`: the contract's entities, payload values, ids, read params and errors (plain data).
//! - `engine`: the event state machine; decides a plan of guarded writes. Pure.
//! - `store`: events and entities in D1 (a plan as one atomic batch, and the reads).
//! - `queue`: messages on Cloudflare Queues (idempotency, delivery, delays, dead letters).
//! - `stream`: stream chunks in D1 segments and R2.
//! - `encryption`: per-run keys derived from the deployment's secret.
//! - `calls`: the Rust `World`'s calls, and the members of the contract's World they answer.
//! - `remote`: who may call the World over HTTP (signatures, served-once claims).
//! - `signed_header`: the one HMAC header scheme of HTTP deliveries and the World over HTTP.
//! - `sql`, `ports`: statements as data, and the traits the flows do their I/O through.
//! - `js` (feature `js` only): the model's JS forms, the TypeScript declarations of what
//!   crosses (tsify), and the conversions both ways.
//!
//! Without the `js` feature nothing here can name wasm-bindgen, js-sys or web-sys: they are
//! not in the dependency tree (`cargo tree -p world-cloudflare-core`), and this crate's
//! tests build and run natively that way.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
// `WorldError` carries every field a JS error class may need; errors are the cold path,
// so its size in `Result` is not worth boxing.
#![allow(clippy::result_large_err)]

pub mod calls;
pub mod encryption;
pub mod engine;
#[cfg(feature = "js")]
pub mod js;
pub mod model;
pub mod ports;
pub mod queue;
pub mod remote;
pub mod signed_header;
pub mod sql;
pub mod store;
pub mod stream;
#[cfg(all(test, not(feature = "js")))]
mod testing;
