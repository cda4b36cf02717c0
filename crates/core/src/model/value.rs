//! The dynamic value that payloads, `eventData` and `executionContext` are made of.
//!
//! It is CBOR's data model: unlike JSON it has byte strings (SerializedData is
//! `Uint8Array` and may hold `0x00`, contract §2.1 and §7.1) and tags, of which we use
//! tag 1 (epoch date) for JS `Date`s. Map entries keep their insertion order.

pub use ciborium::Value;

use super::Millis;

/// CBOR tag 1: a date as seconds since the epoch (RFC 8949 §3.4.2).
const EPOCH_DATE_TAG: u64 = 1;

pub fn date(ms: Millis) -> Value {
    Value::Tag(EPOCH_DATE_TAG, Box::new(Value::Float(ms as f64 / 1000.0)))
}

/// The milliseconds of a date value, if `value` is one.
pub fn as_date(value: &Value) -> Option<Millis> {
    match value {
        Value::Tag(EPOCH_DATE_TAG, inner) => match inner.as_ref() {
            Value::Float(seconds) => Some((seconds * 1000.0).round() as Millis),
            Value::Integer(seconds) => i64::try_from(i128::from(*seconds)).ok().map(|s| s * 1000),
            _ => None,
        },
        _ => None,
    }
}

/// A private tag: a field that is present and `undefined`, which JSON-like data cannot say
/// (a purged event keeps its ref fields so, world-contract-v5 §4.4). Inbound values never
/// carry it: the JS walker makes tags only for dates.
const UNDEFINED_TAG: u64 = 0x75_6e_64_65_66; // "undef"

pub fn undefined() -> Value {
    Value::Tag(UNDEFINED_TAG, Box::new(Value::Null))
}

pub fn is_undefined(value: &Value) -> bool {
    matches!(value, Value::Tag(UNDEFINED_TAG, _))
}

pub fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

pub fn text(key: &str, value: impl Into<String>) -> (Value, Value) {
    (Value::Text(key.to_owned()), Value::Text(value.into()))
}

pub fn entry(key: &str, value: Value) -> (Value, Value) {
    (Value::Text(key.to_owned()), value)
}

/// A copy of `value` without the entries named in `keys` (maps only).
pub fn without(value: &Value, keys: &[&str]) -> Value {
    match value {
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .filter(|(k, _)| !matches!(k, Value::Text(t) if keys.contains(&t.as_str())))
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    }
}

pub fn to_cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every Value is encodable.
    let _ = ciborium::into_writer(value, &mut out);
    out
}

pub fn from_cbor(bytes: &[u8]) -> Result<Value, String> {
    ciborium::from_reader(bytes).map_err(|e| format!("stored value is not valid CBOR: {e}"))
}

pub fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(i) => i64::try_from(i128::from(*i)).ok(),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => Some(*f as i64),
        _ => None,
    }
}

/// Any number, as a float.
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(i) => Some(i128::from(*i) as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// A short name of the value's kind, for error messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Integer(_) | Value::Float(_) => "number",
        Value::Text(_) => "string",
        Value::Bytes(_) => "Uint8Array",
        Value::Array(_) => "array",
        Value::Map(_) => "object",
        Value::Tag(EPOCH_DATE_TAG, _) => "Date",
        _ => "unsupported value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_to_the_millisecond() {
        for ms in [0, 1, 999, 1_732_000_000_123, 4_102_444_800_001, -1] {
            assert_eq!(as_date(&date(ms)), Some(ms));
        }
    }

    #[test]
    fn cbor_keeps_bytes_with_nul_and_map_order() {
        let v = Value::Map(vec![
            entry("z", Value::Bytes(vec![0, 1, 0, 255])),
            entry("a", date(1_732_000_000_123)),
        ]);
        assert_eq!(from_cbor(&to_cbor(&v)).unwrap(), v);
    }
}
