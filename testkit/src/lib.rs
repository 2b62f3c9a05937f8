//! Test support shared by every crate's integration tests. Tests talk to the
//! real Postgres and NATS servers (started by `scripts/test.sh`) and fail
//! loudly when they cannot reach them: nothing here skips.
//!
//! Each test gets its own Postgres database and its own stream name, so tests
//! run in parallel and leave nothing behind.

use rand::Rng as _;
use sqlx::Connection as _;

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
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
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
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::raw_sql(&sql).execute(&mut conn).await;
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
                let _ = js.delete_stream(format!("OBJ_{name}_BODIES")).await;
                let _ = js.delete_stream(format!("{name}_PARKED")).await;
            }
        });
    }
}

/// A private `nats-server` (from `PATH`) with JetStream, on a random port and
/// a temporary store directory, for tests that stop and restart NATS. The
/// process is killed and the directory removed on drop.
pub struct NatsServer {
    pub port: u16,
    pub store_dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl NatsServer {
    /// Starts a server and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("pick a free port")
            .port();
        let store_dir = std::env::temp_dir().join(unique("cl-nats-"));
        std::fs::create_dir_all(&store_dir).expect("create the NATS store dir");
        let mut server = Self {
            port,
            store_dir,
            child: None,
        };
        server.restart().await;
        server
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (like a crash: no lame-duck mode).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store directory.
    pub async fn restart(&mut self) {
        self.kill();
        let child = std::process::Command::new("nats-server")
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store_dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nats-server from PATH ({e})"));
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Ok(client) = async_nats::connect(self.url()).await {
                // Any answer means JetStream is up (the typed account query
                // of async-nats does not parse 2.9's reply).
                if client.request("$JS.API.INFO", "".into()).await.is_ok() {
                    return;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nats-server on port {} did not come up",
                self.port
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store_dir);
    }
}
