//! Store conformance: every check runs against SQLite and Postgres.

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use common::store::LogQuery;
use common::{Capture, Header, PathId, PathInfo, Store, StoreError};
use uuid::Uuid;

mod filters;
mod positions;
mod replay_jobs;
use filters::*;
use positions::*;
use replay_jobs::*;

pub fn capture(path: &str, body: &[u8]) -> Capture {
    let now = Utc::now();
    Capture {
        id: Uuid::now_v7(),
        path_id: PathId::parse(path).unwrap(),
        method: "POST".into(),
        subpath: "/x".into(),
        query_string: "a=1&a=2".into(),
        headers: vec![
            Header {
                name: "x-dup".into(),
                value: Bytes::from_static(b"1"),
            },
            Header {
                name: "content-type".into(),
                value: Bytes::from_static(b"application/json"),
            },
            Header {
                name: "x-dup".into(),
                value: Bytes::from_static(b"2"),
            },
            Header {
                name: "x-bin".into(),
                value: Bytes::from_static(b"\xff\xfe"),
            },
        ],
        header_order: common::HeaderOrder::Grouped,
        body: Bytes::copy_from_slice(body),
        ip: "127.0.0.1".into(),
        received_at: DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap(),
        signature: None,
        response: None,
    }
}

async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/t.db", dir.path().display()))
        .await
        .unwrap();
    (store, dir)
}

async fn postgres() -> (Store, testkit::TestDb) {
    let db = testkit::TestDb::new().await;
    let store = Store::connect(&db.url).await.unwrap();
    (store, db)
}

async fn paths_are_created_once_listed_and_deleted(store: Store) {
    let id = PathId::parse("p1").unwrap();
    let info = PathInfo::new(id.clone());
    store.create_path(&info).await.unwrap();
    assert!(matches!(
        store.create_path(&info).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get_path(&id).await.unwrap(), Some(info.clone()));
    assert_eq!(store.list_paths().await.unwrap(), vec![info]);
    store.insert_batch(&[capture("p1", b"x")]).await.unwrap();
    assert!(store.delete_path(&id).await.unwrap());
    assert!(!store.delete_path(&id).await.unwrap());
    assert_eq!(store.get_path(&id).await.unwrap(), None);
    let left = store
        .list_captures(
            &id,
            &LogQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(left.is_empty(), "deleting a path removes its captures");
}

async fn insert_batch_is_idempotent_on_the_id(store: Store) {
    let a = capture("p", b"a");
    let b = capture("p", b"b");
    let inserted = |done: common::store::Committed| done.inserted.len();
    assert_eq!(
        inserted(store.insert_batch(&[a.clone(), b.clone()]).await.unwrap()),
        2
    );
    assert_eq!(
        inserted(store.insert_batch(&[a.clone(), b.clone()]).await.unwrap()),
        0
    );
    let c = capture("p", b"c");
    assert_eq!(inserted(store.insert_batch(&[a, c]).await.unwrap()), 1);
    let all = store
        .list_captures(
            &PathId::parse("p").unwrap(),
            &LogQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
}

async fn the_answer_sent_round_trips_with_the_capture(store: Store) {
    let mut with = capture("answered", b"{}");
    with.response = Some(common::capture::SentResponse {
        rule: Some(1),
        rule_name: Some("first three".into()),
        status: 500,
        headers: vec![("retry-after".into(), "1".into())],
        body: "try again".into(),
        delay_ms: 5,
        error: None,
    });
    let without = capture("answered", b"{}");
    store
        .insert_batch(&[with.clone(), without.clone()])
        .await
        .unwrap();
    let path = with.path_id.clone();
    assert_eq!(store.get_capture(&path, with.id).await.unwrap(), Some(with));
    assert_eq!(
        store.get_capture(&path, without.id).await.unwrap(),
        Some(without)
    );
}

async fn workspaces_keys_and_audit_round_trip(store: Store) {
    use common::workspaces::{ApiKey, AuditEntry, Quotas, Scope, Workspace, WorkspaceId};
    let micros = |t: DateTime<Utc>| DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap();
    let now = micros(Utc::now());
    let ws = Workspace {
        id: WorkspaceId::parse("team-a").unwrap(),
        created_at: now,
        quotas: Quotas {
            max_paths: Some(3),
            webhooks_per_second: Some(50),
            ..Quotas::default()
        },
        over_quota: None,
    };
    store.create_workspace(&ws).await.unwrap();
    assert!(matches!(
        store.create_workspace(&ws).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get_workspace(&ws.id).await.unwrap(), Some(ws.clone()));
    let names: Vec<String> = store
        .list_workspaces()
        .await
        .unwrap()
        .iter()
        .map(|w| w.id.to_string())
        .collect();
    assert_eq!(names, ["default", "team-a"]);
    // A path of the workspace carries its webhook rate.
    let mut path = PathInfo::new(PathId::parse("in-a").unwrap());
    path.workspace = ws.id.clone();
    store.create_path(&path).await.unwrap();
    let read = store.get_path(&path.path_id).await.unwrap().unwrap();
    assert_eq!(
        (read.workspace.clone(), read.workspace_rate),
        (ws.id.clone(), Some(50))
    );
    assert_eq!(store.count_paths(&ws.id).await.unwrap(), 1);

    // Storage usage per workspace, and the over-quota mark its paths carry.
    let mut c = capture("in-a", b"12345");
    c.path_id = path.path_id.clone();
    store.insert_batch(&[c]).await.unwrap();
    let usage = store.workspace_usage().await.unwrap();
    assert!(usage.contains(&(ws.id.clone(), 1, 5)), "{usage:?}");
    store
        .set_over_quota(&ws.id, Some("max_captures"))
        .await
        .unwrap();
    let read = store.get_path(&path.path_id).await.unwrap().unwrap();
    assert_eq!(read.workspace_over.as_deref(), Some("max_captures"));
    assert_eq!(
        store
            .get_workspace(&ws.id)
            .await
            .unwrap()
            .unwrap()
            .over_quota
            .as_deref(),
        Some("max_captures")
    );
    store.set_over_quota(&ws.id, None).await.unwrap();
    assert_eq!(
        store
            .get_path(&path.path_id)
            .await
            .unwrap()
            .unwrap()
            .workspace_over,
        None
    );

    let key = ApiKey {
        id: Uuid::now_v7(),
        workspace: ws.id.clone(),
        name: "ci".into(),
        prefix: "clk_abcdefgh".into(),
        hash: "ab".repeat(32),
        scope: Scope::Write,
        created_at: now,
        expires_at: Some(now + Duration::days(1)),
        revoked_at: None,
        last_used_at: None,
    };
    store.create_key(&key).await.unwrap();
    assert_eq!(
        store.key_by_hash(&key.hash).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(store.key_by_hash("nope").await.unwrap(), None);
    store.touch_key(key.id, now).await.unwrap();
    let other = WorkspaceId::default();
    assert!(
        !store.revoke_key(&other, key.id, now).await.unwrap(),
        "another workspace's key"
    );
    assert!(store.revoke_key(&ws.id, key.id, now).await.unwrap());
    assert!(
        !store.revoke_key(&ws.id, key.id, now).await.unwrap(),
        "already revoked"
    );
    let listed = store.list_keys(&ws.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].revoked_at, listed[0].last_used_at),
        (Some(now), Some(now))
    );
    assert!(store.list_keys(&other).await.unwrap().is_empty());

    let mut ids = Vec::new();
    for i in 0..5 {
        let e = AuditEntry {
            id: Uuid::now_v7(),
            workspace: ws.id.clone(),
            at: now,
            actor: "admin".into(),
            action: format!("a{i}"),
            target: "t".into(),
            detail: serde_json::json!({"i": i}),
        };
        store.append_audit(&e).await.unwrap();
        ids.push(e.id);
    }
    let page = store.list_audit(&ws.id, None, 3).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["a4", "a3", "a2"]
    );
    let rest = store.list_audit(&ws.id, Some(page[2].id), 3).await.unwrap();
    assert_eq!(
        rest.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["a1", "a0"]
    );
    assert_eq!(rest[1].detail, serde_json::json!({"i": 0}));
    assert!(store.list_audit(&other, None, 10).await.unwrap().is_empty());
}

async fn captures_round_trip_byte_for_byte(store: Store) {
    let mut body = vec![0u8, 159, 146, 150, b'\n', 0xff];
    body.extend((0..=255u8).cycle().take(70_000));
    let c = capture("p", &body);
    store.insert_batch(std::slice::from_ref(&c)).await.unwrap();
    let back = store.get_capture(&c.path_id, c.id).await.unwrap().unwrap();
    assert_eq!(back, c);
    let other = PathId::parse("other").unwrap();
    assert_eq!(store.get_capture(&other, c.id).await.unwrap(), None);
    assert_eq!(
        store.get_capture(&c.path_id, Uuid::now_v7()).await.unwrap(),
        None
    );
}

async fn pagination_is_keyset_newest_first_without_gaps(store: Store) {
    let mut ids = Vec::new();
    // Several batches, as the writer would send them.
    for chunk in 0..6 {
        let batch: Vec<Capture> = (0..20)
            .map(|i| capture("p", format!("{chunk}-{i}").as_bytes()))
            .collect();
        ids.extend(batch.iter().map(|c| c.id));
        store.insert_batch(&batch).await.unwrap();
    }
    store
        .insert_batch(&[capture("elsewhere", b"")])
        .await
        .unwrap();
    let path = PathId::parse("p").unwrap();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_captures(
                &path,
                &LogQuery {
                    limit: 7,
                    before,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        before = page.last().map(|s| s.id);
        seen.extend(page.into_iter().map(|s| s.id));
    }
    ids.reverse();
    assert_eq!(seen, ids, "every capture once, newest first");
}

async fn settings_are_updated_and_read_back(store: Store) {
    let mut info = PathInfo::new(PathId::parse("s").unwrap());
    store.create_path(&info).await.unwrap();
    info.settings.max_requests = Some(5);
    info.settings.response = Some(common::paths::CustomResponse {
        status: 201,
        headers: vec![("x-a".into(), "1".into())],
        body: "{}".into(),
        body_template: None,
        delay_ms: 0,
    });
    // Rules and targets are settings too, and come back compiled.
    info.settings.routing = common::rules::Routing::from_value(&serde_json::json!({
        "rules": [{"when": {"header": {"name": "x-a", "regex": "^[0-9]+$"}}, "sequence": {"first": 3},
                   "response": {"status": 500, "body_template": "{{ request.id }}"}}],
        "targets": [{"name": "t", "url": "http://127.0.0.1:9/", "transform": {"json": {"remove": ["/a"]}}}]
    }))
    .unwrap();
    info.settings.routing_revision = Some("r1".into());
    assert!(store.update_path(&info).await.unwrap());
    assert_eq!(
        store.get_path(&info.path_id).await.unwrap(),
        Some(info.clone())
    );
    assert_eq!(store.list_paths().await.unwrap(), vec![info]);
    let ghost = PathInfo::new(PathId::parse("ghost").unwrap());
    assert!(!store.update_path(&ghost).await.unwrap());
}

async fn retention_prunes_in_batches_and_clear_empties(store: Store) {
    let path = PathId::parse("r").unwrap();
    let mut old = capture("r", b"old");
    old.received_at -= Duration::days(2);
    let mut all = vec![old.clone()];
    all.extend((0..30).map(|i| capture("r", format!("{i}").as_bytes())));
    store.insert_batch(&all).await.unwrap();
    store.insert_batch(&[capture("other", b"")]).await.unwrap();
    let cutoff = Some(Utc::now() - Duration::days(1));
    assert_eq!(
        store.prune_batch(&path, None, cutoff, 100).await.unwrap(),
        1
    );
    let mut removed = 0;
    loop {
        let n = store.prune_batch(&path, Some(10), None, 7).await.unwrap();
        assert!(n <= 7);
        if n == 0 {
            break;
        }
        removed += n;
    }
    assert_eq!(removed, 20);
    let left: Vec<Uuid> = store
        .list_captures(
            &path,
            &LogQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let newest: Vec<Uuid> = all.iter().rev().take(10).map(|c| c.id).collect();
    assert_eq!(left, newest, "the newest are kept");
    assert_eq!(store.clear_captures(&path).await.unwrap(), 10);
    let other = PathId::parse("other").unwrap();
    assert_eq!(
        store
            .list_captures(
                &other,
                &LogQuery {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn ping_answers(store: Store) {
    store.ping().await.unwrap();
}

macro_rules! conformance {
    ($backend:ident: $($check:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $check() {
                    let (store, _guard) = super::$backend().await;
                    super::$check(store).await;
                }
            )*
        }
    };
}

macro_rules! both {
    ($($check:ident),* $(,)?) => {
        conformance!(sqlite: $($check),*);
        conformance!(postgres: $($check),*);
    };
}

both!(
    paths_are_created_once_listed_and_deleted,
    insert_batch_is_idempotent_on_the_id,
    captures_round_trip_byte_for_byte,
    pagination_is_keyset_newest_first_without_gaps,
    filters_by_method_and_time,
    positions_follow_commit_order_not_ids,
    redelivered_captures_get_no_position,
    list_positions_filters_by_path_and_pages,
    positions_survive_deletes_and_resume_falls_back,
    concurrent_batches_commit_in_position_order,
    settings_are_updated_and_read_back,
    the_answer_sent_round_trips_with_the_capture,
    workspaces_keys_and_audit_round_trip,
    filters_by_header_and_body_text_with_hostile_input,
    retention_prunes_in_batches_and_clear_empties,
    ping_answers,
    replay_jobs_follow_the_state_machine,
    stale_replay_jobs_are_interrupted,
);

/// Paths and captures stored before workspaces existed (the schema of
/// migration 0008) are all kept, in the `default` workspace.
mod before_workspaces {
    use super::*;
    use std::borrow::Cow;

    const OLD: usize = 8;

    async fn check(store: Store, id: Uuid) {
        let path = PathId::parse("old-path").unwrap();
        let info = store
            .get_path(&path)
            .await
            .unwrap()
            .expect("the path is kept");
        assert!(info.workspace.is_default());
        assert_eq!(store.list_paths().await.unwrap().len(), 1);
        let c = store
            .get_capture(&path, id)
            .await
            .unwrap()
            .expect("the capture is kept");
        assert_eq!(c.body.as_ref(), b"{}");
        let ws: Vec<String> = store
            .list_workspaces()
            .await
            .unwrap()
            .iter()
            .map(|w| w.id.to_string())
            .collect();
        assert_eq!(ws, ["default"]);
        assert_eq!(store.count_paths(&info.workspace).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/old.db?mode=rwc", dir.path().display());
        {
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let mut old = sqlx::migrate!("./migrations_sqlite");
            old.migrations = Cow::Owned(old.migrations[..OLD].to_vec());
            old.run(&pool).await.unwrap();
            sqlx::query("INSERT INTO paths (path_id, created_at, settings) VALUES ('old-path', 1700000000000000, '{}')")
                .execute(&pool)
                .await
                .unwrap();
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO captures (id, path_id, method, subpath, query_string, headers, body, ip, \
                 body_size, received_at, position) \
                 VALUES (?, 'old-path', 'POST', '', '', '[]', X'7B7D', '127.0.0.1', 2, 1700000000000000, 1)",
            )
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
            let store = Store::connect(&url).await.unwrap();
            check(store, id).await;
        }
    }

    #[tokio::test]
    async fn postgres() {
        let db = testkit::TestDb::new().await;
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let mut old = sqlx::migrate!("../migrations");
        old.migrations = Cow::Owned(old.migrations[..OLD].to_vec());
        old.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO paths (path_id, created_at, settings) VALUES ('old-path', now(), '{}')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO captures (id, path_id, method, subpath, query_string, headers, body, ip, \
             body_size, received_at, position) \
             VALUES ($1, 'old-path', 'POST', '', '', '[]', '\\x7b7d', '127.0.0.1', 2, now(), 1)",
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
        let store = Store::connect(&db.url).await.unwrap();
        check(store, id).await;
    }
}
