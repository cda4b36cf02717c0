//! The calls of the Rust `World` (src/wasm/world.rs), listed once: js/ builds the contract's
//! World from them and the World over HTTP serves them.

/// One call of the Rust `World` (src/wasm/world.rs) that js/ builds the contract's World
/// from (js/world.js `worldOver`) and the World over HTTP serves (js/serve.js, js/remote.js).
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

const fn call(
    name: &'static str,
    repeatable: bool,
    members: &'static [&'static str],
    v5_only: bool,
) -> Call {
    Call {
        name,
        repeatable,
        members,
        v5_only,
    }
}

/// The `World` calls: the one list of them.
pub const CALLS: &[Call] = &[
    call("createEvent", false, &["events.create"], false),
    call("createEventBatch", false, &["events.createBatch"], true),
    call("getRun", true, &["runs.get"], false),
    call("getRuns", true, &["runs.getMany"], true),
    call(
        "waitForTerminalStatus",
        true,
        &["runs.waitForTerminalStatus"],
        true,
    ),
    call("cancelRuns", false, &["runs.cancelMany"], true),
    call("listRuns", true, &["runs.list"], false),
    call("getStep", true, &["steps.get"], false),
    call("listSteps", true, &["steps.list"], false),
    call("getEvent", true, &["events.get"], false),
    call(
        "listEvents",
        true,
        &["events.list", "events.listByCorrelationId"],
        false,
    ),
    call("getHook", true, &["hooks.get"], false),
    call("getHookByToken", true, &["hooks.getByToken"], false),
    call("listHooks", true, &["hooks.list"], false),
    call("encryptionKey", true, &["getEncryptionKeyForRun"], false),
    call("deploymentId", true, &[], false),
    call("queue", false, &[], false),
    call("queueBatch", false, &["queueBatch"], true),
    call("recover", false, &[], false),
    call("streamWrite", false, &[], false),
    call("streamClose", false, &[], false),
    call("streamTail", true, &[], false),
    call("streamChunks", true, &[], false),
    call("streamInfo", true, &[], false),
    call("listStreams", true, &[], false),
];
