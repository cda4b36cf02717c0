//! Read parameters (`resolveData`, `pagination`) as the contract's readers send them (§4).

use super::value::{self, Value};
use super::WorldError;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "lowercase")]
pub enum ResolveData {
    #[default]
    All,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    Desc,
}

/// The params every read takes, as JS sends them (contract §4); each reader uses the
/// fields that apply to it. [`ReadParams::parse`] checks them.
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", serde(rename_all = "camelCase", default))]
pub struct ReadParamsInput {
    pub resolve_data: ResolveData,
    pub pagination: PaginationInput,
    pub run_id: String,
    pub workflow_name: String,
    #[cfg_attr(feature = "js", tsify(type = "RunStatus | RunStatus[]"))]
    pub status: super::RunStatus,
    pub correlation_id: String,
}

#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", serde(rename_all = "camelCase", default))]
pub struct PaginationInput {
    pub limit: i64,
    pub cursor: String,
    pub sort_order: SortOrder,
}

/// The documented page maximum (§7.1); larger requests are clamped to it.
pub const MAX_PAGE_SIZE: i64 = 1000;

#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub limit: i64,
    /// No `limit` was given (`limit` is then the reader's default).
    pub unlimited: bool,
    pub cursor: Option<String>,
    pub sort_order: SortOrder,
}

/// Everything a read may be given; each reader uses the fields that apply to it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadParams {
    pub resolve_data: ResolveData,
    pub page: Page,
    pub run_id: Option<String>,
    pub workflow_name: Option<String>,
    /// `runs.list`'s `status`: one status, or (5.x) any of several; `[]` matches nothing.
    pub status: Option<Vec<String>>,
    pub correlation_id: Option<String>,
}

fn optional_text(params: &Value, key: &str) -> Result<Option<String>, WorldError> {
    match value::get(params, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Text(t)) => Ok(Some(t.clone())),
        Some(other) => Err(WorldError::invalid(
            "INVALID_PARAMS",
            format!(
                "Invalid `{key}`: expected a string, got {}",
                value::kind(other)
            ),
        )),
    }
}

impl ReadParams {
    /// Parses `params` (absent, `undefined` or an object) with the reader's defaults.
    pub fn parse(
        params: Option<&Value>,
        default_limit: i64,
        default_order: SortOrder,
    ) -> Result<ReadParams, WorldError> {
        let empty = Value::Map(Vec::new());
        let params = match params {
            None | Some(Value::Null) => &empty,
            Some(p @ Value::Map(_)) => p,
            Some(other) => {
                return Err(WorldError::invalid(
                    "INVALID_PARAMS",
                    format!(
                        "Invalid read parameters: expected an object, got {}",
                        value::kind(other)
                    ),
                ))
            }
        };
        let resolve_data = one_of(
            value::get(params, "resolveData"),
            ("INVALID_PARAMS", "resolveData"),
            ResolveData::All,
            &[("all", ResolveData::All), ("none", ResolveData::None)],
        )?;
        let pagination = value::get(params, "pagination").unwrap_or(&empty);
        let limit = page_limit(
            value::get(pagination, "limit"),
            "pagination.limit",
            default_limit,
        )?;
        let sort_order = one_of(
            value::get(pagination, "sortOrder"),
            ("INVALID_PAGINATION", "pagination.sortOrder"),
            default_order,
            &[("asc", SortOrder::Asc), ("desc", SortOrder::Desc)],
        )?;
        Ok(ReadParams {
            resolve_data,
            page: Page {
                limit,
                unlimited: matches!(value::get(pagination, "limit"), None | Some(Value::Null)),
                // An empty cursor is none: `workflow` 4.x's CLI sends `''` for "from the
                // beginning", and world-local reads it so.
                cursor: optional_text(pagination, "cursor")?.filter(|c| !c.is_empty()),
                sort_order,
            },
            run_id: optional_text(params, "runId")?,
            workflow_name: optional_text(params, "workflowName")?,
            status: match value::get(params, "status") {
                None | Some(Value::Null) => None,
                Some(Value::Text(t)) => Some(vec![t.clone()]),
                Some(Value::Array(items)) => Some(
                    items
                        .iter()
                        .map(|item| match item {
                            Value::Text(t) => Ok(t.clone()),
                            other => Err(WorldError::invalid(
                                "INVALID_PARAMS",
                                format!(
                                    "Invalid `status` entry {}; allowed: status strings",
                                    describe(other)
                                ),
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(other) => {
                    return Err(WorldError::invalid(
                        "INVALID_PARAMS",
                        format!(
                            "Invalid `status`: {}; allowed: a status or an array of statuses",
                            describe(other)
                        ),
                    ))
                }
            },
            correlation_id: optional_text(params, "correlationId")?,
        })
    }
}

/// A field that takes one of a few words: absent or null is `default`; anything else is
/// refused with `code`, naming the field and the words allowed.
fn one_of<T: Copy>(
    v: Option<&Value>,
    (code, field): (&'static str, &str),
    default: T,
    choices: &[(&str, T)],
) -> Result<T, WorldError> {
    let Some(v) = v.filter(|v| !matches!(v, Value::Null)) else {
        return Ok(default);
    };
    let chosen = match v {
        Value::Text(t) => choices.iter().find(|(word, _)| word == t),
        _ => None,
    };
    chosen.map(|&(_, value)| value).ok_or_else(|| {
        let words: Vec<String> = choices.iter().map(|(w, _)| format!("'{w}'")).collect();
        WorldError::invalid(
            code,
            format!(
                "Invalid `{field}`: {}; allowed: {}",
                describe(v),
                words.join(" or ")
            ),
        )
    })
}

/// A page size as a reader is given it (`field` names it in the error): absent is
/// `default`, above [`MAX_PAGE_SIZE`] is clamped, anything but a positive integer refused.
pub fn page_limit(v: Option<&Value>, field: &str, default: i64) -> Result<i64, WorldError> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(v) => match value::integer(v) {
            Some(n) if n >= 1 => Ok(n.min(MAX_PAGE_SIZE)),
            _ => Err(WorldError::invalid(
                "INVALID_PAGINATION",
                format!(
                    "Invalid `{field}`: {}; allowed: an integer from 1 to {MAX_PAGE_SIZE} (larger values are clamped)",
                    describe(v)
                ),
            )),
        },
    }
}

/// `events.create`'s third argument, as this World reads it; anything else in it
/// (`requestId`, `replayEventObserver`, telemetry) is ignored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreateParams {
    pub resolve_data: ResolveData,
    /// 5.x: the highest slot the writer holds (bump and report, world-contract-v5 §3.4).
    pub event_count: Option<i64>,
    /// 5.x: answer the log after this cursor (§3.5).
    pub since_cursor: Option<String>,
    /// 5.x `run_started`: no preloaded log (§3.6).
    pub skip_preload: bool,
    /// 5.x `hook_received`: the resume it commits, and its payload's digest (§4.10).
    pub resume_id: Option<String>,
    pub resume_digest: Option<String>,
}

impl CreateParams {
    pub fn parse(params: Option<&Value>) -> Result<CreateParams, WorldError> {
        let Some(params) = params.filter(|p| !matches!(p, Value::Null)) else {
            return Ok(CreateParams::default());
        };
        let read = ReadParams::parse(Some(params), 1, SortOrder::Asc)?;
        let event_count = match value::get(params, "eventCount") {
            None | Some(Value::Null) => None,
            Some(v) => Some(value::integer(v).filter(|n| *n >= 0).ok_or_else(|| {
                WorldError::invalid(
                    "INVALID_PARAMS",
                    format!(
                        "Invalid `eventCount`: {}; allowed: a non-negative integer (the highest slot the writer holds)",
                        describe(v)
                    ),
                )
            })?),
        };
        let skip_preload = match value::get(params, "skipPreload") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(WorldError::invalid(
                    "INVALID_PARAMS",
                    format!(
                        "Invalid `skipPreload`: {}; allowed: true or false",
                        describe(other)
                    ),
                ))
            }
        };
        Ok(CreateParams {
            resolve_data: read.resolve_data,
            event_count,
            since_cursor: optional_text(params, "sinceCursor")?,
            skip_preload,
            resume_id: optional_text(params, "resumeId")?,
            resume_digest: optional_text(params, "resumePayloadDigest")?,
        })
    }
}

/// A value as an error message shows it: its kind, and its text if it is short.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Text(t) if t.len() <= 64 => format!("'{t}'"),
        Value::Integer(_) | Value::Float(_) => match (value::integer(v), v) {
            (Some(n), _) => n.to_string(),
            (None, Value::Float(f)) if f.is_nan() => "NaN".into(),
            (None, Value::Float(f)) if f.is_infinite() => {
                if *f > 0.0 { "Infinity" } else { "-Infinity" }.into()
            }
            (None, Value::Float(f)) if f.fract() == 0.0 => {
                format!("{f} (not an exact integer: beyond ±2^53)")
            }
            (None, Value::Float(f)) => format!("{f} (not an integer)"),
            (None, _) => "an integer beyond the 64-bit range".into(),
        },
        other => format!("a value of type {}", value::kind(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::{entry, text};

    fn parse(v: Value) -> Result<ReadParams, WorldError> {
        ReadParams::parse(Some(&v), 20, SortOrder::Desc)
    }

    // Regression: every number that is not a safe integer was "a non-integer number",
    // even 2^60 (an integer) or Infinity: the error did not say what was wrong.
    #[test]
    fn numbers_are_described_as_they_are() {
        let d = |f: f64| describe(&Value::Float(f));
        assert_eq!(d(2.5), "2.5 (not an integer)");
        assert_eq!(d(f64::NAN), "NaN");
        assert_eq!(d(f64::INFINITY), "Infinity");
        assert_eq!(d(f64::NEG_INFINITY), "-Infinity");
        assert!(
            d(2f64.powi(60)).contains("beyond ±2^53"),
            "{}",
            d(2f64.powi(60))
        );
        assert_eq!(d(12.0), "12");
    }

    #[test]
    fn defaults_and_clamping() {
        let p = ReadParams::parse(None, 20, SortOrder::Desc).unwrap();
        assert_eq!(
            (p.page.limit, p.page.sort_order, p.resolve_data),
            (20, SortOrder::Desc, ResolveData::All)
        );
        let huge = parse(Value::Map(vec![entry(
            "pagination",
            Value::Map(vec![entry("limit", Value::Integer(5000.into()))]),
        )]))
        .unwrap();
        assert_eq!(huge.page.limit, 1000);
    }

    #[test]
    fn bad_values_are_named() {
        let neg = parse(Value::Map(vec![entry(
            "pagination",
            Value::Map(vec![entry("limit", Value::Integer((-1).into()))]),
        )]))
        .unwrap_err();
        assert_eq!(neg.status, Some(400));
        assert!(
            neg.message.contains("pagination.limit") && neg.message.contains("-1"),
            "{}",
            neg.message
        );
        let rd = parse(Value::Map(vec![text("resolveData", "some")])).unwrap_err();
        assert!(rd.message.contains("'some'") && rd.message.contains("'none'"));
    }
}
