//! The replay-job state machine the store guards (see
//! `common/src/store/replay_jobs.rs`): a cancel or an interruption made by
//! anyone sticks, whatever the runner saves afterwards; a finished job
//! never moves again.

use chrono::{Duration, Utc};
use common::store::{JobState, ReplayJobRecord};
use common::{PathId, Store};
use uuid::Uuid;

fn record(state: JobState) -> ReplayJobRecord {
    ReplayJobRecord {
        id: Uuid::now_v7(),
        path_id: PathId::random(),
        state,
        doc: r#"{"opaque":true}"#.into(),
        heartbeat: Utc::now(),
    }
}

pub async fn replay_jobs_follow_the_state_machine(store: Store) {
    assert_eq!(store.get_replay_job(Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(
        store
            .finish_replay_job(Uuid::now_v7(), JobState::Cancelled)
            .await
            .unwrap(),
        None,
        "finishing a job that does not exist"
    );

    // queued -> running -> done, each save answering the state it stored.
    let mut job = record(JobState::Queued);
    assert_eq!(store.save_replay_job(&job).await.unwrap(), JobState::Queued);
    job.state = JobState::Running;
    job.doc = r#"{"sent":1}"#.into();
    assert_eq!(
        store.save_replay_job(&job).await.unwrap(),
        JobState::Running
    );
    let stored = store.get_replay_job(job.id).await.unwrap().unwrap();
    assert_eq!(stored.doc, job.doc);
    assert_eq!(stored.path_id, job.path_id);
    assert_eq!(
        stored.heartbeat.timestamp_micros(),
        job.heartbeat.timestamp_micros()
    );
    job.state = JobState::Done;
    assert_eq!(store.save_replay_job(&job).await.unwrap(), JobState::Done);
    // A finished job is not cancelled afterwards.
    assert_eq!(
        store
            .finish_replay_job(job.id, JobState::Cancelled)
            .await
            .unwrap(),
        Some(JobState::Done)
    );

    // A cancel (from another process) sticks through the runner's later
    // saves, which still update the document and the heartbeat.
    for sticky in [JobState::Cancelled, JobState::Interrupted] {
        let mut job = record(JobState::Running);
        store.save_replay_job(&job).await.unwrap();
        assert_eq!(
            store.finish_replay_job(job.id, sticky).await.unwrap(),
            Some(sticky)
        );
        job.doc = r#"{"sent":2}"#.into();
        for late in [JobState::Running, JobState::Done] {
            job.state = late;
            assert_eq!(
                store.save_replay_job(&job).await.unwrap(),
                sticky,
                "{late:?}"
            );
        }
        let stored = store.get_replay_job(job.id).await.unwrap().unwrap();
        assert_eq!(stored.state, sticky);
        assert_eq!(stored.doc, job.doc);
    }
}

pub async fn stale_replay_jobs_are_interrupted(store: Store) {
    let old = Utc::now() - Duration::seconds(60);
    let mut stale = record(JobState::Running);
    stale.heartbeat = old;
    let mut stale_queued = record(JobState::Queued);
    stale_queued.heartbeat = old;
    let fresh = record(JobState::Running);
    let mut finished = record(JobState::Done);
    finished.heartbeat = old;
    for job in [&stale, &stale_queued, &fresh, &finished] {
        store.save_replay_job(job).await.unwrap();
    }
    let cutoff = Utc::now() - Duration::seconds(10);
    // Other tests' jobs may share the database: count only ours.
    store.interrupt_stale_replay_jobs(cutoff).await.unwrap();
    let state = |id| {
        let store = store.clone();
        async move { store.get_replay_job(id).await.unwrap().unwrap().state }
    };
    assert_eq!(state(stale.id).await, JobState::Interrupted);
    assert_eq!(state(stale_queued.id).await, JobState::Interrupted);
    assert_eq!(state(fresh.id).await, JobState::Running);
    assert_eq!(state(finished.id).await, JobState::Done);
}
