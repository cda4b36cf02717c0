//! The Worker boundary: the binding externs and their adapters to the core's ports, the one
//! table of binding names, the exported classes (`World`, `Consumer`, `Delivery`), and the
//! checks of the World over HTTP. The values' conversions are the core's `js` module.

mod adapters;
pub mod bindings;
pub mod consumer;
pub mod delivery;
pub mod env;
mod externs;
mod remote;
pub mod world;

pub use consumer::Consumer;
pub use delivery::Delivery;
pub use world::World;
