//! Replay and forward: sending captured requests to another HTTP service
//! exactly as they came.
//!
//! - [`send`]: one capture -> one request (the only place that builds them);
//! - [`run`]: pacing (rate, original timing), concurrency, order;
//! - [`allow`]: which targets server-side replay may reach (SSRF guard);
//! - [`job`]: server-side replay jobs, persisted in the store;
//! - [`forward`]: per-path `forward_url`, re-sending each new capture;
//! - [`forward_log`]: the attempts it made and what targets answered;
//! - [`results`]: what targets answered, stored per job request;
//! - [`summary`]: a job's counts per status class and latency percentiles.
//!
//! The `replay` and `forward` subcommands of the binary use `send` and `run`
//! too, without the allowlist (they run with the user's own rights).

pub mod allow;
pub mod forward;
pub mod forward_log;
pub mod job;
pub mod results;
pub mod run;
pub mod send;
pub mod summary;

pub use allow::Allowlist;
pub use run::{Pacing, Tally};
pub use send::{Outcome, Target};
