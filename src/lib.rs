//! Core of `@workflow/world-cloudflare`: the event-sourced storage of a Workflow DevKit
//! World on Cloudflare D1. `engine` decides, `store` talks SQL, and the exports below
//! are the only door to JS (see ARCHITECTURE.md).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
// `WorldError` carries every field a JS error class may need; errors are the cold path,
// so its size in `Result` is not worth boxing.
#![allow(clippy::result_large_err)]

pub mod blobs;
pub mod engine;
pub mod model;
pub mod queue;
pub mod store;
pub mod stream;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod testing;

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
pub mod exports;
#[cfg(target_arch = "wasm32")]
mod interop;
