//! /metrics as an operator scrapes it: each role is the real binary (the
//! in-process test apps share one process-wide recorder, so one process per
//! role is the only way to see what a role alone exposes).

mod at_start;
mod deploy;
mod labels;
mod per_role;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_callback-listener");

fn start(role: &str, port: u16, env: &[(&str, &str)]) -> Child {
    Command::new(BIN)
        .arg(role)
        .env("CL_LISTEN", format!("127.0.0.1:{port}"))
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn ready(client: &reqwest::Client, base: &str) {
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/health/ready")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} never became ready");
}

async fn scrape(client: &reqwest::Client, base: &str) -> String {
    let r = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The family names of an exposition (its `# TYPE` lines).
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Running processes of each role, over the test NATS server and Postgres
/// (split) and a temporary SQLite file (standalone).
struct Roles {
    _children: Vec<Child>,
    _db: testkit::TestDb,
    _stream: testkit::TestStream,
    _dir: tempfile::TempDir,
    standalone: String,
    ingest: String,
    query: String,
}

impl Roles {
    async fn start(client: &reqwest::Client) -> Self {
        let db = testkit::TestDb::new().await;
        let stream = testkit::TestStream::new().await;
        let dir = tempfile::tempdir().unwrap();
        let nats = testkit::nats_url();
        let sqlite = format!("sqlite://{}/s.db", dir.path().display());
        let split = [
            ("CL_NATS_URL", nats.as_str()),
            ("CL_STREAM", stream.name.as_str()),
        ];
        let mut query_env = split.to_vec();
        query_env.push(("CL_DATABASE_URL", db.url.as_str()));
        let ports = [
            testkit::free_port(),
            testkit::free_port(),
            testkit::free_port(),
        ];
        let children = vec![
            start(
                "standalone",
                ports[0],
                &[("CL_DATABASE_URL", sqlite.as_str())],
            ),
            start("query", ports[1], &query_env),
            start("ingest", ports[2], &split),
        ];
        let [standalone, query, ingest] = ports.map(|p| format!("http://127.0.0.1:{p}"));
        for base in [&standalone, &query, &ingest] {
            ready(client, base).await;
        }
        Self {
            _children: children,
            _db: db,
            _stream: stream,
            _dir: dir,
            standalone,
            ingest,
            query,
        }
    }
}
