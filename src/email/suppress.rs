//! The suppression list: addresses a team never wants scored as leads (spam traps,
//! complaint addresses), held as keyed hashes so that no address is in the file or in
//! memory in clear.
//!
//! An entry is HMAC-SHA256, keyed with the contents of `lists.suppression_key_file`, of
//! the address's normal form ([`normal_form`]), written as 64 hex digits, one a line;
//! `#` starts a comment and blank lines are skipped. Without the key a file says nothing
//! about its addresses, not even whether a guessed address is on it. `leadcheck suppress
//! hash` makes the lines from addresses on stdin, and the validator hashes each address
//! it is asked about the same way. The file is loaded and hot-reloaded with the domain
//! lists ([`super::lists::ListStore`]).

use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::lists::{read_capped, read_text, ListError};
use super::syntax;

/// Shortest key, in bytes: 128 bits, so the hashes cannot be reversed by guessing the key.
pub const MIN_KEY_BYTES: usize = 16;

/// Largest key file read, in bytes.
const MAX_KEY_BYTES: u64 = 4096;

/// One entry: an HMAC-SHA256 output.
pub type Digest = [u8; 32];

/// The set of a file's entries. The entries are keyed hashes, uniformly spread, so the
/// fast seeded hasher of the other lists is enough.
type Digests = HashSet<Digest, foldhash::fast::RandomState>;

/// The normal form of an address, which is what is hashed: the address trimmed, parsed
/// and normalised as the syntax check does (the domain in its lower-case ASCII form,
/// IDNA for an internationalised one), then lower-cased whole (Unicode lower case, so the
/// local part too). Dots and `+tags` stay: `j.doe+x@gmail.com` and `jdoe@gmail.com` are
/// two entries.
///
/// `None` when the address fails the syntax check: such an address is INVALID before the
/// suppression list is consulted.
///
/// ```
/// # use leadcheck::email::suppress::normal_form;
/// assert_eq!(normal_form(" Jo.Doe@Bücher.DE\n").as_deref(), Some("jo.doe@xn--bcher-kva.de"));
/// assert_eq!(normal_form("not an address"), None);
/// ```
pub fn normal_form(address: &str) -> Option<String> {
    let address = address.trim();
    if address.is_empty() {
        return None;
    }
    syntax::parse(address)
        .ok()
        .map(|parsed| normal_of_parsed(&parsed))
}

/// [`normal_form`] of an address the syntax check already parsed.
pub(crate) fn normal_of_parsed(address: &syntax::Address) -> String {
    address.normalized.to_lowercase()
}

/// The key the entries are made with: HMAC-SHA256, keyed once.
#[derive(Clone)]
pub struct SuppressionKey {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for SuppressionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SuppressionKey(<hidden>)")
    }
}

impl SuppressionKey {
    /// Makes a key from its bytes; `None` when shorter than [`MIN_KEY_BYTES`].
    pub fn new(key: &[u8]) -> Option<SuppressionKey> {
        if key.len() < MIN_KEY_BYTES {
            return None;
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
        Some(SuppressionKey { mac })
    }

    /// Reads a key file: its bytes, less the ASCII whitespace around them (the newline an
    /// editor or `echo` adds), at least [`MIN_KEY_BYTES`] of them.
    pub fn read(path: &Path) -> Result<SuppressionKey, ListError> {
        let bytes = read_capped(path, MAX_KEY_BYTES)?;
        SuppressionKey::new(bytes.trim_ascii()).ok_or_else(|| ListError::Entry {
            path: path.to_path_buf(),
            line: 1,
            message: format!("the suppression key is shorter than {MIN_KEY_BYTES} bytes"),
        })
    }

    /// The entry of an address already in [`normal_form`].
    pub fn digest(&self, normal: &str) -> Digest {
        let mut mac = self.mac.clone();
        mac.update(normal.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The entry of an address already in [`normal_form`], as a line of the file.
    pub fn line(&self, normal: &str) -> String {
        hex(&self.digest(normal))
    }
}

/// The two files of a suppression list: the entries and the key they were made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressionFiles {
    /// The file of entries (`lists.suppression_file`).
    pub file: PathBuf,
    /// The key file (`lists.suppression_key_file`).
    pub key_file: PathBuf,
}

/// A loaded suppression list: the key and the entries, no address.
#[derive(Clone)]
pub struct Suppressed {
    key: SuppressionKey,
    digests: Digests,
}

impl fmt::Debug for Suppressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suppressed")
            .field("entries", &self.digests.len())
            .finish()
    }
}

impl Suppressed {
    /// Reads both files; a bad line fails the whole file, naming its path and line, never
    /// its content (a file of addresses in clear given by mistake is not logged).
    pub fn load(files: &SuppressionFiles) -> Result<Suppressed, ListError> {
        let key = SuppressionKey::read(&files.key_file)?;
        let digests = parse(&read_text(&files.file)?, &files.file)?;
        Ok(Suppressed { key, digests })
    }

    /// Whether the address, already parsed by the syntax check, is on the list.
    pub fn contains(&self, address: &syntax::Address) -> bool {
        !self.digests.is_empty()
            && self
                .digests
                .contains(&self.key.digest(&normal_of_parsed(address)))
    }

    /// How many entries the list has.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Whether the list has no entry.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

/// Parses the entries of a suppression file.
fn parse(text: &str, path: &Path) -> Result<Digests, ListError> {
    let mut digests = Digests::default();
    for (index, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or_default().trim();
        if entry.is_empty() {
            continue;
        }
        let digest = unhex(entry).ok_or_else(|| ListError::Entry {
            path: path.to_path_buf(),
            line: index + 1,
            message: "not a suppression entry (64 hex digits; make them with `leadcheck \
                      suppress hash`)"
                .to_string(),
        })?;
        digests.insert(digest);
    }
    Ok(digests)
}

fn hex(digest: &Digest) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

fn unhex(text: &str) -> Option<Digest> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(digest)
}

/// Why `leadcheck suppress hash` stopped. Neither names an address: a line is told by
/// its number.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Reading the input or writing the output failed.
    #[error("suppress hash: {0}")]
    Io(#[from] std::io::Error),
    /// An input line is not an address.
    #[error(
        "suppress hash: input line {line} is not an email address (the syntax check refuses \
         it); nothing was written"
    )]
    NotAnAddress {
        /// The line, counted from 1.
        line: usize,
    },
}

/// `leadcheck suppress hash`: reads addresses, one a line (blank lines and lines starting
/// with `#` skipped), and writes their entries, sorted and without duplicates so that
/// the output says nothing of the input's order, after a comment line. Nothing is
/// written unless every line is an address. Returns the number of entries.
pub fn hash_lines(
    key: &SuppressionKey,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<usize, HashError> {
    let mut digests = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let normal = normal_form(trimmed).ok_or(HashError::NotAnAddress { line: index + 1 })?;
        digests.push(key.digest(&normal));
    }
    digests.sort_unstable();
    digests.dedup();
    writeln!(
        output,
        "# leadcheck suppression list: HMAC-SHA256 of normalized addresses ({} entries)",
        digests.len()
    )?;
    for digest in &digests {
        writeln!(output, "{}", hex(digest))?;
    }
    output.flush()?;
    Ok(digests.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"suppression-test-key-0123456789";

    fn key() -> SuppressionKey {
        SuppressionKey::new(KEY).unwrap()
    }

    #[test]
    fn the_normal_form_is_trimmed_lower_case_with_an_ascii_domain() {
        assert_eq!(
            normal_form("  Jo.Doe@Example.COM\r\n").as_deref(),
            Some("jo.doe@example.com")
        );
        assert_eq!(
            normal_form("JO@BÜCHER.de").as_deref(),
            Some("jo@xn--bcher-kva.de")
        );
        // Tags and dots are kept: each spelling is its own entry.
        assert_eq!(
            normal_form("J.Doe+Leads@Gmail.com").as_deref(),
            Some("j.doe+leads@gmail.com")
        );
        assert_eq!(
            normal_form("Ünal@example.com").as_deref(),
            Some("ünal@example.com")
        );
        for bad in ["", "   ", "no-at-sign", "a@b@c.com", "x@localhost"] {
            assert_eq!(normal_form(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn entries_are_hmac_sha256_of_the_normal_form() {
        // Known vectors, computed apart from this code (Python's hmac module):
        // hmac.new(KEY, b"jo.doe@example.com", hashlib.sha256).hexdigest()
        let key = key();
        assert_eq!(
            key.line(&normal_form(" Jo.Doe@Example.COM ").unwrap()),
            "fc9809369f44f41aa869d58f0949f433618a1f5328d3a90ea0ae9f846ec61971"
        );
        assert_eq!(
            key.line(&normal_form("Jo@Bücher.de").unwrap()),
            "9129fb7e5439fe5a342fc2420a476448877f4988bf79e2b6d71a3f4bf9ef6cb5"
        );
        // Another key, another entry.
        let other = SuppressionKey::new(b"another-key-of-sixteen-bytes").unwrap();
        assert_ne!(
            other.line("jo.doe@example.com"),
            key.line("jo.doe@example.com")
        );
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(SuppressionKey::new(b"fifteen-bytes!!").is_none());
        assert!(SuppressionKey::new(b"sixteen-bytes!!!").is_some());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "  short  \n").unwrap();
        let err = SuppressionKey::read(&path).unwrap_err().to_string();
        assert!(err.contains("shorter than 16 bytes"), "{err}");
        // Whitespace around the key is not part of it.
        std::fs::write(&path, [KEY, b"\n"].concat()).unwrap();
        assert_eq!(
            SuppressionKey::read(&path)
                .unwrap()
                .line("jo.doe@example.com"),
            key().line("jo.doe@example.com")
        );
    }

    #[test]
    fn hash_lines_writes_sorted_unique_entries_and_no_address() {
        let input = "# a comment\nJo.Doe@Example.com\n\n  jo.doe@example.COM \nx@y.org\n";
        let mut out = Vec::new();
        let count = hash_lines(&key(), input.as_bytes(), &mut out).unwrap();
        assert_eq!(count, 2, "the same address twice is one entry");
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains('@'), "an address in the output: {out}");
        let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
        let mut expected = vec![key().line("jo.doe@example.com"), key().line("x@y.org")];
        expected.sort();
        assert_eq!(lines, expected);
        // The output reads back as a suppression file.
        let digests = parse(&out, Path::new("out")).unwrap();
        assert_eq!(digests.len(), 2);
    }

    #[test]
    fn hash_lines_names_a_bad_line_by_number_only_and_writes_nothing() {
        let input = "a@example.com\nsecret-person at example.com\n";
        let mut out = Vec::new();
        let err = hash_lines(&key(), input.as_bytes(), &mut out).unwrap_err();
        assert!(matches!(err, HashError::NotAnAddress { line: 2 }), "{err}");
        assert!(!err.to_string().contains("secret-person"), "{err}");
        assert!(out.is_empty());
    }

    /// The two files in `dir`, the key file written with [`KEY`].
    fn files_in(dir: &tempfile::TempDir) -> SuppressionFiles {
        let files = SuppressionFiles {
            file: dir.path().join("suppressed.txt"),
            key_file: dir.path().join("key"),
        };
        std::fs::write(&files.key_file, KEY).unwrap();
        files
    }

    #[test]
    fn a_file_is_loaded_and_matches_only_its_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let files = files_in(&dir);
        let mut text = Vec::new();
        hash_lines(&key(), "trap@corp.example\n".as_bytes(), &mut text).unwrap();
        text.extend_from_slice(b"\n# UPPER CASE HEX IS READ TOO\n");
        text.extend_from_slice(key().line("other@corp.example").to_uppercase().as_bytes());
        std::fs::write(&files.file, &text).unwrap();
        let list = Suppressed::load(&files).unwrap();
        assert_eq!(list.len(), 2);
        let parsed = |a: &str| syntax::parse(a).unwrap();
        assert!(list.contains(&parsed("Trap@Corp.Example")));
        assert!(list.contains(&parsed("other@corp.example")));
        assert!(!list.contains(&parsed("trap2@corp.example")));
        assert!(!list.contains(&parsed("trap@corp2.example")));
        // The wrong key matches nothing.
        std::fs::write(&files.key_file, b"another-key-of-sixteen-bytes").unwrap();
        let list = Suppressed::load(&files).unwrap();
        assert!(!list.contains(&parsed("trap@corp.example")));
    }

    #[test]
    fn a_bad_line_fails_the_file_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let files = files_in(&dir);
        let line = key().line("a@example.com");
        for (bad, line_no) in [
            (format!("{line}\nperson@example.com\n"), 2),
            (format!("# ok\n{}\n", &line[..63]), 2),
            (format!("{line}0\n"), 1),
            (format!("{}zz\n", &line[..62]), 1),
        ] {
            std::fs::write(&files.file, &bad).unwrap();
            let err = Suppressed::load(&files).unwrap_err();
            assert!(
                matches!(err, ListError::Entry { line, .. } if line == line_no),
                "{err}"
            );
            assert!(!err.to_string().contains("person@"), "{err}");
        }
        std::fs::remove_file(&files.key_file).unwrap();
        std::fs::write(&files.file, format!("{line}\n")).unwrap();
        assert!(matches!(
            Suppressed::load(&files),
            Err(ListError::Read { .. })
        ));
    }
}
