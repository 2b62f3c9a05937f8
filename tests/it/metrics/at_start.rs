//! Every family is at /metrics from the start (dashboards and alerts see 0,
//! not "no data"), each with its labels' known values.

use common::metrics::catalog::{self, Scope};

use super::{families, scrape, Roles};

/// The client_golang process set, from `metrics-process`.
const PROCESS: &[&str] = &[
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_threads",
    "process_start_time_seconds",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_exposes_all_its_families_before_any_webhook() {
    let client = reqwest::Client::new();
    let roles = Roles::start(&client).await;
    let cases: [(&str, &str, &[Scope]); 3] = [
        (
            "standalone",
            &roles.standalone,
            &[Scope::All, Scope::Ingest, Scope::Query],
        ),
        (
            "ingest",
            &roles.ingest,
            &[Scope::All, Scope::Nats, Scope::Ingest, Scope::IngestNats],
        ),
        (
            "query",
            &roles.query,
            &[Scope::All, Scope::Nats, Scope::Query, Scope::QueryNats],
        ),
    ];
    for (role, base, scopes) in cases {
        let text = scrape(&client, base).await;
        let found = families(&text);
        let expected = catalog::families(scopes)
            .map(|f| f.name)
            .chain(PROCESS.iter().copied());
        let missing: Vec<_> = expected.filter(|n| !found.contains(*n)).collect();
        assert!(missing.is_empty(), "{role} /metrics lacks {missing:?}");

        // Labelled families carry each known value at zero.
        for f in catalog::families(scopes) {
            for (label, values) in f.labels {
                for v in *values {
                    // Any of its labels may come first on the line.
                    let (head, pair) = (format!("{}{{", f.name), format!("{label}=\"{v}\""));
                    let present = text
                        .lines()
                        .any(|l| l.starts_with(&head) && l.contains(&pair));
                    assert!(present, "{role} lacks {head}{pair}");
                }
            }
        }
        // The webhook route's histogram exists before the first webhook.
        let webhook = "http_route=\"/webhook/{path_id}\"";
        assert_eq!(
            text.contains(webhook),
            role != "query",
            "{role}: webhook route series"
        );
        assert!(
            text.contains("cl_build_info{version=\""),
            "{role}: build info"
        );
    }
    // A process on NATS says it is connected; the others have no such family.
    let query = scrape(&client, &roles.query).await;
    assert!(query.contains("cl_nats_connected 1"), "{query}");
    let standalone = scrape(&client, &roles.standalone).await;
    assert!(!standalone.contains("cl_nats_connected"));
    // The pool's gauges are read at the scrape.
    assert!(standalone.contains("cl_store_pool_max_connections "));
}
