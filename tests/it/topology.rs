//! The split topology as deployed: several ingests and queries sharing one
//! stream, and what happens when NATS or Postgres goes away.

use std::time::Duration;

use futures::StreamExt as _;
use serde_json::Value;

use crate::support::{spawn_app_with, Flags, Shape};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_webhooks_over_two_ingests_are_stored_once_and_seen_by_both_queries() {
    let app = spawn_app_with(
        Shape::Split,
        Flags {
            ingests: 2,
            queries: 2,
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    let sends = futures::stream::iter(0..5000).map(|i| {
        let ingest = &app.ingests[i % 2];
        let req = app
            .client
            .post(format!("{ingest}/webhook/{path}"))
            .body(format!("{{\"n\":{i}}}"));
        async move {
            for _ in 0..200 {
                let r = req.try_clone().unwrap().send().await.unwrap();
                match r.status().as_u16() {
                    200 => {
                        return r.json::<Value>().await.unwrap()["request_id"]
                            .as_str()
                            .unwrap()
                            .to_owned()
                    }
                    // The second ingest may not have the path yet.
                    404 => tokio::time::sleep(Duration::from_millis(10)).await,
                    s => panic!("webhook answered {s}"),
                }
            }
            panic!("path never reached ingest {ingest}");
        }
    });
    let mut acked: Vec<String> = sends.buffer_unordered(128).collect().await;
    acked.sort();
    for api in &app.apis {
        let mut stored = app.wait_count_at(api, &path, 5000).await;
        assert_eq!(stored.len(), 5000, "{api}: none doubled");
        stored.sort();
        assert_eq!(
            stored, acked,
            "{api}: every acknowledged capture, exactly once"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_answers_503_while_nats_is_down_and_recovers_by_itself() {
    let mut nats = testkit::NatsServer::start().await;
    let url = nats.url();
    let app = spawn_app_with(
        Shape::Split,
        Flags {
            nats_url: Some(&url),
            ..Flags::default()
        },
    )
    .await;
    let path = app.new_path().await;
    app.send(app.webhook("POST", &path, "").body("before"))
        .await;
    nats.kill();
    let r = app
        .webhook("POST", &path, "")
        .body("during")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        503,
        "never 2xx for a capture that is not durable"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    nats.restart().await;
    let mut recovered = None;
    for _ in 0..100 {
        let r = app
            .webhook("POST", &path, "")
            .body("after")
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            recovered = Some(
                r.json::<Value>().await.unwrap()["request_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = recovered.expect("ingest recovers once NATS is back");
    app.detail(&path, &id).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_keeps_captures_through_a_postgres_outage_and_catches_up() {
    let app = spawn_app_with(Shape::Split, Flags::default()).await;
    let path = app.new_path().await;
    app.send(app.webhook("POST", &path, "").body("before"))
        .await;
    app.wait_count(&path, 1).await;
    let db = app.database_name().expect("split has a database");
    let admin = testkit::postgres_admin_url();
    let sql = |stmt: String| {
        let admin = admin.clone();
        async move {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .unwrap();
            // Safe: test-only statements naming the test's own database.
            sqlx::raw_sql(sqlx::AssertSqlSafe(stmt))
                .execute(&mut c)
                .await
                .unwrap();
        }
    };
    // "Postgres down" for this service: refuse and cut every connection.
    sql(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false")).await;
    sql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'"
    ))
    .await;
    let mut during = Vec::new();
    for i in 0..50 {
        // Ingest does not need Postgres: captures keep being acknowledged.
        during.push(
            app.send(app.webhook("POST", &path, "").body(format!("{i}")))
                .await,
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    sql(format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true")).await;
    let stored = app.wait_count(&path, 51).await;
    assert_eq!(stored.len(), 51);
    for id in &during {
        assert!(stored.contains(id), "{id} lost across the outage");
    }
    app.stop().await;
}
