//! `@workflow/world-cloudflare`'s wasm: the World of `world-cloudflare-core`
//! (crates/core) bound to a Worker's env. `wasm` is the Worker boundary: the binding
//! externs and their adapters to the core's ports, and the classes JS calls. The core's
//! modules are re-exported under their own names.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
// As in the core: `WorldError` is the cold path, not worth boxing.
#![allow(clippy::result_large_err)]

pub use world_cloudflare_core::{
    calls, encryption, engine, js, model, ports, queue, remote, signed_header, sql, store, stream,
};
#[cfg(target_arch = "wasm32")]
pub mod wasm;
