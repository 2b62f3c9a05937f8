//! HTTP tests of the whole service. Every test runs in both shapes
//! (standalone, and split over NATS JetStream + Postgres), so the API
//! behaves identically in each.

mod abuse;
mod access;
mod bad_input;
mod copy_as;
mod cors;
mod fidelity;

mod export;
mod forward;
mod live;
mod live_resume;
mod logs;
mod metrics;
mod nats_auth;
mod openapi;
mod operate;
mod replay;
mod replay_cli;
mod replay_restart;
mod replay_summary;
mod replay_tls;
mod resign;
mod resign_cli;
mod rules;
mod secrets;
mod shaping;
mod signatures;
pub mod support;
mod teams;
mod topology;
mod wire_headers;
