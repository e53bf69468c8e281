//! Integration tests: the real `leadcheck` binary, a real DNS server on loopback, tonic
//! clients and grpcurl. One test binary, so it links once.

mod batch;
mod batch_robust;
mod config;
mod dns_delay;
mod email;
mod foundation;
mod grpcurl;
mod lead;
mod limits;
mod monitoring;
mod phone;
mod security;
mod shared_cache;
mod smtp;
mod support;
mod traces;
