//! The calls of the Rust `World` (src/wasm/world.rs), listed once: js/ builds the contract's
//! World from them and the World over HTTP serves them.

use serde::Serialize;

/// One call of the Rust `World` (src/wasm/world.rs) that js/ builds the contract's World
/// from (js/world.js `worldOver`) and the World over HTTP serves (js/serve.js, js/remote.js).
#[derive(Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub name: &'static str,
    /// Whether a caller may send it again when the transport failed: reads may; a write may
    /// not, unless the caller can tell from its arguments that a repeat is one write
    /// (js/remote.js decides that for `queue` and `queueBatch`, by their idempotency keys).
    pub repeatable: bool,
    /// The members of the contract's World it answers as it is (`runs.get`, …); none for
    /// the calls the queue and stream adapters of js/ are built on.
    pub members: &'static [&'static str],
    /// Whether only the 5.x line's World has those members.
    pub v5_only: bool,
}

/// A call a caller may repeat when the transport failed (a read).
const fn read(name: &'static str, members: &'static [&'static str]) -> Call {
    Call {
        name,
        repeatable: true,
        members,
        v5_only: false,
    }
}

/// A call a caller may not repeat (a write).
const fn write(name: &'static str, members: &'static [&'static str]) -> Call {
    Call {
        repeatable: false,
        ..read(name, members)
    }
}

impl Call {
    const fn v5_only(self) -> Call {
        Call {
            v5_only: true,
            ..self
        }
    }
}

/// The `World` calls: the one list of them.
pub const CALLS: &[Call] = &[
    write("createEvent", &["events.create"]),
    write("createEventBatch", &["events.createBatch"]).v5_only(),
    read("getRun", &["runs.get"]),
    read("getRuns", &["runs.getMany"]).v5_only(),
    read("waitForTerminalStatus", &["runs.waitForTerminalStatus"]).v5_only(),
    write("cancelRuns", &["runs.cancelMany"]).v5_only(),
    read("listRuns", &["runs.list"]),
    read("getStep", &["steps.get"]),
    read("listSteps", &["steps.list"]),
    read("getEvent", &["events.get"]),
    read("listEvents", &["events.list", "events.listByCorrelationId"]),
    read("getHook", &["hooks.get"]),
    read("getHookByToken", &["hooks.getByToken"]),
    read("listHooks", &["hooks.list"]),
    read("encryptionKey", &["getEncryptionKeyForRun"]),
    read("deploymentId", &[]),
    write("queue", &[]),
    write("queueBatch", &["queueBatch"]).v5_only(),
    write("recover", &[]),
    write("streamWrite", &[]),
    write("streamClose", &[]),
    read("streamTail", &[]),
    read("streamChunks", &[]),
    read("streamInfo", &[]),
    read("listStreams", &[]),
];
