//! `$retention: '0'` (world-contract-v5 §4.4): once a run's terminal event committed with
//! its input, output and error dropped, the rest of its user data goes too: its steps'
//! payloads, the ref fields of its events, its hooks' metadata and its streams' contents.
//! Entities and events stay, so the run is still listable.

use super::rows;
use crate::model::{Event, Payload};
use crate::ports::{batch, query, Blobs, Database, Io};
use crate::sql::{Sql, SqlValue, Statement};
use crate::stream;

/// Rewrites this many events per batch (each statement binds three values).
const EVENTS_PER_BATCH: usize = 30;

pub async fn run_data<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    run_id: &str,
) -> Result<(), crate::model::WorldError> {
    let mut events = Sql::new("SELECT * FROM slots WHERE run_id = ");
    events.bind_text(run_id).push(" AND event_data IS NOT NULL");
    let stripped: Vec<(i64, Event)> = query(io.db, events.finish())
        .await?
        .iter()
        .map(rows::event)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|(e, _)| !e.event_type.ref_fields().is_empty())
        .map(|(e, slot)| (slot, e.purged()))
        .collect();
    let mut statements: Vec<Statement> = vec![
        Sql::new("UPDATE steps SET input = NULL, output = NULL, error = NULL WHERE run_id = ")
            .bind_text(run_id)
            .finish(),
        Sql::new("UPDATE hooks SET metadata = NULL WHERE run_id = ")
            .bind_text(run_id)
            .finish(),
    ];
    for (slot, event) in &stripped {
        let mut update = Sql::new("UPDATE slots SET event_data = ");
        update
            .bind(SqlValue::payload(
                event.event_data.as_ref().map(|p: &Payload| &p.0),
            ))
            .push(" WHERE run_id = ")
            .bind_text(run_id)
            .push(" AND slot = ")
            .bind_int(*slot);
        statements.push(update.finish());
        if statements.len() >= EVENTS_PER_BATCH {
            batch(io.db, std::mem::take(&mut statements)).await?;
        }
    }
    if !statements.is_empty() {
        batch(io.db, statements).await?;
    }
    for name in stream::list_by_run(io.db, run_id).await? {
        stream::purge(io, &name).await?;
    }
    Ok(())
}
