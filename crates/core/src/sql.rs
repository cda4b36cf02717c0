//! SQL as data: statements with their parameters, built where each value is bound, and
//! result rows read back by column name. Every module that talks to D1 writes its
//! statements with these (`store/sql.rs`, `queue/sql.rs`, `stream/sql.rs`); the same
//! statements run natively on SQLite in the unit tests.

use crate::model::value::{from_cbor, Value};
use crate::model::{ErrorName, Payload, Timestamp, WorldError};

#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl SqlValue {
    pub fn opt_int(v: Option<i64>) -> SqlValue {
        v.map_or(SqlValue::Null, SqlValue::Integer)
    }

    pub fn opt_text(v: Option<&str>) -> SqlValue {
        v.map_or(SqlValue::Null, |v| SqlValue::Text(v.to_owned()))
    }

    pub fn time(t: Timestamp) -> SqlValue {
        SqlValue::Integer(t.0)
    }

    pub fn opt_time(t: Option<Timestamp>) -> SqlValue {
        SqlValue::opt_int(t.map(|t| t.0))
    }

    /// A payload column: the CBOR of the value (binary, NUL-safe).
    pub fn payload(v: Option<&Value>) -> SqlValue {
        v.map_or(SqlValue::Null, |v| {
            SqlValue::Blob(crate::model::value::to_cbor(v))
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

/// Builds a statement, binding each value where it is written.
#[derive(Default)]
pub struct Sql {
    text: String,
    params: Vec<SqlValue>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    pub fn bind(&mut self, value: SqlValue) -> &mut Sql {
        self.text.push('?');
        self.params.push(value);
        self
    }

    pub fn bind_text(&mut self, value: &str) -> &mut Sql {
        self.bind(SqlValue::Text(value.to_owned()))
    }

    pub fn bind_int(&mut self, value: i64) -> &mut Sql {
        self.bind(SqlValue::Integer(value))
    }

    /// Appends `template`, binding `values` in order at its `?` placeholders.
    pub fn push_bound(&mut self, template: &str, values: Vec<SqlValue>) -> &mut Sql {
        let mut parts = template.split('?');
        if let Some(first) = parts.next() {
            self.push(first);
        }
        for (value, rest) in values.into_iter().zip(parts) {
            self.bind(value).push(rest);
        }
        self
    }

    pub fn finish(&mut self) -> Statement {
        Statement {
            sql: std::mem::take(&mut self.text),
            params: std::mem::take(&mut self.params),
        }
    }
}

/// The result of one statement of a batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryResult {
    pub rows: Vec<Row>,
    pub changes: i64,
}

impl QueryResult {
    pub fn first(&self) -> Option<&Row> {
        self.rows.first()
    }
}

/// The first row of the `index`-th result of a batch.
pub fn first_row(results: &[QueryResult], index: usize) -> Option<&Row> {
    results.get(index).and_then(QueryResult::first)
}

/// One result row: columns in order, by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row(pub Vec<(String, SqlValue)>);

/// A stored value that this crate could not have written: a 500, never retried as a
/// storage outage.
pub fn corrupt(column: &str, what: &str) -> WorldError {
    WorldError {
        status: Some(500),
        code: Some("CORRUPT_ROW"),
        ..WorldError::new(
            ErrorName::WorkflowWorld,
            format!("Stored row has an invalid `{column}`: {what}"),
        )
    }
}

impl Row {
    fn get(&self, column: &str) -> &SqlValue {
        self.0
            .iter()
            .find(|(c, _)| c == column)
            .map_or(&SqlValue::Null, |(_, v)| v)
    }

    pub fn opt_text(&self, column: &str) -> Result<Option<String>, WorldError> {
        match self.get(column) {
            SqlValue::Null => Ok(None),
            SqlValue::Text(t) => Ok(Some(t.clone())),
            _ => Err(corrupt(column, "expected text")),
        }
    }

    pub fn text(&self, column: &str) -> Result<String, WorldError> {
        self.opt_text(column)?
            .ok_or_else(|| corrupt(column, "missing"))
    }

    pub fn opt_int(&self, column: &str) -> Result<Option<i64>, WorldError> {
        match self.get(column) {
            SqlValue::Null => Ok(None),
            SqlValue::Integer(i) => Ok(Some(*i)),
            SqlValue::Real(f) if f.fract() == 0.0 => Ok(Some(*f as i64)),
            _ => Err(corrupt(column, "expected an integer")),
        }
    }

    pub fn int(&self, column: &str) -> Result<i64, WorldError> {
        self.opt_int(column)?
            .ok_or_else(|| corrupt(column, "missing"))
    }

    pub fn opt_time(&self, column: &str) -> Result<Option<Timestamp>, WorldError> {
        Ok(self.opt_int(column)?.map(Timestamp))
    }

    pub fn time(&self, column: &str) -> Result<Timestamp, WorldError> {
        self.int(column).map(Timestamp)
    }

    /// A BLOB column's bytes (`None` when NULL or not a blob).
    pub fn blob(&self, column: &str) -> Option<Vec<u8>> {
        match self.get(column) {
            SqlValue::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }

    /// A CBOR column.
    pub fn value(&self, column: &str) -> Result<Option<Value>, WorldError> {
        match self.get(column) {
            SqlValue::Null => Ok(None),
            SqlValue::Blob(b) => from_cbor(b).map(Some).map_err(|e| corrupt(column, &e)),
            _ => Err(corrupt(column, "expected a blob")),
        }
    }

    pub fn payload(&self, column: &str) -> Result<Option<Payload>, WorldError> {
        Ok(self.value(column)?.map(Payload))
    }

    /// A text column holding one of an enum's wire names.
    pub fn parsed<T>(&self, column: &str, parse: fn(&str) -> Option<T>) -> Result<T, WorldError> {
        let t = self.text(column)?;
        parse(&t).ok_or_else(|| corrupt(column, &format!("unknown value '{t}'")))
    }
}
