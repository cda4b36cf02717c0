//! Ids of contract §2.2: `<prefix>_<ULID>`.

use super::{Millis, WorldError};
use ulid::Ulid;

pub const RUN_PREFIX: &str = "wrun_";
pub const EVENT_PREFIX: &str = "wevt_";
/// Event ids of spec ≥ 4 runs: `evnt_` + the 1-based slot, zero-padded to 26 digits
/// (`slotToEventId`, world-contract-v5 §3.1).
pub const SLOT_PREFIX: &str = "evnt_";

pub fn slot_event_id(slot: i64) -> String {
    format!("{SLOT_PREFIX}{slot:026}")
}

/// The slot of a slot event id; `None` for any other id (`isSlotBody`: the first ten
/// digits of a slot body are zeros, which no ULID of this era has).
pub fn event_id_slot(event_id: &str) -> Option<i64> {
    let body = event_id.strip_prefix(SLOT_PREFIX)?;
    if body.len() != 26
        || !body.starts_with("0000000000")
        || !body.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    body.parse().ok().filter(|n| *n >= 1)
}

/// A client-supplied run id may be this far in the past or future (contract §2.2).
pub const RUN_ID_MAX_PAST_MS: Millis = 24 * 60 * 60 * 1000;
pub const RUN_ID_MAX_FUTURE_MS: Millis = 5 * 60 * 1000;

/// `<prefix>_<ULID>` from a timestamp and 80 random bits supplied by the caller (the
/// engine stays free of randomness).
pub fn new_id(prefix: &str, now: Millis, random: u128) -> String {
    let ulid = Ulid::from_parts(now.max(0) as u64, random & ((1u128 << 80) - 1));
    format!("{prefix}{ulid}")
}

fn parse_ulid(s: &str) -> Option<Ulid> {
    // zod's ulid(): 26 Crockford base32 characters, either case.
    if s.len() != 26 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let upper = s.to_ascii_uppercase();
    if upper
        .bytes()
        .any(|b| matches!(b, b'I' | b'L' | b'O' | b'U'))
    {
        return None;
    }
    Ulid::from_string(&upper).ok()
}

/// The ULID time of a run id (`wrun_` optional), or the contract's error.
pub fn run_id_time(run_id: &str) -> Result<Millis, WorldError> {
    let bare = run_id.strip_prefix(RUN_PREFIX).unwrap_or(run_id);
    parse_ulid(bare)
        .map(|u| u.timestamp_ms() as Millis)
        .ok_or_else(|| {
            WorldError::invalid(
                "INVALID_RUN_ID",
                format!("Invalid runId: \"{run_id}\" is not a valid ULID"),
            )
        })
}

/// The client run-id check of `run_created` (`validateUlidTimestamp`, contract §2.2).
pub fn validate_client_run_id(run_id: &str, now: Millis) -> Result<(), WorldError> {
    let at = run_id_time(run_id)?;
    let (direction, distance, threshold) = if at < now {
        ("past", now - at, RUN_ID_MAX_PAST_MS)
    } else {
        ("future", at - now, RUN_ID_MAX_FUTURE_MS)
    };
    if distance > threshold {
        return Err(WorldError::invalid(
            "INVALID_RUN_ID",
            format!(
                "Invalid runId timestamp: embedded timestamp is {}s in the {direction} (threshold: {}s)",
                distance / 1000,
                threshold / 1000
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_764_000_000_000;

    #[test]
    fn slot_ids_are_dense_fixed_width_and_sort_by_slot() {
        assert_eq!(slot_event_id(1), "evnt_00000000000000000000000001");
        assert_eq!(event_id_slot("evnt_00000000000000000000000042"), Some(42));
        assert!(slot_event_id(9) < slot_event_id(10));
        for bad in [
            "evnt_01KAXK6T8R0000000000000000",
            "wevt_00000000000000000000000001",
            "evnt_1",
            "evnt_00000000000000000000000000",
        ] {
            assert_eq!(event_id_slot(bad), None, "{bad}");
        }
    }

    #[test]
    fn new_ids_carry_their_time() {
        let id = new_id(RUN_PREFIX, NOW, 42);
        assert!(id.starts_with("wrun_") && id.len() == 31);
        assert_eq!(run_id_time(&id).unwrap(), NOW);
    }

    #[test]
    fn client_run_id_window() {
        assert!(
            validate_client_run_id(&new_id(RUN_PREFIX, NOW - 23 * 3600 * 1000, 1), NOW).is_ok()
        );
        let old = validate_client_run_id(&new_id(RUN_PREFIX, NOW - 25 * 3600 * 1000, 1), NOW)
            .unwrap_err();
        assert!(old.message.contains("in the past"), "{}", old.message);
        let future =
            validate_client_run_id(&new_id(RUN_PREFIX, NOW + 6 * 60 * 1000, 1), NOW).unwrap_err();
        assert!(future.message.contains("in the future"));
        let bad = validate_client_run_id("wrun_notaulid", NOW).unwrap_err();
        assert!(bad.message.contains("is not a valid ULID"));
        // lowercase ULIDs are valid (zod's regex accepts both cases)
        let lower = format!("wrun_{}", new_id("", NOW, 7).to_ascii_lowercase());
        assert!(validate_client_run_id(&lower, NOW).is_ok());
    }
}
