//! One renderer per process between the bus's live feed and the SSE clients:
//! each committed capture is masked and serialized once, not once per open
//! stream, so 10,000 clients cost one JSON encoding per capture.
//!
//! Captures travel one by one (each with its position and the position it
//! follows), not as batches, so the channel's capacity bounds memory in
//! captures, as before.
//!
//! If the renderer loses events (it lagged, or the bus restarted its live
//! feed after a NATS reconnect), it swaps its channel: every client sees the
//! old one close and resumes from the store with `Last-Event-ID`, so nothing
//! is skipped silently.

use std::sync::{Arc, Mutex};

use common::capture::CaptureSummary;
use common::workspaces::WorkspaceId;
use common::{Bus, PathId};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::access::Mask;

/// A capture summary ready to send.
pub(crate) struct Rendered {
    pub id: Uuid,
    /// Its position in commit order, and the position it follows in its
    /// announced batch (see `common::bus::Announced`).
    pub position: i64,
    pub prev: i64,
    pub path_id: PathId,
    /// Its path is private: kept off the all-paths feed.
    pub private: bool,
    /// Its path's workspace: the all-paths feed of a workspace key shows
    /// only its own.
    pub workspace: WorkspaceId,
    /// The masked summary as JSON.
    pub json: String,
}

pub(crate) struct Fanout {
    tx: Mutex<broadcast::Sender<Arc<Rendered>>>,
}

impl Fanout {
    pub fn start(
        bus: Bus,
        mask: Mask,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Arc<Self> {
        let fanout = Arc::new(Self {
            tx: Mutex::new(broadcast::channel(common::bus::LIVE_CAPACITY).0),
        });
        let weak = Arc::downgrade(&fanout);
        tasks.spawn(async move {
            let mut live = bus.live().subscribe();
            loop {
                let next = tokio::select! {
                    n = live.recv() => n,
                    () = shutdown.cancelled() => return,
                };
                let Some(fanout) = weak.upgrade() else { return };
                match next {
                    Ok(a) => fanout.send(render(&bus, &mask, a.prev, a.position, &a.summary)),
                    Err(broadcast::error::RecvError::Lagged(_)) => fanout.restart(),
                    Err(broadcast::error::RecvError::Closed) => {
                        fanout.restart();
                        live = bus.live().subscribe();
                    }
                }
            }
        });
        fanout
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Rendered>> {
        self.sender().subscribe()
    }

    fn send(&self, rendered: Rendered) {
        // No receivers is fine: nobody is watching.
        let _ = self.sender().send(Arc::new(rendered));
    }

    fn restart(&self) {
        *self.tx.lock().unwrap_or_else(|e| e.into_inner()) =
            broadcast::channel(common::bus::LIVE_CAPACITY).0;
    }

    fn sender(&self) -> broadcast::Sender<Arc<Rendered>> {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

pub(crate) fn render(
    bus: &Bus,
    mask: &Mask,
    prev: i64,
    position: i64,
    summary: &CaptureSummary,
) -> Rendered {
    let path = bus.registry().table().get(&summary.path_id);
    let private = path
        .as_ref()
        .is_some_and(|p| p.settings.read_token_sha256.is_some());
    let workspace = path.map(|p| p.workspace.clone()).unwrap_or_default();
    let masked = mask.summary(summary.clone());
    Rendered {
        id: summary.id,
        position,
        prev,
        path_id: summary.path_id.clone(),
        private,
        workspace,
        json: serde_json::to_string(&masked).expect("summary serializes"),
    }
}
