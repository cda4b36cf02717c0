//! Run attributes of spec ≥ 4 runs (world-contract-v5 §4.2, §4.5): what a change may be,
//! and the reserved `$retention` attribute's meaning.

use crate::model::value::{self, Value};
use crate::model::{Attributes, ErrorName, WorldError};

pub const KEY_MAX_LENGTH: usize = 256;
pub const VALUE_MAX_BYTES: usize = 256;
pub const MAX_PER_RUN: usize = 64;
/// The JSON size an `attr_set`'s `eventData` may take.
pub const EVENT_DATA_MAX_BYTES: usize = 8192;
pub const RESERVED_PREFIX: &str = "$";
pub const RETENTION: &str = "$retention";

/// One change: a value sets the key, `None` removes it.
pub type Change = (String, Option<String>);

fn refused(message: String) -> WorldError {
    WorldError::new(ErrorName::AttributeValidation, message)
}

/// `validateAttributeChanges`: every key and value, then the batch (no key twice, at most
/// [`MAX_PER_RUN`] keys after the merge into `existing`).
pub fn validate(
    changes: &[Change],
    existing: &Attributes,
    allow_reserved: bool,
) -> Result<(), WorldError> {
    for (key, value) in changes {
        if key.is_empty() {
            return Err(refused("Attribute key must not be empty".into()));
        }
        let length = key.encode_utf16().count();
        if length > KEY_MAX_LENGTH {
            let head: String = key.chars().take(32).collect();
            return Err(refused(format!(
                "Attribute key length {length} exceeds limit {KEY_MAX_LENGTH}: {head:?}…"
            )));
        }
        if !allow_reserved && key.starts_with(RESERVED_PREFIX) {
            return Err(refused(format!(
                "Attribute key {key:?} starts with reserved prefix \"{RESERVED_PREFIX}\": that namespace is reserved for framework code; allowed: keys without the prefix, or {{ allowReservedAttributes: true }} from framework code"
            )));
        }
        if let Some(v) = value {
            if v.len() > VALUE_MAX_BYTES {
                return Err(refused(format!(
                    "Attribute value byte length {} exceeds limit {VALUE_MAX_BYTES}",
                    v.len()
                )));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut count = existing.0.len() as i64;
    for (key, value) in changes {
        if !seen.insert(key.as_str()) {
            return Err(refused(format!(
                "Attribute key {key:?} appears more than once in the same batch"
            )));
        }
        let present = existing.get(key).is_some();
        count += match (value, present) {
            (None, true) => -1,
            (Some(_), false) => 1,
            _ => 0,
        };
    }
    if count > MAX_PER_RUN as i64 {
        return Err(refused(format!(
            "Run attribute count would exceed limit {MAX_PER_RUN} (post-merge {count})"
        )));
    }
    Ok(())
}

/// An attribute map as sent (`run_created.eventData.attributes`): strings to strings.
pub fn parse_map(v: Option<&Value>, field: &str) -> Result<Vec<Change>, WorldError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Map(entries)) => entries
            .iter()
            .map(|(k, v)| match (k, v) {
                (Value::Text(k), Value::Text(v)) => Ok((k.clone(), Some(v.clone()))),
                (Value::Text(k), other) => Err(refused(format!(
                    "Attribute value of {k:?} in `{field}` must be a string, got {}",
                    value::kind(other)
                ))),
                _ => Err(refused(format!("`{field}` keys must be strings"))),
            })
            .collect(),
        Some(other) => Err(refused(format!(
            "`{field}` must be an object of strings, got {}",
            value::kind(other)
        ))),
    }
}

/// `attr_set.eventData.changes`: `[{key, value: string | null}]`.
pub fn parse_changes(v: Option<&Value>) -> Result<Vec<Change>, WorldError> {
    let Some(Value::Array(items)) = v else {
        return Err(refused(
            "`eventData.changes` must be an array of {key, value}".into(),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let key = match value::get(item, "key") {
                Some(Value::Text(k)) => k.clone(),
                other => {
                    return Err(refused(format!(
                        "Attribute key must be a string, got {} (change #{i})",
                        other.map_or("undefined", value::kind)
                    )))
                }
            };
            let value = match value::get(item, "value") {
                Some(Value::Text(v)) => Some(v.clone()),
                Some(Value::Null) => None,
                other => {
                    return Err(refused(format!(
                        "Attribute value must be a string or null, got {} (change #{i})",
                        other.map_or("undefined", value::kind)
                    )))
                }
            };
            Ok((key, value))
        })
        .collect()
}

/// `$retention` is `'0'`: the run's user data goes when it ends (`readRunRetention`). Any
/// other value, or none, keeps it.
pub fn purges_on_finish(attributes: &Attributes) -> bool {
    attributes.get(RETENTION) == Some("0")
}

/// The JSON size of `eventData`, as `validateAttributeEventDataSize` measures it, for the
/// values an `attr_set` carries (strings, null, booleans, numbers, arrays, objects).
pub fn json_size(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Integer(i) => i128::from(*i).to_string().len(),
        Value::Float(f) => f.to_string().len(),
        Value::Text(t) => json_string_size(t),
        Value::Array(items) => {
            2 + items.iter().map(json_size).sum::<usize>() + items.len().saturating_sub(1)
        }
        Value::Map(entries) => {
            2 + entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Text(t) => json_string_size(t),
                        other => json_size(other),
                    };
                    key + 1 + json_size(v)
                })
                .sum::<usize>()
                + entries.len().saturating_sub(1)
        }
        _ => 4,
    }
}

fn json_string_size(t: &str) -> usize {
    2 + t
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str, v: &str) -> Change {
        (k.into(), Some(v.into()))
    }

    #[test]
    fn keys_values_and_counts_are_checked() {
        let none = Attributes::default();
        assert!(validate(&[set("a", "1")], &none, false).is_ok());
        let e = validate(&[set("$retention", "0")], &none, false).unwrap_err();
        assert_eq!(e.name, ErrorName::AttributeValidation);
        assert!(e.message.contains("reserved prefix"), "{}", e.message);
        assert!(validate(&[set("$retention", "0")], &none, true).is_ok());
        assert!(validate(&[set(&"k".repeat(257), "v")], &none, false).is_err());
        assert!(validate(&[set(&"k".repeat(256), "v")], &none, false).is_ok());
        assert!(validate(&[set("k", &"v".repeat(257))], &none, false).is_err());
        assert!(validate(&[set("", "v")], &none, false).is_err());
        assert!(validate(&[set("a", "1"), set("a", "2")], &none, false)
            .unwrap_err()
            .message
            .contains("more than once"));
        let many: Vec<Change> = (0..65).map(|i| set(&format!("k{i}"), "v")).collect();
        assert!(validate(&many, &none, false).is_err());
        assert!(validate(&many[..64], &none, false).is_ok());
        // removing an existing key makes room
        let full = Attributes((0..64).map(|i| (format!("k{i}"), "v".into())).collect());
        assert!(validate(&[set("new", "v")], &full, false).is_err());
        assert!(validate(&[("k0".into(), None), set("new", "v")], &full, false).is_ok());
    }

    #[test]
    fn retention_zero_alone_purges() {
        let with = |v: &str| Attributes(vec![(RETENTION.into(), v.into())]);
        assert!(purges_on_finish(&with("0")));
        for v in ["default", "7", " 0", "0.0", "-0"] {
            assert!(!purges_on_finish(&with(v)), "{v}");
        }
        assert!(!purges_on_finish(&Attributes::default()));
    }

    #[test]
    fn json_sizes_match_json_stringify() {
        let v = Value::Map(vec![
            (
                Value::Text("changes".into()),
                Value::Array(vec![Value::Null, Value::Text("a\"b".into())]),
            ),
            (Value::Text("n".into()), Value::Integer(12.into())),
        ]);
        // {"changes":[null,"a\"b"],"n":12}
        assert_eq!(json_size(&v), r#"{"changes":[null,"a\"b"],"n":12}"#.len());
    }
}
