//! Reading captures back: keyset pagination and filters.

use std::collections::HashSet;

use crate::both_shapes;
use crate::support::{spawn_app, Shape};

async fn pagination_over_120_captures_has_no_gap_or_duplicate(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let mut sent = Vec::new();
    for i in 0..120 {
        sent.push(
            app.send(app.webhook("POST", &path, "").body(format!("{i}")))
                .await,
        );
    }
    app.wait_count(&path, 120).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/paths/{path}/logs?limit=25&cursor={c}"),
            None => format!("/api/paths/{path}/logs?limit=25"),
        };
        let page = app.get_json(&q).await;
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 25);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 5, "120 items in pages of 25, no empty last page");
    sent.reverse();
    assert_eq!(seen, sent, "newest first, each exactly once");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 120);
    app.stop().await;
}

async fn logs_filter_by_method_and_time(shape: Shape) {
    let app = spawn_app(shape).await;
    let path = app.new_path().await;
    let put = app.send(app.webhook("PUT", &path, "")).await;
    let post = app.send(app.webhook("POST", &path, "")).await;
    app.wait_count(&path, 2).await;
    let only_put = app
        .get_json(&format!("/api/paths/{path}/logs?method=PUT"))
        .await;
    let ids: Vec<&str> = only_put["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [put.as_str()]);
    let future = app
        .get_json(&format!(
            "/api/paths/{path}/logs?since=2999-01-01T00:00:00Z"
        ))
        .await;
    assert!(future["items"].as_array().unwrap().is_empty());
    let past = app
        .get_json(&format!(
            "/api/paths/{path}/logs?until=2999-01-01T00:00:00%2B01:00"
        ))
        .await;
    assert_eq!(past["items"].as_array().unwrap().len(), 2);
    assert_eq!(past["items"][0]["id"], post.as_str());
    app.stop().await;
}

async fn paths_can_be_listed_read_and_deleted_with_their_captures(shape: Shape) {
    let app = spawn_app(shape).await;
    let r = app
        .create_path(serde_json::json!({"path_id": "github-prod_1"}))
        .await;
    assert_eq!(r.status(), 201);
    let created: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        created["webhook_url"],
        format!("{}/webhook/github-prod_1", app.ingest)
    );
    app.wait_accepts("github-prod_1").await;
    app.send(app.webhook("POST", "github-prod_1", "")).await;
    app.wait_count("github-prod_1", 1).await;
    let one = app.get_json("/api/paths/github-prod_1").await;
    assert_eq!(one["path_id"], "github-prod_1");
    let list = app.get_json("/api/paths").await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["path_id"] == "github-prod_1"));
    let auto = app.create_path(serde_json::json!({})).await;
    assert_eq!(auto.status(), 201);
    let empty_body = app
        .client
        .post(format!("{}/api/paths", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(empty_body.status(), 201, "a body is optional");

    let del = app
        .client
        .delete(format!("{}/api/paths/github-prod_1", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(app.get("/api/paths/github-prod_1").await.status(), 404);
    assert_eq!(app.get("/api/paths/github-prod_1/logs").await.status(), 404);
    // Ingest refuses the deleted path once the registry has it (within 1 s).
    let mut refused = false;
    for _ in 0..100 {
        let r = app
            .webhook("POST", "github-prod_1", "")
            .send()
            .await
            .unwrap();
        if r.status() == 404 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "a deleted path stops accepting webhooks");
    app.stop().await;
}

both_shapes!(
    pagination_over_120_captures_has_no_gap_or_duplicate,
    logs_filter_by_method_and_time,
    paths_can_be_listed_read_and_deleted_with_their_captures,
);
