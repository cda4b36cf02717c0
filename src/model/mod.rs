//! Plain data: the entities of the contract (§2), the dynamic value that payloads are
//! made of, ids, and the error every layer ends in. No I/O, no JS.

pub mod entities;
pub mod error;
pub mod ids;
pub mod params;
pub mod shapes;
pub mod value;

pub use entities::*;
pub use error::{ErrorName, WorldError};
pub use shapes::{Bytes, Cursor, Payload, Timestamp};
pub use value::Value;

/// Epoch milliseconds: every timestamp crosses layers in this unit (contract §2.1).
pub type Millis = i64;

/// The spec version this World implements (`SPEC_VERSION_CURRENT`, contract §1.1).
pub const SPEC_VERSION_CURRENT: i64 = 3;
