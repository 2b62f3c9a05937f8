//! The Grafana dashboard and the Prometheus rules name only metrics the
//! services really expose: every `cl_*`, `http_server_*` and `process_*`
//! token in deploy/ must be a family one of the roles serves.

use std::collections::BTreeSet;
use std::path::Path;

use super::{families, scrape, Roles};

const PREFIXES: &[&str] = &["cl_", "http_server_", "process_"];
/// Series suffixes of a histogram family.
const SUFFIXES: &[&str] = &["_bucket", "_sum", "_count"];

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "yml" | "yaml")
        ) {
            out.push(path);
        }
    }
}

/// Metric-like identifiers in a file.
fn tokens(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| PREFIXES.iter().any(|p| t.starts_with(p)))
        .map(str::to_owned)
        .collect()
}

fn family_of(token: &str, exposed: &BTreeSet<String>) -> bool {
    exposed.contains(token)
        || SUFFIXES.iter().any(|s| {
            token
                .strip_suffix(s)
                .is_some_and(|base| exposed.contains(base))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_and_alerts_name_only_exposed_metrics() {
    let client = reqwest::Client::new();
    let roles = Roles::start(&client).await;
    let mut exposed = BTreeSet::new();
    for base in [&roles.standalone, &roles.ingest, &roles.query] {
        exposed.extend(families(&scrape(&client, base).await));
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let mut paths = Vec::new();
    for dir in ["grafana", "prometheus", "kubernetes/monitoring"] {
        files(&root.join(dir), &mut paths);
    }
    let mut named = 0;
    let mut unknown = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        for token in tokens(&text) {
            named += 1;
            if !family_of(&token, &exposed) {
                unknown.push(format!("{}: {token}", path.display()));
            }
        }
    }
    assert!(unknown.is_empty(), "not exposed by any role: {unknown:#?}");
    assert!(named > 20, "the dashboard and rules name metrics ({named})");
    let dashboard = root.join("grafana/dashboards/callback-listener.json");
    assert!(dashboard.exists(), "{}", dashboard.display());
}

/// docs/METRICS.md lists every family of the catalog.
#[test]
fn the_metrics_document_lists_every_family() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/METRICS.md"))
            .unwrap();
    for f in common::metrics::catalog::FAMILIES {
        assert!(
            doc.contains(&format!("`{}", f.name)),
            "docs/METRICS.md lacks {}",
            f.name
        );
    }
}
