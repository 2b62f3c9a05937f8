//! What a replay job's answers add up to: counts per status class and
//! latency percentiles, kept in the job beside the per-capture outcomes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::run::percentile;
use super::send::Outcome;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobSummary {
    /// Outcomes per class: `1xx` .. `5xx` for answers, `error` for none.
    pub by_class: BTreeMap<String, u64>,
    /// Median time to answer, in milliseconds, over answered requests.
    pub p50_ms: Option<f64>,
    /// 99th percentile time to answer, in milliseconds.
    pub p99_ms: Option<f64>,
}

impl JobSummary {
    pub fn of(results: &[Outcome]) -> Self {
        let mut by_class = BTreeMap::new();
        let mut latencies = Vec::with_capacity(results.len());
        for r in results {
            let class = match r.status {
                Some(status) => {
                    latencies.push(r.latency_ms);
                    format!("{}xx", status / 100)
                }
                None => "error".to_owned(),
            };
            *by_class.entry(class).or_insert(0) += 1;
        }
        latencies.sort_by(f64::total_cmp);
        Self {
            by_class,
            p50_ms: percentile(&latencies, 50.0),
            p99_ms: percentile(&latencies, 99.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Option<u16>, latency_ms: f64) -> Outcome {
        Outcome {
            capture_id: uuid::Uuid::now_v7(),
            status,
            latency_ms,
            error: status.is_none().then(|| "connection failed".into()),
            answer: None,
        }
    }

    #[test]
    fn counts_per_class_and_percentiles_of_answers_only() {
        let mut results: Vec<Outcome> =
            (1..=98).map(|i| outcome(Some(200), f64::from(i))).collect();
        results.push(outcome(Some(503), 99.0));
        results.push(outcome(Some(404), 100.0));
        results.push(outcome(None, 5000.0));
        let s = JobSummary::of(&results);
        assert_eq!(s.by_class["2xx"], 98);
        assert_eq!(s.by_class["4xx"], 1);
        assert_eq!(s.by_class["5xx"], 1);
        assert_eq!(s.by_class["error"], 1);
        assert_eq!(s.p50_ms, Some(50.0));
        assert_eq!(s.p99_ms, Some(99.0));
        assert_eq!(JobSummary::of(&[]).p50_ms, None);
    }
}
