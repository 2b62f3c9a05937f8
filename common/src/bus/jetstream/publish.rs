//! Publishing: one JetStream message per capture, deduplicated by its id;
//! bodies too large for one message go to the object store first.

use async_nats::jetstream::context::{Publish, PublishErrorKind};
use async_nats::jetstream::{self, object_store};

use super::{unavailable, JetStreamBus, JetStreamConfig, HEADROOM};
use crate::bus::BusError;
use crate::capture::Capture;
use crate::envelope::{self, BodyRef};
use crate::trace_context;

/// Largest object store chunk: big chunks mean few round trips per body.
const MAX_CHUNK: usize = 1 << 20;

/// Declares (creating or updating) the object store bucket of out-of-band
/// bodies; its objects live as long as the captures that name them. The
/// bucket's stream is declared directly, with the object store conventions,
/// so a changed `max_age` is applied to an existing bucket too.
pub(super) async fn bodies_bucket(
    js: &jetstream::Context,
    config: &JetStreamConfig,
) -> Result<object_store::ObjectStore, BusError> {
    let bucket = config.bodies_bucket();
    js.create_or_update_stream(jetstream::stream::Config {
        name: format!("OBJ_{bucket}"),
        description: Some("CallbackListener bodies too large for one message".into()),
        subjects: vec![format!("$O.{bucket}.C.>"), format!("$O.{bucket}.M.>")],
        max_age: config.max_age,
        storage: jetstream::stream::StorageType::File,
        num_replicas: config.replicas,
        discard: jetstream::stream::DiscardPolicy::New,
        allow_rollup: true,
        allow_direct: true,
        ..Default::default()
    })
    .await
    .map_err(|e| unavailable("creating the body object store", e))?;
    js.get_object_store(&bucket)
        .await
        .map_err(|e| unavailable("opening the body object store", e))
}

impl JetStreamBus {
    /// Returns once JetStream acknowledged the capture (a duplicate ack
    /// counts: the capture is already durable). Never waits much longer than
    /// the publish timeout, and fails at once while disconnected.
    pub(super) async fn publish_capture(&self, capture: Capture) -> Result<(), BusError> {
        self.connected()?;
        let max_payload = self.client.server_info().max_payload;
        let mut payload = envelope::encode(&capture);
        if payload.len() + HEADROOM > max_payload {
            let body_ref = self.put_body(&capture, max_payload).await?;
            payload = envelope::encode_with_ref(&capture, body_ref);
        }
        let id = capture.id.to_string();
        let mut publish = Publish::build();
        // The receiving span's trace continues in the writer (W3C headers).
        if let Some(cx) = trace_context::of_span(&tracing::Span::current()) {
            let mut headers = async_nats::HeaderMap::new();
            trace_context::inject(&cx, &mut headers);
            publish = publish.headers(headers);
        }
        let ack = self
            .js
            .send_publish(
                self.config.subject(&capture.path_id),
                publish.payload(payload).message_id(&id),
            )
            .await
            .map_err(publish_error)?;
        ack.await.map(drop).map_err(publish_error)
    }

    /// Stores the body under the capture id and returns once the object is
    /// durable (every chunk and the object's metadata acknowledged).
    async fn put_body(&self, capture: &Capture, max_payload: usize) -> Result<BodyRef, BusError> {
        let object = capture.id.to_string();
        let meta = object_store::ObjectMetadata {
            name: object.clone(),
            chunk_size: Some(
                max_payload
                    .saturating_sub(HEADROOM)
                    .clamp(64 << 10, MAX_CHUNK),
            ),
            ..Default::default()
        };
        let mut body: &[u8] = &capture.body;
        self.bodies
            .put(meta, &mut body)
            .await
            .map_err(|e| match e.kind() {
                object_store::PutErrorKind::TimedOut => BusError::Timeout,
                _ => unavailable("storing the body", e),
            })?;
        Ok(BodyRef {
            bucket: self.config.bodies_bucket(),
            object,
        })
    }
}

fn publish_error(e: jetstream::context::PublishError) -> BusError {
    match e.kind() {
        PublishErrorKind::TimedOut => BusError::Timeout,
        _ => unavailable("publishing the capture", e),
    }
}
