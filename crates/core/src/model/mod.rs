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

/// The spec version of the 4.x line (`SPEC_VERSION_CURRENT` of `@workflow/world` 4.5.0).
pub const SPEC_VERSION_V4: i64 = 3;
/// The spec version of the 5.x line (`SPEC_VERSION_CURRENT` of `@workflow/world` 5.0.0-beta.37).
pub const SPEC_VERSION_V5: i64 = 7;
/// From this spec version on, a run has attributes (`SPEC_VERSION_SUPPORTS_ATTRIBUTES`):
/// this World serves runs stamped 4 to 7 with the 5.x rules and slot-numbered logs
/// (world-contract-v5 §10: 4 and 5 are never stamped, and are treated as 6).
pub const SPEC_VERSION_FIRST_V5: i64 = 4;
/// The first spec version a core stamps on slot runs (core 5: 6 and 7; 4 and 5 are never stamped).
pub const SPEC_VERSION_FIRST_STAMPED_V5: i64 = 6;

/// The runtime line a World serves: `workflow` 4.x (spec 3) or 5.x (spec 7). A run is
/// served by the rules of the spec version it was created with, whichever line writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Line {
    V4,
    V5,
}

impl Line {
    /// The spec version this line stamps on what it creates, and the highest it serves.
    pub fn spec_version(self) -> i64 {
        match self {
            Line::V4 => SPEC_VERSION_V4,
            Line::V5 => SPEC_VERSION_V5,
        }
    }

    /// `createWorld(env, { specVersion })`: absent is the 4.x line, as before lines existed.
    pub fn from_option(spec_version: Option<i64>) -> Result<Line, WorldError> {
        match spec_version {
            None => Ok(Line::V4),
            Some(v) if v == Line::V4.spec_version() => Ok(Line::V4),
            Some(v) if v == Line::V5.spec_version() => Ok(Line::V5),
            Some(v) => Err(WorldError::invalid(
                "INVALID_OPTIONS",
                format!("createWorld: `specVersion` {v} is not a line this World serves; allowed: 3 (workflow 4.x, the default) or 7 (workflow 5.x)"),
            )),
        }
    }

    /// The line whose rules serve a run stamped `spec_version` (or a message for it).
    pub fn of_run(spec_version: Option<i64>) -> Line {
        if spec_version.is_some_and(|v| v >= SPEC_VERSION_FIRST_V5) {
            Line::V5
        } else {
            Line::V4
        }
    }
}
