//! Every metric family the services expose, in one list: its kind, help,
//! which processes have it, and the known values of its labels. Each family
//! is registered at zero when a process starts, so dashboards and alerts see
//! 0 rather than "no data" before the first event.
//!
//! Labels never carry a path id or a raw URL path (unbounded cardinality, and
//! a private path's id is a secret): routes are templates.

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

/// Which processes have a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every process: HTTP server, process, build info.
    All,
    /// Processes that hold a NATS connection (ingest, query, standalone
    /// with `--nats-url`).
    Nats,
    /// Processes that take webhooks (ingest, standalone).
    Ingest,
    /// Webhooks published to JetStream.
    IngestNats,
    /// Processes with the store: writer, API, live feed, replay (query,
    /// standalone).
    Query,
    /// The writer's JetStream consumer.
    QueryNats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One family: `labels` lists each label with the values registered at zero
/// (every combination). A label with no known values (an HTTP route, a
/// status code) is filled by traffic; see [`super::http`] for its series.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Option<Unit>,
    pub help: &'static str,
    pub scope: Scope,
    pub labels: &'static [(&'static str, &'static [&'static str])],
}

const fn family(name: &'static str, kind: Kind, scope: Scope, help: &'static str) -> Family {
    Family {
        name,
        kind,
        unit: None,
        help,
        scope,
        labels: &[],
    }
}

impl Family {
    const fn labels(mut self, labels: &'static [(&'static str, &'static [&'static str])]) -> Self {
        self.labels = labels;
        self
    }

    const fn unit(mut self, unit: Unit) -> Self {
        self.unit = Some(unit);
        self
    }
}

use Kind::{Counter, Gauge, Histogram};
use Scope::{All, Ingest, IngestNats, Nats, Query, QueryNats};

/// Reasons a webhook is refused (`cl_captures_rejected_total`).
pub const REJECT_REASONS: &[&str] = &[
    "unknown_path",
    "too_large",
    "rate_limited",
    "workspace_rate_limited",
    "workspace_over_quota",
    "body_timeout",
    "unavailable",
];
/// The workspace quotas whose refusals are counted per workspace.
pub const WORKSPACE_QUOTAS: &[&str] = &[
    "webhooks_per_second",
    "max_paths",
    "max_captures",
    "max_body_bytes",
];
/// How a JetStream publish try failed (retried, or given up).
pub const PUBLISH_FAILURES: &[&str] = &["timeout", "body", "no_stream", "too_large", "other"];
/// What became of one replay or forward delivery.
pub const OUTCOMES: &[&str] = &["delivered", "rejected", "failed"];
/// The HTTP methods of OpenTelemetry's semantic conventions; anything else
/// is `_OTHER`, so a sender's made-up method cannot add series.
pub const METHODS: &[&str] = &[
    "CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "_OTHER",
];

pub const FAMILIES: &[Family] = &[
    // HTTP server, named as Prometheus renders OpenTelemetry's conventions.
    family(
        "http_server_request_duration_seconds",
        Histogram,
        All,
        "Time from the request's arrival to its response head, by route template, method and status",
    )
    .unit(Unit::Seconds),
    family(
        "http_server_active_requests",
        Gauge,
        All,
        "Requests being handled",
    )
    .labels(&[("http_request_method", METHODS)]),
    family(
        "http_server_request_body_size_bytes",
        Histogram,
        All,
        "Request body sizes, by route template, method and status",
    )
    .unit(Unit::Bytes),
    family(
        "http_server_response_body_size_bytes",
        Histogram,
        All,
        "Response body sizes, by route template, method and status",
    )
    .unit(Unit::Bytes),
    family(
        "cl_build_info",
        Gauge,
        All,
        "Always 1; the labels say which build runs",
    ),
    // NATS connection.
    family(
        "cl_nats_connected",
        Gauge,
        Nats,
        "1 while the NATS connection is up, 0 while it is lost",
    ),
    family(
        "cl_nats_reconnects_total",
        Counter,
        Nats,
        "Times the NATS connection came back after being lost",
    ),
    family(
        "cl_nats_forced_reconnects_total",
        Counter,
        Nats,
        "Reconnects forced because JetStream stopped answering",
    ),
    family(
        "cl_jetstream_assets_recreated_total",
        Counter,
        Nats,
        "Stream, consumer or buckets declared again after they went missing",
    ),
    // Webhook intake.
    family(
        "cl_captures_received_total",
        Counter,
        Ingest,
        "Webhooks captured and acknowledged to the sender",
    ),
    family(
        "cl_workspace_refusals_total",
        Counter,
        All,
        "Webhooks (ingest) and path creations (query) refused by a workspace's quota",
    )
    .labels(&[
        ("workspace", &["default"]),
        ("quota", WORKSPACE_QUOTAS),
    ]),
    family(
        "cl_captures_rejected_total",
        Counter,
        Ingest,
        "Webhooks refused, by reason",
    )
    .labels(&[("reason", REJECT_REASONS)]),
    family(
        "cl_publish_duration_seconds",
        Histogram,
        Ingest,
        "Time until the bus made a capture durable",
    )
    .unit(Unit::Seconds),
    family(
        "cl_publish_retries_total",
        Counter,
        IngestNats,
        "JetStream publish tries that failed and were tried again, by reason",
    )
    .labels(&[("reason", PUBLISH_FAILURES)]),
    family(
        "cl_publish_errors_total",
        Counter,
        IngestNats,
        "JetStream publishes given up (the sender got a 503), by kind",
    )
    .labels(&[("kind", PUBLISH_FAILURES)]),
    // The writer and the store.
    family(
        "cl_captures_written_total",
        Counter,
        Query,
        "Captures newly written to the store",
    ),
    family(
        "cl_write_batch_size",
        Histogram,
        Query,
        "Captures per store transaction",
    ),
    family(
        "cl_write_duration_seconds",
        Histogram,
        Query,
        "Store batch insert time",
    )
    .unit(Unit::Seconds),
    family(
        "cl_store_write_errors_total",
        Counter,
        Query,
        "Store batch inserts that failed (the batch is retried)",
    ),
    family(
        "cl_store_pool_connections",
        Gauge,
        Query,
        "Database pool connections, idle or in use",
    )
    .labels(&[("state", &["idle", "in_use"])]),
    family(
        "cl_store_pool_max_connections",
        Gauge,
        Query,
        "The database pool's size limit",
    ),
    family(
        "cl_store_pool_acquire_duration_seconds",
        Histogram,
        Query,
        "Time the writer waited for a database connection",
    )
    .unit(Unit::Seconds),
    family(
        "cl_messages_parked_total",
        Counter,
        QueryNats,
        "Undecodable stream messages parked",
    ),
    family(
        "cl_messages_redelivered_total",
        Counter,
        QueryNats,
        "Stream messages delivered more than once",
    ),
    family(
        "cl_consumer_pending",
        Gauge,
        QueryNats,
        "Messages in the stream not yet delivered to the writer",
    ),
    family(
        "cl_consumer_ack_pending",
        Gauge,
        QueryNats,
        "Messages delivered to the writer and not yet acknowledged",
    ),
    // Live feed.
    family(
        "cl_sse_clients",
        Gauge,
        Query,
        "Open live-feed connections",
    ),
    family(
        "cl_sse_lagged_disconnects_total",
        Counter,
        Query,
        "Live-feed clients closed because they fell behind (they resume with Last-Event-ID)",
    ),
    // Replay and forward.
    family(
        "cl_forward_attempts_total",
        Counter,
        Query,
        "forward_url deliveries, by outcome (delivered: 2xx; rejected: another status; failed: no answer)",
    )
    .labels(&[("outcome", OUTCOMES)]),
    family(
        "cl_forwards_skipped_total",
        Counter,
        Query,
        "Captures not forwarded because the forwarder fell behind the writer",
    ),
    family(
        "cl_replay_attempts_total",
        Counter,
        Query,
        "Replay job deliveries, by outcome (delivered: 2xx; rejected: another status; failed: no answer)",
    )
    .labels(&[("outcome", OUTCOMES)]),
    family(
        "cl_replay_jobs_running",
        Gauge,
        Query,
        "Replay jobs running in this process",
    ),
    family(
        "cl_replay_jobs_total",
        Counter,
        Query,
        "Replay jobs ended in this process, by final state",
    )
    .labels(&[("state", &["done", "cancelled", "interrupted"])]),
];

/// The families of a process with these scopes.
pub fn families(scopes: &[Scope]) -> impl Iterator<Item = &'static Family> + '_ {
    FAMILIES.iter().filter(|f| scopes.contains(&f.scope))
}

/// Describes each family and registers each known label combination at 0.
pub(super) fn register(scopes: &[Scope]) {
    for f in families(scopes) {
        describe(f);
        if f.name.starts_with("http_server_") && f.kind == Histogram {
            continue; // by route: registered by `super::http`
        }
        if f.name == "cl_build_info" {
            continue; // set by `super::process`
        }
        for labels in combinations(f.labels) {
            match f.kind {
                Counter => metrics::counter!(f.name, labels).absolute(0),
                Gauge => metrics::gauge!(f.name, labels).set(0.0),
                Histogram => drop(metrics::histogram!(f.name, labels)),
            }
        }
    }
}

fn describe(f: &Family) {
    match (f.kind, f.unit) {
        (Counter, Some(u)) => describe_counter!(f.name, u, f.help),
        (Counter, None) => describe_counter!(f.name, f.help),
        (Gauge, Some(u)) => describe_gauge!(f.name, u, f.help),
        (Gauge, None) => describe_gauge!(f.name, f.help),
        (Histogram, Some(u)) => describe_histogram!(f.name, u, f.help),
        (Histogram, None) => describe_histogram!(f.name, f.help),
    }
}

/// Every combination of the labels' known values (one empty set when the
/// family has no labels).
fn combinations(
    labels: &'static [(&'static str, &'static [&'static str])],
) -> Vec<Vec<metrics::Label>> {
    let mut out = vec![Vec::new()];
    for (name, values) in labels {
        out = out
            .into_iter()
            .flat_map(|set| {
                values.iter().map(move |v| {
                    let mut set = set.clone();
                    set.push(metrics::Label::new(*name, *v));
                    set
                })
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_conventional() {
        let mut names: Vec<_> = FAMILIES.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a family is listed twice");
        for f in FAMILIES {
            assert_eq!(f.kind == Counter, f.name.ends_with("_total"), "{}", f.name);
            if f.unit == Some(Unit::Seconds) {
                assert!(f.name.ends_with("_seconds"), "{}", f.name);
            }
        }
    }

    #[test]
    fn combinations_cover_every_value_pair() {
        const L: &[(&str, &[&str])] = &[("a", &["1", "2"]), ("b", &["x", "y", "z"])];
        assert_eq!(combinations(L).len(), 6);
        assert_eq!(combinations(&[]).len(), 1);
    }
}
