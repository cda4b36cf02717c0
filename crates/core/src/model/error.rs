//! The one error type every layer ends in, and the table of JS error names core checks.
//!
//! Core identifies error classes only by `name` (contract §1.5), so the name is chosen
//! here, once per kind of failure, and `lib.rs` turns a `WorldError` into a JS `Error`.

/// The `name` of the JS error, as `@workflow/errors` 4.2.1 and 5.0.0-beta.22 spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorName {
    EntityConflict,
    RunExpired,
    TooEarly,
    HookNotFound,
    WorkflowRunNotFound,
    RunNotSupported,
    WorkflowWorld,
    /// Invalid run attributes (world-contract-v5 §4.2, §4.5).
    AttributeValidation,
    /// A plain `Error` (legacy runs asked for an event they do not support, §3.3).
    Plain,
}

impl ErrorName {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorName::EntityConflict => "EntityConflictError",
            ErrorName::RunExpired => "RunExpiredError",
            ErrorName::TooEarly => "TooEarlyError",
            ErrorName::HookNotFound => "HookNotFoundError",
            ErrorName::WorkflowRunNotFound => "WorkflowRunNotFoundError",
            ErrorName::RunNotSupported => "RunNotSupportedError",
            ErrorName::WorkflowWorld => "WorkflowWorldError",
            ErrorName::AttributeValidation => "AttributeValidationError",
            ErrorName::Plain => "Error",
        }
    }
}

/// HTTP-like statuses carried on `WorkflowWorldError.status`. None of them is >= 500
/// unless retrying can help (core retries those, §1.5).
pub const STATUS_BAD_REQUEST: u16 = 400;
pub const STATUS_NOT_FOUND: u16 = 404;
pub const STATUS_PAYLOAD_TOO_LARGE: u16 = 413;
pub const STATUS_UNAVAILABLE: u16 = 503;

#[derive(Clone, Debug, PartialEq)]
pub struct WorldError {
    pub name: ErrorName,
    pub message: String,
    pub status: Option<u16>,
    /// Machine-readable reason, for example `INVALID_EVENT`. Never one of the codes core
    /// treats as a broken World (`PARSE_ERROR`, `SCHEMA_VALIDATION`, `WORLD_CONTRACT_ERROR`).
    pub code: Option<&'static str>,
    /// Seconds, on `TooEarlyError`.
    pub retry_after: Option<i64>,
    pub run_id: Option<String>,
    pub token: Option<String>,
    pub run_spec_version: Option<i64>,
    pub world_spec_version: Option<i64>,
}

impl WorldError {
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
        WorldError {
            name,
            message: message.into(),
            status: None,
            code: None,
            retry_after: None,
            run_id: None,
            token: None,
            run_spec_version: None,
            world_spec_version: None,
        }
    }

    /// Bad input from the caller: a `WorkflowWorldError` with status 400 that says what
    /// was wrong and what is allowed.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        WorldError {
            status: Some(STATUS_BAD_REQUEST),
            code: Some(code),
            ..WorldError::new(ErrorName::WorkflowWorld, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        WorldError {
            status: Some(STATUS_NOT_FOUND),
            ..WorldError::new(ErrorName::WorkflowWorld, message)
        }
    }

    pub fn run_not_found(run_id: &str) -> Self {
        WorldError {
            run_id: Some(run_id.to_owned()),
            ..WorldError::new(
                ErrorName::WorkflowRunNotFound,
                format!("Workflow run \"{run_id}\" not found"),
            )
        }
    }

    pub fn hook_not_found(token_or_id: &str) -> Self {
        WorldError {
            token: Some(token_or_id.to_owned()),
            ..WorldError::new(ErrorName::HookNotFound, "Hook not found")
        }
    }

    /// A failure of the storage service itself; core retries it (status >= 500).
    pub fn unavailable(message: impl Into<String>) -> Self {
        WorldError {
            status: Some(STATUS_UNAVAILABLE),
            code: Some("STORAGE_UNAVAILABLE"),
            ..WorldError::new(ErrorName::WorkflowWorld, message)
        }
    }
}

impl std::fmt::Display for WorldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name.as_str(), self.message)
    }
}
