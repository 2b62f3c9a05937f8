//! Private nats-server processes for tests that need a server of their own:
//! a 3-node cluster, a server that demands credentials or TLS. Each runs on
//! free loopback ports with its store in a temporary directory, and is
//! killed when dropped, as nats.rs's own tests do (`nats-server::run_server`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The nats-server binary: `CL_TEST_NATS_SERVER` (scripts/test.sh sets it to
/// the current release), else `nats-server` on the PATH or Debian's.
pub fn nats_server_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("CL_TEST_NATS_SERVER") {
        return PathBuf::from(bin);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/nats-server")).filter(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "no nats-server binary: set CL_TEST_NATS_SERVER or run the tests through \
                 scripts/test.sh, which installs one"
            )
        })
}

/// A free TCP port on 127.0.0.1 (bound, then released for the server).
/// A port from [`free_port`] can be taken by another test's process before
/// nats-server binds it; the server then exits, and is started again on new
/// ports (at most this many tries).
const PORT_TRIES: usize = 3;

fn lost_a_port(log: &str) -> bool {
    log.contains("address already in use")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One nats-server with JetStream; killed on drop.
pub struct NatsServer {
    pub name: String,
    pub port: u16,
    pub monitor_port: u16,
    pub cluster_port: u16,
    dir: tempfile::TempDir,
    extra: String,
    routes: Vec<u16>,
    child: Option<Child>,
}

impl NatsServer {
    /// A single server with JetStream.
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// A single server; `extra` is appended to its configuration file
    /// (authorization, tls, operator blocks).
    pub async fn start_with(extra: &str) -> Self {
        for _ in 1..PORT_TRIES {
            let mut server = Self::new("s1", extra, Vec::new());
            server.spawn();
            match server.healthy().await {
                Ok(()) => return server,
                Err(log) if lost_a_port(&log) => continue,
                Err(log) => panic!("nats-server s1 never became healthy:\n{log}"),
            }
        }
        let mut server = Self::new("s1", extra, Vec::new());
        server.spawn();
        server.wait_healthy().await;
        server
    }

    fn new(name: &str, extra: &str, routes: Vec<u16>) -> Self {
        Self {
            name: name.to_owned(),
            port: free_port(),
            monitor_port: free_port(),
            cluster_port: free_port(),
            dir: tempfile::tempdir().expect("temp dir"),
            extra: extra.to_owned(),
            routes,
            child: None,
        }
    }

    /// The directory the server keeps its JetStream store in.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("js")
    }

    /// A directory beside the store for test files (certificates, creds).
    pub fn files(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn config(&self) -> String {
        let mut config = format!(
            "server_name: {name}\nlisten: 127.0.0.1:{port}\nhttp: 127.0.0.1:{monitor}\n\
             jetstream {{ store_dir: {store:?} }}\n",
            name = self.name,
            port = self.port,
            monitor = self.monitor_port,
            store = self.store_dir().display().to_string(),
        );
        if !self.routes.is_empty() {
            let routes: Vec<String> = self
                .routes
                .iter()
                .map(|p| format!("nats-route://127.0.0.1:{p}"))
                .collect();
            config.push_str(&format!(
                "cluster {{ name: cl, listen: 127.0.0.1:{}, routes: [{}] }}\n",
                self.cluster_port,
                routes.join(", ")
            ));
        }
        config.push_str(&self.extra);
        config
    }

    fn spawn(&mut self) {
        let conf = self.dir.path().join("server.conf");
        std::fs::write(&conf, self.config()).expect("write nats-server config");
        let log = std::fs::File::create(self.dir.path().join("server.log")).expect("log file");
        let child = Command::new(nats_server_bin())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", nats_server_bin().display()));
        self.child = Some(child);
    }

    /// The server's log so far, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again with the same name, ports and store.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_healthy().await;
    }

    /// Waits until `/healthz` answers 200: listening, and (clustered) in
    /// contact with a JetStream meta leader.
    pub async fn wait_healthy(&mut self) {
        if let Err(log) = self.healthy().await {
            panic!("nats-server {} never became healthy:\n{log}", self.name);
        }
    }

    /// Like [`Self::wait_healthy`], returning the log when the server exits
    /// or stays unhealthy for 30 s.
    async fn healthy(&mut self) -> Result<(), String> {
        let url = format!("http://127.0.0.1:{}/healthz", self.monitor_port);
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            if exited {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(self.log())
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three clustered servers with JetStream (n1..n3), routes between them.
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
}

impl NatsCluster {
    pub async fn start() -> Self {
        for attempt in 1..=PORT_TRIES {
            let mut nodes: Vec<NatsServer> = (1..=3)
                .map(|i| NatsServer::new(&format!("n{i}"), "", Vec::new()))
                .collect();
            let ports: Vec<u16> = nodes.iter().map(|n| n.cluster_port).collect();
            for node in &mut nodes {
                node.routes = ports
                    .iter()
                    .copied()
                    .filter(|p| *p != node.cluster_port)
                    .collect();
                node.spawn();
            }
            let mut failed = None;
            for node in &mut nodes {
                if let Err(log) = node.healthy().await {
                    failed = Some((node.name.clone(), log));
                    break;
                }
            }
            match failed {
                None => return Self { nodes },
                Some((_, log)) if lost_a_port(&log) && attempt < PORT_TRIES => continue,
                Some((name, log)) => panic!("nats-server {name} never became healthy:\n{log}"),
            }
        }
        unreachable!("the last try panics")
    }

    /// The seed list of every node's client URL, comma-separated.
    pub fn seeds(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}
