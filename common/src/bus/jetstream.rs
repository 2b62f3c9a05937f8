//! NATS JetStream bus of the split shape (being written).

use std::sync::Arc;

use super::{BusBackend, BusError};

#[derive(Debug, Clone)]
pub struct JetStreamConfig {
    pub url: String,
    pub stream: String,
}

impl JetStreamConfig {
    pub fn new(url: &str, stream: &str) -> Self {
        Self {
            url: url.to_owned(),
            stream: stream.to_owned(),
        }
    }
}

pub async fn connect(_config: JetStreamConfig) -> Result<Arc<dyn BusBackend>, BusError> {
    Err(BusError::Unavailable("not yet implemented".into()))
}
