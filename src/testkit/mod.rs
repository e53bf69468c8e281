//! Test support shared by the unit tests, the integration tests and the load benchmark: a
//! real DNS server and a scripted SMTP server, both on loopback. Not part of the service's API.

pub mod dns_server;
pub mod process;
pub mod smtp_server;

pub use dns_server::{Behaviour, DnsServer};
pub use smtp_server::{Script, SmtpResponder};
