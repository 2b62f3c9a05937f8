//! Integration tests of the seams against real backends. Each conformance
//! suite is a set of generic checks instantiated once per implementation, so
//! the backends cannot drift apart.

mod bus;
mod bus_writer;
mod cluster;
mod jetstream;
mod postgres_tls;
mod properties;
mod store;
