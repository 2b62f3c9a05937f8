//! Shared by ingest and query: the capture model, path ids, the stream
//! format, and the two seams, `bus` and `store`, each with its backends.

#[cfg(feature = "backends")]
pub mod bus;
pub mod capture;
pub mod cursor;
pub mod envelope;
#[cfg(feature = "backends")]
pub mod health;
#[cfg(feature = "backends")]
pub mod http_error;
#[cfg(feature = "backends")]
pub mod metrics;
pub mod path_id;
pub mod paths;
pub mod retry;
pub mod rules;
pub mod signing;
#[cfg(feature = "backends")]
pub mod store;
#[cfg(feature = "backends")]
pub mod telemetry;
#[cfg(feature = "backends")]
pub mod trace_context;
pub mod workspaces;

#[cfg(feature = "backends")]
pub use bus::{Bus, BusError};
pub use capture::{Capture, CaptureSummary, Header, HeaderOrder};
#[cfg(feature = "backends")]
pub use http_error::ApiError;
pub use path_id::PathId;
pub use paths::PathInfo;
#[cfg(feature = "backends")]
pub use store::{Store, StoreError};
