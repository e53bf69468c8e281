//! Test support shared by the integration tests and the load benchmark: a real DNS server
//! on loopback. Not part of the service's API.

pub mod dns_server;

pub use dns_server::{Behaviour, DnsServer};
