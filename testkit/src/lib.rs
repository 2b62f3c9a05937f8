//! Test support shared by every crate's integration tests. Tests talk to the
//! real Postgres and NATS servers (started by `scripts/test.sh`) and fail
//! loudly when they cannot reach them: nothing here skips.
//!
//! Each test gets its own Postgres database and its own stream name, so tests
//! run in parallel and leave nothing behind.

mod nats;
mod nats_auth;

pub use nats::{free_port, nats_server_bin, NatsCluster, NatsServer};
pub use nats_auth::{Certs, Trust};

use rand::Rng as _;
use sqlx::{AssertSqlSafe, Connection as _};

/// Base URL of the Postgres server used by tests (`CL_TEST_DATABASE_URL`).
pub fn postgres_admin_url() -> String {
    std::env::var("CL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// URL of the NATS server used by tests (`CL_TEST_NATS_URL`).
pub fn nats_url() -> String {
    std::env::var("CL_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A short random suffix for unique names.
pub fn unique(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// A fresh, empty Postgres database, dropped when this value is.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn new() -> Self {
        let admin = postgres_admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!(
                "cannot reach Postgres at {admin} ({e}); run the tests through scripts/test.sh, \
                 which starts it"
            )
            });
        let name = unique("cl_test_");
        // Safe: `name` is our own prefix and random [a-z0-9] suffix.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let url = format!("{base}/{name}");
        Self { name, url }
    }
}

/// Runs a clean-up to completion from `Drop`, which may run inside or
/// outside a runtime: on a thread of its own with a small runtime.
fn clean_up<F, Fut>(work: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let _ = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(work());
        }
    })
    .join();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        clean_up(move || async move {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                // Safe: `name` is the one `new` made (prefix and [a-z0-9]).
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await;
            }
        });
    }
}

/// A unique JetStream stream name; the stream and everything derived from
/// it (registry bucket, body object store, parked stream) are deleted on drop.
pub struct TestStream {
    pub name: String,
}

impl TestStream {
    pub async fn new() -> Self {
        let url = nats_url();
        async_nats::connect(&url).await.unwrap_or_else(|e| {
            panic!("cannot reach NATS at {url} ({e}); run the tests through scripts/test.sh")
        });
        Self {
            name: unique("T_").to_uppercase(),
        }
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let name = self.name.clone();
        clean_up(move || async move {
            if let Ok(client) = async_nats::connect(nats_url()).await {
                let js = async_nats::jetstream::new(client);
                let _ = js.delete_stream(&name).await;
                // Key-value buckets and object stores are streams too.
                let _ = js.delete_stream(format!("KV_{name}_PATHS")).await;
                let _ = js.delete_stream(format!("KV_{name}_COUNTS")).await;
                let _ = js.delete_stream(format!("OBJ_{name}_BODIES")).await;
                let _ = js.delete_stream(format!("{name}_PARKED")).await;
            }
        });
    }
}
