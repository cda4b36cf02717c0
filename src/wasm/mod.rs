//! The JS boundary, and the only module that names `wasm_bindgen`, `js_sys` or `web_sys`:
//! the binding externs and their adapters to the ports, the one table of binding names,
//! the conversions, the exported `World` class and `Delivery` handle, and the checks of
//! the World over HTTP.

mod adapters;
pub mod bindings;
pub mod consumer;
pub mod convert;
pub mod delivery;
pub mod env;
mod externs;
mod remote;
pub mod world;

pub use consumer::Consumer;
pub use delivery::Delivery;
pub use world::World;
