//! Log query filters: method, time range, headers, body text, hostile input.

use bytes::Bytes;
use chrono::{Duration, Utc};
use common::store::LogQuery;
use common::{Header, PathId, Store};
use uuid::Uuid;

use super::capture;

pub(super) async fn filters_by_method_and_time(store: Store) {
    let mut old = capture("p", b"old");
    old.received_at -= Duration::hours(2);
    let mut put = capture("p", b"put");
    put.method = "PUT".into();
    let post = capture("p", b"post");
    store
        .insert_batch(&[old.clone(), put.clone(), post.clone()])
        .await
        .unwrap();
    let path = PathId::parse("p").unwrap();
    let q = |f: fn(&mut LogQuery)| {
        let mut q = LogQuery {
            limit: 10,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let ids = |v: Vec<common::CaptureSummary>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let puts = store
        .list_captures(&path, &q(|q| q.method = Some("PUT".into())))
        .await
        .unwrap();
    assert_eq!(ids(puts), vec![put.id]);
    let recent = store
        .list_captures(
            &path,
            &q(|q| q.since = Some(Utc::now() - Duration::hours(1))),
        )
        .await
        .unwrap();
    assert_eq!(ids(recent), vec![post.id, put.id]);
    let older = store
        .list_captures(
            &path,
            &q(|q| q.until = Some(Utc::now() - Duration::hours(1))),
        )
        .await
        .unwrap();
    assert_eq!(ids(older), vec![old.id]);
}

pub(super) async fn filters_by_header_and_body_text_with_hostile_input(store: Store) {
    let mut a = capture(
        "p",
        b"{\"Event\":\"Push 100% done_now\", \"path\":\"C:\\\\x\"}",
    );
    a.headers.push(Header {
        name: "x-github-event".into(),
        value: Bytes::from_static(b"push"),
    });
    let mut b = capture("p", "caf\u{e9} o'reilly".as_bytes());
    b.headers.push(Header {
        name: "x-github-event".into(),
        value: Bytes::from_static(b"issues"),
    });
    let c = capture("p", b"\xff\xfebinary");
    store
        .insert_batch(&[a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();
    let path = PathId::parse("p").unwrap();
    let find = |header: Option<(&str, Option<&str>)>, text: Option<&str>| {
        let q = LogQuery {
            limit: 10,
            header: header.map(|(n, v)| (n.to_owned(), v.map(str::to_owned))),
            text: text.map(str::to_owned),
            ..Default::default()
        };
        let store = store.clone();
        let path = path.clone();
        async move {
            let mut ids: Vec<Uuid> = store
                .list_captures(&path, &q)
                .await
                .unwrap()
                .into_iter()
                .map(|s| s.id)
                .collect();
            let full: Vec<Uuid> = store
                .list_full(&path, &q)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect();
            assert_eq!(ids, full, "list_full applies the same filters");
            ids.sort();
            ids
        }
    };
    assert_eq!(
        find(Some(("x-github-event", None)), None).await,
        vec![a.id, b.id]
    );
    assert_eq!(
        find(Some(("x-github-event", Some("push"))), None).await,
        vec![a.id]
    );
    assert_eq!(
        find(Some(("x-github-event", Some("PUSH"))), None).await,
        Vec::<Uuid>::new()
    );
    assert_eq!(
        find(None, Some("PUSH 100%")).await,
        vec![a.id],
        "case-insensitive, % literal"
    );
    assert_eq!(find(None, Some("done_now")).await, vec![a.id]);
    assert_eq!(
        find(None, Some("%")).await,
        vec![a.id],
        "% is not a wildcard"
    );
    assert_eq!(
        find(None, Some("_")).await,
        vec![a.id],
        "_ is not a wildcard"
    );
    assert_eq!(
        find(None, Some("c:\\\\x")).await,
        vec![a.id],
        "backslashes match literally"
    );
    assert_eq!(
        find(None, Some("o'reilly")).await,
        vec![b.id],
        "quotes are bound, not spliced"
    );
    assert_eq!(
        find(None, Some("'; DROP TABLE captures; --")).await,
        Vec::<Uuid>::new()
    );
    assert_eq!(find(None, Some("binary")).await, vec![c.id]);
    assert_eq!(
        find(Some(("x-github-event", Some("push"))), Some("nothing")).await,
        Vec::<Uuid>::new()
    );
    assert_eq!(find(None, None).await.len(), 3, "nothing was dropped");
}
