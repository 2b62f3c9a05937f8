//! No path id ever becomes a label value: routes are templates, and an
//! unknown path's id (a guess, a typo, a scan) is no exception.

use super::{ready, scrape, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_leave_no_path_id_in_any_label() {
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/l.db", dir.path().display());
    let port = testkit::free_port();
    let _child = start("standalone", port, &[("CL_DATABASE_URL", sqlite.as_str())]);
    let base = format!("http://127.0.0.1:{port}");
    ready(&client, &base).await;

    let (known, unknown) = ("labelcheckknown0001", "labelcheckunknown02");
    let r = client
        .post(format!("{base}/api/paths"))
        .json(&serde_json::json!({"path_id": known, "private": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    for url in [
        format!("{base}/webhook/{known}"),
        format!("{base}/webhook/{known}/sub/{known}"),
        format!("{base}/webhook/{unknown}"),
        format!("{base}/api/paths/{known}/logs"),
        format!("{base}/api/paths/{unknown}"),
        format!("{base}/{known}"),
    ] {
        client.post(&url).body("{}").send().await.unwrap();
        client.get(&url).send().await.unwrap();
    }
    // A sender's own method name is folded into `_OTHER`.
    let odd = reqwest::Method::from_bytes(b"XYZZYMETHOD").unwrap();
    client
        .request(odd, format!("{base}/webhook/{known}"))
        .send()
        .await
        .unwrap();

    let text = scrape(&client, &base).await;
    assert!(
        text.contains("http_route=\"/webhook/{path_id}/{*subpath}\""),
        "routes are labelled by template: {text}"
    );
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        for secret in [known, unknown, "XYZZYMETHOD"] {
            assert!(!line.contains(secret), "{secret} in a label: {line}");
        }
    }
    assert!(text.contains("http_request_method=\"_OTHER\""));
}
