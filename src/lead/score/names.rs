//! Names that look made up: placeholders, keyboard runs, digits.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use super::titles::words;

/// Words people type when they do not want to give a name, in the seeds' languages;
/// sorted (bytewise), to read.
pub(super) const PLACEHOLDER_NAMES: &[&str] = &[
    "abc",
    "anon",
    "anonymous",
    "apellido",
    "asdf",
    "blah",
    "dummy",
    "example",
    "fake",
    "firstname",
    "foobar",
    "lastname",
    "name",
    "nil",
    "nobody",
    "nombre",
    "nome",
    "noname",
    "none",
    "null",
    "prueba",
    "qwerty",
    "sobrenome",
    "test",
    "teste",
    "testing",
    "unknown",
    "xxx",
    "xyz",
    "аноним",
    "имя",
    "неизвестно",
    "нет",
    "тест",
    "фамилия",
];

/// Keyboard runs on the QWERTY rows and the Russian ЙЦУКЕН layout; none occurs inside a
/// real name.
pub(super) const KEYBOARD_RUNS: &[&str] = &[
    "asdf", "sdfg", "qwer", "zxcv", "xcvb", "hjkl", "uiop", "abcd", "йцук", "цуке", "фыва", "ячсм",
];

/// [`KEYBOARD_RUNS`], searched for all at once: one pass over a name instead of one
/// substring search per run.
fn keyboard_runs() -> &'static AhoCorasick {
    static RUNS: OnceLock<AhoCorasick> = OnceLock::new();
    RUNS.get_or_init(|| {
        // Constant patterns: a test builds the searcher, so this cannot fail at run time.
        AhoCorasick::new(KEYBOARD_RUNS).unwrap_or_else(|e| panic!("keyboard runs: {e}"))
    })
}

/// Tells why a name looks made up, or `None` when it may be real.
///
/// Real short names pass: Li, Ng, Bo, Al, Oo (Burmese), Na (Li Na). A missing name is
/// not a fake one.
pub(super) fn fake_name(name: &str) -> Option<&'static str> {
    let name = name.trim();
    // Most names are short and ASCII: lower-cased on the stack, not in a new String.
    let mut ascii = [0u8; 32];
    let lower: Cow<str> = match ascii.get_mut(..name.len()) {
        Some(buf) if name.is_ascii() => {
            buf.copy_from_slice(name.as_bytes());
            buf.make_ascii_lowercase();
            // ASCII in, ASCII out: always UTF-8.
            Cow::Borrowed(std::str::from_utf8(buf).unwrap_or_default())
        }
        _ => Cow::Owned(name.to_lowercase()),
    };
    let lower = lower.as_ref();
    if lower.is_empty() {
        return None;
    }
    // "N/A" is a placeholder; "Na" is a name.
    if matches!(lower, "n/a" | "n.a." | "n/d" | "s/n" | "s/d") {
        return Some("a placeholder");
    }
    // Most names are one word of letters: then the letters are the name, and its only word.
    let one_word = lower.chars().all(char::is_alphanumeric);
    let letters: Cow<str> = if one_word {
        Cow::Borrowed(lower)
    } else {
        lower.chars().filter(|c| c.is_alphanumeric()).collect()
    };
    if letters.is_empty() {
        return Some("no letters");
    }
    if is_placeholder(&letters) || (!one_word && words(lower).any(is_placeholder)) {
        return Some("a placeholder word");
    }
    if letters.chars().any(char::is_numeric) {
        return Some("digits");
    }
    let mut chars = letters.chars();
    let first = chars.next();
    if letters.chars().count() >= 3 && chars.all(|c| Some(c) == first) {
        return Some("one letter repeated");
    }
    if keyboard_runs().is_match(letters.as_ref()) {
        return Some("a keyboard run");
    }
    None
}

/// Whether `word` (lower-case) is one of [`PLACEHOLDER_NAMES`]: a hash set, one hash and
/// one comparison, where a binary search compares strings at every step.
fn is_placeholder(word: &str) -> bool {
    static SET: OnceLock<HashSet<&str, foldhash::fast::FixedState>> = OnceLock::new();
    SET.get_or_init(|| PLACEHOLDER_NAMES.iter().copied().collect())
        .contains(word)
}

/// Tells whether a name is obviously made up: a placeholder (test, asdf, n/a), a
/// keyboard run, one letter repeated, digits, or no letters at all.
pub fn looks_fake(name: &str) -> bool {
    fake_name(name).is_some()
}
