//! Positions in commit order (issue 15), the promise live feeds resume on:
//! every stored capture has one, assigned when its batch commits, never
//! reused, without holes; a committed head means everything below it is
//! committed.

use common::{PathId, Store};
use uuid::Uuid;

use super::capture;

async fn listed(store: &Store, path: Option<&str>, after: i64, upto: i64) -> Vec<(i64, Uuid)> {
    let path = path.map(|p| PathId::parse(p).unwrap());
    store
        .list_positions(path.as_ref(), after, upto, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|(p, s)| (p, s.id))
        .collect()
}

/// A capture with a smaller id committed later gets the larger position.
pub async fn positions_follow_commit_order_not_ids(store: Store) {
    assert_eq!(store.head().await.unwrap(), 0);
    let (a, b) = (capture("p", b"a"), capture("p", b"b"));
    assert!(a.id < b.id);
    let first = store.insert_batch(std::slice::from_ref(&b)).await.unwrap();
    assert_eq!((first.prev, first.inserted.clone()), (0, vec![(b.id, 1)]));
    let second = store.insert_batch(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!((second.prev, second.inserted.clone()), (1, vec![(a.id, 2)]));
    assert_eq!(store.head().await.unwrap(), 2);
    assert_eq!(listed(&store, None, 0, 2).await, vec![(1, b.id), (2, a.id)]);
    assert_eq!(listed(&store, None, 1, 2).await, vec![(2, a.id)]);
    assert_eq!(listed(&store, None, 0, 1).await, vec![(1, b.id)]);
    assert_eq!(store.resume_position(b.id).await.unwrap(), 1);
    assert_eq!(store.resume_position(a.id).await.unwrap(), 2);
}

/// Only rows a batch really inserts get positions, in id order: a
/// redelivery (or a duplicate within the batch) leaves no hole.
pub async fn redelivered_captures_get_no_position(store: Store) {
    let mut batch = vec![capture("p", b"1"), capture("p", b"2")];
    batch.sort_by_key(|c| c.id);
    let done = store.insert_batch(&batch).await.unwrap();
    assert_eq!(done.prev, 0);
    assert_eq!(done.inserted, vec![(batch[0].id, 1), (batch[1].id, 2)]);
    let c = capture("p", b"3");
    let again = store
        .insert_batch(&[batch[1].clone(), c.clone(), batch[0].clone(), c.clone()])
        .await
        .unwrap();
    assert_eq!((again.prev, again.inserted), (2, vec![(c.id, 3)]));
    let nothing = store.insert_batch(std::slice::from_ref(&c)).await.unwrap();
    assert_eq!((nothing.prev, nothing.inserted.len()), (3, 0));
    assert_eq!(store.head().await.unwrap(), 3);
}

/// One path's catch-up, paged by position.
pub async fn list_positions_filters_by_path_and_pages(store: Store) {
    let batch = vec![capture("a", b"1"), capture("b", b"2"), capture("a", b"3")];
    let done = store.insert_batch(&batch).await.unwrap();
    let pos: Vec<i64> = done.inserted.iter().map(|&(_, p)| p).collect();
    assert_eq!(pos, vec![1, 2, 3]);
    let ids: Vec<Uuid> = batch.iter().map(|c| c.id).collect();
    assert_eq!(done.inserted, vec![(ids[0], 1), (ids[1], 2), (ids[2], 3)]);
    let a = vec![(1, ids[0]), (3, ids[2])];
    assert_eq!(listed(&store, Some("a"), 0, 3).await, a);
    assert_eq!(listed(&store, Some("b"), 2, 3).await, vec![]);
    let page = store.list_positions(None, 0, 3, 2).await.unwrap();
    let page: Vec<Uuid> = page.into_iter().map(|(_, s)| s.id).collect();
    assert_eq!(page, ids[..2]);
}

/// Deleting the newest captures never lets their positions come back, and
/// a resume point the store no longer has falls back as documented.
pub async fn positions_survive_deletes_and_resume_falls_back(store: Store) {
    let old = capture("keep", b"old");
    store
        .insert_batch(std::slice::from_ref(&old))
        .await
        .unwrap();
    let gone = capture("gone", b"1");
    store
        .insert_batch(std::slice::from_ref(&gone))
        .await
        .unwrap();
    let later = capture("keep", b"later");
    assert_eq!(store.clear_captures(&gone.path_id).await.unwrap(), 1);
    assert_eq!(store.head().await.unwrap(), 2);
    let done = store
        .insert_batch(std::slice::from_ref(&later))
        .await
        .unwrap();
    assert_eq!((done.prev, done.inserted), (2, vec![(later.id, 3)]));
    // Deleted: just before the first capture with a larger id.
    assert_eq!(store.resume_position(gone.id).await.unwrap(), 2);
    // Above every id: the head (nothing newer to send).
    assert_eq!(store.resume_position(Uuid::max()).await.unwrap(), 3);
    assert_eq!(store.resume_position(old.id).await.unwrap(), 1);
}

/// Concurrent writers: positions are distinct, contiguous per batch and
/// without holes, and a reader never sees a head above a missing row.
pub async fn concurrent_batches_commit_in_position_order(store: Store) {
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut committed = Vec::new();
                for b in 0..10 {
                    let batch: Vec<_> = (0..10)
                        .map(|i| capture("c", format!("{w}-{b}-{i}").as_bytes()))
                        .collect();
                    committed.push(store.insert_batch(&batch).await.unwrap());
                }
                committed
            })
        })
        .collect();
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                let head = store.head().await.unwrap();
                let rows = store.list_positions(None, 0, head, 1000).await.unwrap();
                assert_eq!(rows.len() as i64, head, "a hole below the head");
                if head == 400 {
                    return;
                }
            }
        })
    };
    let mut all = Vec::new();
    for w in writers {
        for done in w.await.unwrap() {
            let expected: Vec<i64> = (done.prev + 1..=done.prev + 10).collect();
            let got: Vec<i64> = done.inserted.iter().map(|&(_, p)| p).collect();
            assert_eq!(got, expected, "a batch's positions follow its prev");
            all.extend(got);
        }
    }
    reader.await.unwrap();
    all.sort_unstable();
    assert_eq!(all, (1..=400).collect::<Vec<i64>>());
}
