//! Per-run encryption keys (contract §1.6; world-contract-v5 §8). Core encrypts a run's
//! payloads with the key `getEncryptionKeyForRun` returns, and asks for it before the run
//! exists (`start()`, health probes), so the key is derived from the run id alone: HKDF-SHA-256
//! over the deployment's `WORKFLOW_ENCRYPTION_KEY` secret, with the run id as `info`.

use crate::model::WorldError;
use hkdf::Hkdf;
use sha2::Sha256;

/// Core takes a raw 32-byte key (AES-256-GCM).
pub const RUN_KEY_BYTES: usize = 32;

/// Separates these keys from anything else derived from the same secret; bump the version
/// only with a migration, since changing it makes every stored payload unreadable.
const SALT: &[u8] = b"@workflow/world-cloudflare/run-key/v1";

pub fn run_key(secret: &str, run_id: &str) -> Result<[u8; RUN_KEY_BYTES], WorldError> {
    if run_id.is_empty() {
        return Err(WorldError::invalid(
            "INVALID_ARGUMENT",
            "getEncryptionKeyForRun needs a run or a non-empty run id",
        ));
    }
    let mut key = [0u8; RUN_KEY_BYTES];
    Hkdf::<Sha256>::new(Some(SALT), secret.as_bytes())
        .expand(run_id.as_bytes(), &mut key)
        .map_err(|_| WorldError::unavailable("HKDF cannot expand 32 bytes".to_owned()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_run_and_differ_across_runs_and_secrets() {
        let a = run_key("s3cret", "wrun_A").unwrap();
        assert_eq!(a, run_key("s3cret", "wrun_A").unwrap());
        assert_ne!(a, run_key("s3cret", "wrun_B").unwrap());
        assert_ne!(a, run_key("other", "wrun_A").unwrap());
        assert_eq!(
            hex::encode(a),
            hex::encode({
                let mut k = [0u8; 32];
                Hkdf::<Sha256>::new(Some(SALT), b"s3cret")
                    .expand(b"wrun_A", &mut k)
                    .unwrap();
                k
            })
        );
        assert!(run_key("s3cret", "").is_err());
    }
}
