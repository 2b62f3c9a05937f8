//! The in-process bus of the standalone shape. `publish` hands the capture to
//! the writer (`consume`) and waits for its commit: many concurrent webhooks
//! share one SQLite transaction (group commit), and none is answered before
//! its row is on disk.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::{Announced, BusBackend, BusError, CommittedHere, LiveFeed, Parts, PathRegistry};
use crate::capture::Capture;
use crate::store::Store;
use crate::trace_context;

/// Captures waiting for the writer; bounds memory when the disk is slow.
const QUEUE: usize = 4096;
/// Most captures per transaction.
const MAX_BATCH: usize = 1024;
/// Most body bytes per transaction, so a burst of 16 MiB bodies stays bounded.
const MAX_BATCH_BYTES: usize = 32 << 20;

struct Pending {
    capture: Capture,
    /// The publisher's trace, continued by the writer's span.
    trace: Option<opentelemetry::Context>,
    done: oneshot::Sender<Result<(), BusError>>,
}

pub struct MemoryBus {
    tx: mpsc::Sender<Pending>,
    rx: Mutex<Option<mpsc::Receiver<Pending>>>,
    live: LiveFeed,
    committed: CommittedHere,
}

impl MemoryBus {
    /// The transport and its handles; the registry is a local table.
    pub(crate) fn start() -> Parts {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (live, committed) = (LiveFeed::default(), CommittedHere::default());
        Parts {
            transport: Arc::new(Self {
                tx,
                rx: Mutex::new(Some(rx)),
                live: live.clone(),
                committed: committed.clone(),
            }),
            live,
            registry: PathRegistry::local(),
            committed,
        }
    }

    async fn commit(&self, store: &Store, batch: Vec<Pending>) {
        let mut captures: Vec<Capture> = Vec::with_capacity(batch.len());
        let mut waiters = Vec::with_capacity(batch.len());
        let mut spans = Vec::with_capacity(batch.len());
        for p in batch {
            spans.push(trace_context::written_span(p.capture.id, p.trace));
            captures.push(p.capture);
            waiters.push(p.done);
        }
        let write = tracing::info_span!("store.insert_batch", batch = captures.len());
        let stored = async {
            store.judge_signatures(&mut captures).await?;
            store.insert_batch(&captures).await
        };
        match stored.instrument(write).await {
            Ok(committed) => {
                for w in waiters {
                    let _ = w.send(Ok(()));
                }
                // One writer: batches are announced in commit (position) order.
                for a in Announced::batch(&captures, &committed) {
                    self.live.announce(a);
                }
                captures.sort_by_key(|c| c.id);
                for c in captures {
                    self.committed.committed(c);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batch = captures.len(), "group commit failed");
                let reason = e.to_string();
                for w in waiters {
                    let _ = w.send(Err(BusError::Unavailable(reason.clone())));
                }
            }
        }
        drop(spans);
    }
}

#[async_trait]
impl BusBackend for MemoryBus {
    async fn publish(&self, capture: Capture) -> Result<(), BusError> {
        let (done, committed) = oneshot::channel();
        self.tx
            .send(Pending {
                capture,
                trace: trace_context::of_span(&tracing::Span::current()),
                done,
            })
            .await
            .map_err(|_| BusError::Closed)?;
        committed.await.map_err(|_| BusError::Closed)?
    }

    async fn consume(&self, store: Store, shutdown: CancellationToken) -> Result<(), BusError> {
        let mut rx = self
            .rx
            .lock()
            .await
            .take()
            .ok_or_else(|| BusError::Unavailable("consume is already running".into()))?;
        loop {
            let first = tokio::select! {
                p = rx.recv() => p,
                () = shutdown.cancelled() => break,
            };
            let Some(first) = first else { break };
            let mut bytes = first.capture.body.len();
            let mut batch = vec![first];
            // Whatever queued while the previous commit ran joins this one.
            while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
                match rx.try_recv() {
                    Ok(p) => {
                        bytes += p.capture.body.len();
                        batch.push(p);
                    }
                    Err(_) => break,
                }
            }
            self.commit(&store, batch).await;
        }
        // Shutdown: refuse new publishes, then commit what was already handed over.
        rx.close();
        let mut rest = Vec::new();
        while let Some(p) = rx.recv().await {
            rest.push(p);
            if rest.len() == MAX_BATCH {
                self.commit(&store, std::mem::take(&mut rest)).await;
            }
        }
        if !rest.is_empty() {
            self.commit(&store, rest).await;
        }
        Ok(())
    }

    async fn ready(&self) -> Result<(), BusError> {
        if self.tx.is_closed() {
            return Err(BusError::Closed);
        }
        Ok(())
    }

    fn parked_count(&self) -> u64 {
        0
    }
}
