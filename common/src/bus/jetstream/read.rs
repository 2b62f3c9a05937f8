//! Reading a capture from a stream message: decoding the payload and, when
//! the body was stored out of band, fetching it from the object store the
//! message names. One reader for the writer and the `replay` subcommand.

use async_nats::jetstream::{self, object_store};
use bytes::Bytes;
use tokio::io::AsyncReadExt as _;

use super::unavailable;
use crate::bus::BusError;
use crate::capture::Capture;
use crate::envelope::{self, BodyRef, DecodeError};

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The payload is not a capture: it never will be (park it, skip it).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The out-of-band body is gone (expired or deleted): the message can
    /// never be completed.
    #[error("out-of-band body {0} not found")]
    BodyMissing(String),
    /// NATS trouble: try again later.
    #[error(transparent)]
    Transient(BusError),
}

/// Reads captures from payloads, keeping the deployment's body bucket open
/// (a message naming another bucket gets it opened on demand).
#[derive(Clone)]
pub struct CaptureReader {
    js: jetstream::Context,
    bucket: String,
    bodies: Option<object_store::ObjectStore>,
}

impl CaptureReader {
    /// `bodies` is the bucket this deployment writes (`{stream}_BODIES`),
    /// if it is open.
    pub fn new(
        js: jetstream::Context,
        bucket: String,
        bodies: Option<object_store::ObjectStore>,
    ) -> Self {
        Self { js, bucket, bodies }
    }

    pub async fn read(&self, payload: &Bytes) -> Result<Capture, ReadError> {
        let (mut capture, body_ref) = envelope::decode(payload)?;
        if let Some(body_ref) = body_ref {
            capture.body = self.body(&body_ref).await?;
        }
        Ok(capture)
    }

    async fn body(&self, body_ref: &BodyRef) -> Result<Bytes, ReadError> {
        let missing = || ReadError::BodyMissing(format!("{}/{}", body_ref.bucket, body_ref.object));
        let bucket = match &self.bodies {
            Some(b) if body_ref.bucket == self.bucket => b.clone(),
            _ => self
                .js
                .get_object_store(&body_ref.bucket)
                .await
                .map_err(|_| missing())?,
        };
        let mut object = bucket
            .get(&body_ref.object)
            .await
            .map_err(|e| match e.kind() {
                object_store::GetErrorKind::NotFound => missing(),
                _ => ReadError::Transient(unavailable("fetching an out-of-band body", e)),
            })?;
        let mut body = Vec::with_capacity(object.info().size);
        object
            .read_to_end(&mut body)
            .await
            .map_err(|e| ReadError::Transient(unavailable("reading an out-of-band body", e)))?;
        Ok(Bytes::from(body))
    }
}
