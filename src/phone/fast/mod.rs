//! The phone engine's fast path: rlibphonenumber's parse, region, type and formats for the
//! common shapes of input, from its own metadata, for a fraction of its cost. Hand-written
//! beside the library because the load benchmark keeps it (BENCHMARKS.md, "Design
//! decisions settled by measurement"); property tests hold every part to rlibphonenumber's
//! answers, and the rules in the parent module stay the only place a verdict is decided.
//!
//! - [`library`]: each thread's `PhoneNumberUtil` and the metadata both read;
//! - [`quick`]: the parse and the region-and-type classification;
//! - [`dfa`]: the type patterns walked together on a lazy DFA;
//! - [`format`]: the international and national formats.

mod dfa;
pub(super) mod format;
pub(super) mod library;
pub(super) mod quick;
