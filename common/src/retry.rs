//! Delays between attempts, from `backon`: exponential, capped, with jitter
//! (so processes that lost the same server do not come back in step). The
//! loops sleep themselves, because each wait also watches for shutdown.

use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBuilder};

/// An endless sequence of delays: `first`, doubling up to `max`, each with up
/// to the same again of jitter, never over `max`. Start a new one to reset.
pub fn delays(first: Duration, max: Duration) -> Delays {
    Delays {
        inner: ExponentialBuilder::default()
            .with_min_delay(first)
            .with_max_delay(max)
            .with_jitter()
            .without_max_times()
            .build(),
        max,
    }
}

pub struct Delays {
    inner: backon::ExponentialBackoff,
    max: Duration,
}

impl Delays {
    /// The next delay, jitter included, never longer than `max`.
    pub fn next_delay(&mut self) -> Duration {
        self.inner.next().unwrap_or(self.max).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_never_end() {
        let (first, max) = (Duration::from_millis(100), Duration::from_secs(2));
        let mut d = delays(first, max);
        let seen: Vec<Duration> = (0..50).map(|_| d.next_delay()).collect();
        assert!(seen[0] >= first && seen[0] <= first * 2, "{seen:?}");
        assert!(seen.iter().all(|&x| x <= max), "{seen:?}");
        assert_eq!(seen[49], max, "reaches the cap: {seen:?}");
    }
}
