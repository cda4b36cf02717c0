//! The JS boundary, and the only module that names `wasm_bindgen`, `js_sys` or `web_sys`:
//! the binding externs and their adapters to the ports, the one table of binding names,
//! the conversions, and the exported `World` class and `Delivery` handle.

mod adapters;
pub mod convert;
pub mod delivery;
pub mod env;
mod externs;
pub mod world;

pub use delivery::Delivery;
pub use world::World;
