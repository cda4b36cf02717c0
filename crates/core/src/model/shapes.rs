//! The kinds of value whose JS form is not what serde alone would make of them. Core
//! checks `instanceof Date` and `instanceof Uint8Array` (contract §0.3) and pages carry
//! `cursor: null`, so these newtypes carry their own `Serialize`: for `Timestamp`,
//! `Payload` and `Cursor` with the `js` feature the boundary's (`src/js.rs`: a real `Date`,
//! the payload as a JS value, `null`), natively the plain forms below (epoch milliseconds,
//! the CBOR value, an option). `Bytes` are serde bytes, which serde-wasm-bindgen makes a
//! `Uint8Array`.

use super::{Millis, Value};

/// A point in time, in epoch milliseconds; a `Date` in JS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", tsify(type = "Date"))]
pub struct Timestamp(pub Millis);

/// An opaque payload (`input`, `output`, `eventData`…): any JSON value, `Uint8Array`s and
/// `Date`s included, kept as the CBOR value that encodes it (`src/model/value.rs`).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", tsify(type = "unknown"))]
pub struct Payload(pub Value);

/// A page's cursor: `null` in JS when there is none (contract §2.9), never `undefined`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", tsify(type = "string | null"))]
pub struct Cursor(pub Option<String>);

/// Raw bytes; a `Uint8Array` in JS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", tsify(type = "Uint8Array"))]
pub struct Bytes(pub Vec<u8>);

impl serde::Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl From<Millis> for Timestamp {
    fn from(ms: Millis) -> Timestamp {
        Timestamp(ms)
    }
}

impl std::ops::Deref for Payload {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl std::ops::Deref for Cursor {
    type Target = Option<String>;
    fn deref(&self) -> &Option<String> {
        &self.0
    }
}

#[cfg(not(feature = "js"))]
mod native {
    use super::{Cursor, Payload, Timestamp};
    use serde::{Serialize, Serializer};

    impl Serialize for Timestamp {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_i64(self.0)
        }
    }

    impl Serialize for Payload {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.0.serialize(s)
        }
    }

    impl Serialize for Cursor {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.0.serialize(s)
        }
    }
}
