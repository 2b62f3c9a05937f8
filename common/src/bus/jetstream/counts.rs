//! Response-rule sequence counters: a key-value bucket (`{stream}_COUNTS`,
//! one key per counter, the count as decimal text), incremented by
//! compare-and-set on the key's revision. Every ingest process increments
//! the same key, so "the first 3 requests" means the first 3 across the
//! deployment, exactly: two processes racing for the same revision cannot
//! both win, and the loser reads the new count and tries again.
//!
//! Reads go to the stream's leader (the bucket has no direct gets), so a
//! retry sees the count that beat it rather than a lagging replica's.

use async_nats::jetstream::kv;

use super::unavailable;
use crate::bus::BusError;

/// Tries before giving up on a counter that many processes increment at
/// once (each loss means another process moved it: progress was made).
const MAX_TRIES: usize = 64;

pub(super) async fn next(kv: &kv::Store, key: &str) -> Result<u64, BusError> {
    for _ in 0..MAX_TRIES {
        let entry = kv
            .entry(key)
            .await
            .map_err(|e| unavailable("reading a sequence counter", e))?;
        // Each arm returns the count, or falls through when another process
        // moved the counter first: read it again.
        match entry.filter(|e| e.operation == kv::Operation::Put) {
            None => match kv.create(key, "1".into()).await {
                Ok(_) => return Ok(1),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {}
                Err(e) => return Err(unavailable("creating a sequence counter", e)),
            },
            Some(e) => {
                let n = std::str::from_utf8(&e.value)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                match kv.update(key, n.to_string().into(), e.revision).await {
                    Ok(_) => return Ok(n),
                    Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {}
                    Err(e) => return Err(unavailable("advancing a sequence counter", e)),
                }
            }
        }
    }
    Err(BusError::Unavailable(format!(
        "sequence counter {key:?} is contended beyond {MAX_TRIES} tries"
    )))
}
