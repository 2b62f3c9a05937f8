//! Shared by ingest and query: the capture model, path ids, the stream
//! format, and the two seams, `bus` and `store`, each with its backends.

pub mod bus;
pub mod capture;
pub mod cursor;
pub mod envelope;
pub mod health;
pub mod http_error;
pub mod metrics;
pub mod path_id;
pub mod paths;
pub mod store;
pub mod telemetry;
pub mod trace_context;

pub use bus::{Bus, BusError};
pub use capture::{Capture, CaptureSummary, Header};
pub use http_error::ApiError;
pub use path_id::PathId;
pub use paths::PathInfo;
pub use store::{Store, StoreError};
