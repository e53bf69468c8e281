//! Reasons: the stable machine code and human message that explain one step of a verdict.

use serde::Serialize;

/// One step of a verdict, explained: a stable machine code and a human message.
///
/// Codes are `&'static str` so that every code a verdict can carry is a constant of the
/// module that decides it (see each module's `codes`), never a string built at run time.
/// Messages never hold a full email address or phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// A stable machine code, such as `dns.nxdomain`.
    pub code: &'static str,
    /// A human explanation.
    pub message: String,
}

impl Reason {
    /// Makes a reason from a code constant and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Reason {
            code,
            message: message.into(),
        }
    }
}
