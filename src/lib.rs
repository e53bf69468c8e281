//! leadcheck: validates the contact data of sales leads and scores each lead High or Low.
//!
//! The map, one line a component:
//!
//! - [`email`]: email verdicts: syntax, spam/disposable lists, DNS mail routes (cached),
//!   typo suggestions and the optional SMTP mailbox probe.
//! - [`phone`]: phone verdicts: libphonenumber rules (rlibphonenumber), region from the
//!   lead's country, fake-number patterns, a verdict cache.
//! - [`lead`]: LeadSource parsing, the points-based scoring model, dedup keys, and the
//!   [`lead::Assessor`] that composes everything for one lead.
//! - [`rpc`]: the tonic service: maps `leadcheck.v1` messages to domain types and back.
//! - [`server`]: builds the engines, serves with reflection and health, reloads lists on
//!   SIGHUP, drains on SIGINT/SIGTERM.
//! - [`auth`]: bearer-token authentication, a tower layer; health stays open.
//! - [`limits`]: counted slots refused at once past their ceiling (calls, streams,
//!   connections), and the registry of open connections.
//! - [`config`]: the one configuration struct and its table of keys: defaults, TOML file,
//!   environment, flags.
//! - [`batch`]: the `leadcheck batch` client that streams CSV or JSON Lines exports through
//!   `AssessLeads`.
//! - [`metrics`]: Prometheus metric names and the exporter.
//! - [`shared_cache`]: the optional Redis tier behind the DNS and SMTP caches, shared by
//!   replicas; bounded by a timeout and a circuit breaker.
//! - [`reason`]: the code-and-message pair every verdict is explained by.
//!
//! The validation and scoring logic knows nothing of gRPC; only `rpc` and `server` do.

pub mod auth;
pub mod batch;
pub mod config;
pub mod email;
pub mod lead;
pub mod limits;
pub mod metrics;
pub mod phone;
pub mod reason;
pub mod rpc;
pub mod server;
pub mod shared_cache;
pub mod telemetry;
/// The loopback test servers, for this crate's own tests, benchmarks and examples only:
/// behind the `testkit` feature, which the dev-dependency on the crate itself turns on,
/// so the shipped library and binary do not carry them.
#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;

/// The generated `leadcheck.v1` messages and service traits.
pub mod pb {
    #![allow(missing_docs, clippy::all, deprecated)]
    tonic::include_proto!("leadcheck.v1");
    include!(concat!(env!("OUT_DIR"), "/leadcheck.v1.serde.rs"));

    /// The field numbers of every message, generated from the descriptor set (build.rs):
    /// the hand-written encoder of answers (`rpc::wire`) and reader of answers (the batch
    /// client's CSV view) take theirs from here.
    pub mod tags {
        include!(concat!(env!("OUT_DIR"), "/leadcheck_tags.rs"));
    }
}
