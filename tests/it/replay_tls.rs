//! Replay reaches https targets (staging is rarely plain http): TLS by
//! rustls, the target's CA trusted from the system store, here named by
//! `SSL_CERT_FILE` for the service process alone. Starts the real binary,
//! since the trust store is read from the process environment.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_callback-listener");

type Log = Arc<Mutex<Vec<(String, Bytes)>>>;

/// An https server on loopback with the test CA's certificate for
/// 127.0.0.1, recording each request's path and body.
async fn https_target(certs: &testkit::Certs) -> (String, Log) {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&certs.server_cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&certs.server_key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let path = req.uri().to_string();
                            let body = req.into_body().collect().await?.to_bytes();
                            seen.lock().unwrap().push((path, body));
                            Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (url, log)
}

fn standalone(port: u16, db: &str, ca: Option<&std::path::Path>) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.arg("standalone")
        .env("CL_LISTEN", format!("127.0.0.1:{port}"))
        .env("CL_DATABASE_URL", db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(ca) = ca {
        cmd.env("SSL_CERT_FILE", ca);
    }
    cmd.spawn().unwrap()
}

/// Starts a service, captures one webhook, replays it to `target` and
/// returns the finished job.
async fn replay_once(dir: &std::path::Path, ca: Option<&std::path::Path>, target: &str) -> Value {
    let port = testkit::free_port();
    let db = format!("sqlite://{}/app-{port}.db", dir.display());
    let _service = standalone(port, &db, ca);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/health/ready")).send().await {
            if r.status() == 200 {
                up = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "{base} never became ready");
    let path: Value = client
        .post(format!("{base}/api/paths"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = path["path_id"].as_str().unwrap().to_owned();
    let r = client
        .post(format!("{base}/webhook/{path}/event"))
        .body("over tls")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .post(format!("{base}/api/paths/{path}/replay"))
        .json(&json!({"target": target}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let job: Value = r.json().await.unwrap();
    let id = job["job_id"].as_str().unwrap().to_owned();
    for _ in 0..400 {
        let job: Value = client
            .get(format!("{base}/api/replays/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["state"] == "done" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replay job {id} did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_reaches_an_https_target_whose_ca_the_system_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let certs = testkit::Certs::generate(dir.path());
    let (target, log) = https_target(&certs).await;

    let job = replay_once(dir.path(), Some(&certs.ca), &format!("{target}/staging")).await;
    assert_eq!(job["succeeded"], 1, "{job}");
    let got = log.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "/staging/event");
    assert_eq!(got[0].1, Bytes::from_static(b"over tls"));

    // Without the CA, the certificate is refused: an error, not a send.
    let job = replay_once(dir.path(), None, &format!("{target}/staging")).await;
    assert_eq!(job["succeeded"], 0, "{job}");
    assert_eq!(job["errors"], 1, "{job}");
    let error = job["results"][0]["error"].as_str().unwrap_or_default();
    assert!(!error.is_empty(), "{job}");
    assert_eq!(log.lock().unwrap().len(), 1, "nothing sent without trust");
}
