//! Reasons: the stable machine code and human message that explain one step of a verdict.

use std::fmt::Write as _;

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

/// Appends `text` to a message in its `Debug` form (`"text"`, quoted and escaped), as
/// `format!("{text:?}")` writes it, without `core::fmt` when that form is the text itself
/// in quotes: printable ASCII with no quote or backslash, what messages nearly always
/// quote. Messages are built on every lead's path, where `format!`'s machinery is a
/// noticeable cost (BENCHMARKS.md).
pub fn push_debug(message: &mut String, text: &str) {
    let plain = |b: u8| (b.is_ascii_graphic() || b == b' ') && b != b'"' && b != b'\\';
    if text.bytes().all(plain) {
        message.extend(["\"", text, "\""]);
    } else {
        // Writing to a String cannot fail.
        let _ = write!(message, "{text:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::push_debug;

    #[test]
    fn debug_quotes_are_the_debug_form() {
        for text in [
            "",
            "Google",
            "Google Ads",
            "it's",
            "say \"hi\"",
            "back\\slash",
            "tab\tin",
            "line\nbreak",
            "Маркетплейс",
            "\u{301}accent first",
            "cut…",
            "\u{7f}",
        ] {
            let mut message = String::from("x ");
            push_debug(&mut message, text);
            assert_eq!(message, format!("x {text:?}"), "{text}");
        }
    }
}
