//! Shared bits of the benchmark programs: the payload every scenario sends
//! and small statistics helpers. See `bench/run.sh` and docs/BENCHMARKS.md.

use std::time::Duration;

/// The 1 KiB JSON body every load scenario and floor uses (exactly 1024 bytes).
pub fn payload() -> Vec<u8> {
    let head = br#"{"event":"push","repository":"callback-listener","pad":""#;
    let tail = br#""}"#;
    let mut body = Vec::with_capacity(1024);
    body.extend_from_slice(head);
    body.resize(1024 - tail.len(), b'x');
    body.extend_from_slice(tail);
    debug_assert_eq!(body.len(), 1024);
    body
}

/// Nearest-rank percentile of already sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_1_kib_json() {
        let p = payload();
        assert_eq!(p.len(), 1024);
        serde_json::from_slice::<serde_json::Value>(&p).unwrap();
    }

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<_> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
    }
}
