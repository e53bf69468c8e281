//! Test support shared by the unit tests, the integration tests and the load benchmark: a
//! real DNS server, a scripted SMTP server and a SOCKS5 server, all on loopback. Not part
//! of the service's API.

pub mod dns_server;
pub mod process;
pub mod smtp_server;
pub mod socks_server;

pub use dns_server::{Behaviour, DnsServer};
pub use smtp_server::{Script, SmtpResponder};
pub use socks_server::{Asked, SocksServer};
