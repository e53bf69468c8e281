//! Syntax: parses an address the way real mail systems accept it, and normalises it.
//!
//! lettre's [`lettre::Address`] is the grammar (RFC 5321/5322 `addr-spec`, dot-atom or
//! quoted local part); on top of it, [`parse`] enforces what mail systems enforce and
//! names each failure with its own reason code, checked in this order:
//!
//! 1. the input is at most 1,024 octets (a bound on work, far above any real address);
//! 2. an `@` splits it at the last `@`; a display name (`Name <a@b.c>`) is refused;
//! 3. the local part is not empty, at most 64 octets, has no `@` outside quotes and, when
//!    not quoted, no leading, trailing or doubled dot;
//! 4. the domain is not an IP address (`[192.0.2.1]`, `[IPv6:..]` or bare): RFC 5321
//!    allows domain literals, real mail systems and lead forms do not;
//! 5. the domain has no leading, trailing or doubled dot, no underscore and only
//!    letters, digits, hyphens and dots among its ASCII characters;
//! 6. the domain goes through IDNA (UTS 46 ToASCII, STD3 rules, nontransitional) to its
//!    ASCII form, lower-case: `bücher.de` becomes `xn--bcher-kva.de`;
//! 7. the ASCII domain has labels of 1 to 63 octets that neither start nor end with a
//!    hyphen, is at most 253 octets, has a dot, and its last label can be a TLD (letters,
//!    or an `xn--` A-label);
//! 8. lettre accepts the local part with the ASCII domain;
//! 9. the whole address is at most 254 octets.
//!
//! Decisions, where the RFCs and real systems differ:
//! - Quoted local parts (`"john smith"@example.com`) are accepted when lettre accepts
//!   them: RFC 5321 servers take them, and they are rare enough not to matter to lead
//!   scoring. The canonical form drops the quotes when they were unnecessary. Like
//!   lettre, an escaped space or tab inside the quotes (`"a\ b"`) is refused.
//! - Non-ASCII local parts (SMTPUTF8, RFC 6531: `ñoñó@example.com`) are accepted when
//!   lettre accepts them, that is when every non-ASCII character is a Unicode letter or
//!   digit; spaces, emoji, control, format and private-use characters are refused.
//!   Delivery then needs an SMTPUTF8 server, which the DNS and SMTP steps judge.
//! - Hyphens in the third and fourth position (`g--a.com`) are accepted, as the WHATWG
//!   URL standard and real DNS do; IDNA's CheckHyphens would refuse real names.
//! - Comments and folding white space (`(comment)john@x.com`), legal in message headers,
//!   are not part of an address a form or an SMTP envelope carries: refused.

use std::net::{Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::codes;
use crate::reason::Reason;

/// The longest local part, in octets (RFC 5321 section 4.5.3.1.1).
pub const MAX_LOCAL: usize = 64;
/// The longest address, in octets: RFC 5321's 256-octet path less its angle brackets.
pub const MAX_ADDRESS: usize = 254;
/// The longest domain label, in octets (RFC 1035 section 2.3.4).
pub const MAX_LABEL: usize = 63;
/// The longest domain in text form, in octets (RFC 1035's 255 on the wire).
pub const MAX_DOMAIN: usize = 253;
/// The longest input looked at: IDNA mapping can shorten a domain (it drops soft
/// hyphens, for one), so the address limit is checked after it, and this bound keeps
/// the work small on anything absurd.
const MAX_INPUT: usize = 1024;

/// Providers whose mailboxes ignore dots in the local part and a `+tag`, with the domain
/// their addresses canonicalise to: Gmail treats `j.o.h.n+x@googlemail.com` as
/// `john@gmail.com`.
const DOTS_AND_TAGS: &[(&str, &str)] =
    &[("gmail.com", "gmail.com"), ("googlemail.com", "gmail.com")];

/// Providers that deliver `name+tag@` to `name@` (plus addressing) but keep dots
/// significant: Microsoft's consumer domains, iCloud, Fastmail and Proton.
const TAGS_ONLY: &[&str] = &[
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "protonmail.com",
    "proton.me",
    "pm.me",
];

/// A syntactically valid address, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The local part exactly as given (quotes and case kept).
    pub local: String,
    /// The domain in ASCII (IDNA) form, lower-case: what DNS is asked about.
    pub domain: String,
    /// The local part as given, `@`, the ASCII domain.
    pub normalized: String,
    /// The canonical mailbox, for deduplication: lower-cased, unnecessary quotes
    /// dropped, and for providers that ignore them, dots and `+tag` removed
    /// (`J.Doe+news@googlemail.com` is `jdoe@gmail.com`).
    pub canonical: String,
}

/// Parses and normalises an address; the error names the first rule it breaks.
///
/// The input is expected trimmed and non-empty (the validator answers `missing` for a
/// blank one); anything else is still answered, never a panic.
///
/// ```
/// # use leadcheck::email::syntax::parse;
/// let address = parse("Jo.Doe+news@Bücher.de").unwrap();
/// assert_eq!(address.domain, "xn--bcher-kva.de");
/// assert_eq!(address.normalized, "Jo.Doe+news@xn--bcher-kva.de");
/// assert!(parse("jo..doe@example.com").is_err());
/// ```
pub fn parse(input: &str) -> Result<Address, Reason> {
    if input.len() > MAX_INPUT {
        return Err(Reason::new(
            codes::SYNTAX_ADDRESS_TOO_LONG,
            format!(
                "the input is {} octets; an address has at most {MAX_ADDRESS}",
                input.len()
            ),
        ));
    }
    if input.ends_with('>') {
        return Err(Reason::new(
            codes::SYNTAX_INVALID,
            "a display name or angle brackets around the address: give the bare address",
        ));
    }
    let Some((local, raw_domain)) = input.rsplit_once('@') else {
        return Err(Reason::new(codes::SYNTAX_NO_AT, "the address has no @"));
    };
    check_local(local)?;
    let domain = to_ascii_domain(raw_domain)?;
    // lettre checks the address it parses from the joined string exactly as the parts it
    // is given with `Address::new`, which joins them with `format!`: the same check, and
    // the join is made once, for the normalised form.
    let normalized = [local, "@", &domain].concat();
    if !plain_ascii_local(local) && normalized.parse::<lettre::Address>().is_err() {
        return Err(Reason::new(codes::SYNTAX_INVALID, local_problem(local)));
    }
    if normalized.len() > MAX_ADDRESS {
        return Err(Reason::new(
            codes::SYNTAX_ADDRESS_TOO_LONG,
            format!(
                "the address is {} octets; the limit is {MAX_ADDRESS}",
                normalized.len()
            ),
        ));
    }
    let canonical = canonical(local, &domain);
    Ok(Address {
        local: local.to_string(),
        domain,
        normalized,
        canonical,
    })
}

/// Checks the structure of the local part; lettre checks its characters later.
fn check_local(local: &str) -> Result<(), Reason> {
    if local.is_empty() || local == "\"\"" {
        return Err(Reason::new(
            codes::SYNTAX_EMPTY_LOCAL,
            "nothing comes before the @",
        ));
    }
    if local.len() > MAX_LOCAL {
        return Err(Reason::new(
            codes::SYNTAX_LOCAL_TOO_LONG,
            format!(
                "the local part is {} octets; the limit is {MAX_LOCAL}",
                local.len()
            ),
        ));
    }
    if is_quoted(local) {
        return Ok(());
    }
    if local.contains('@') {
        return Err(Reason::new(
            codes::SYNTAX_MULTIPLE_AT,
            "more than one @ outside quotes",
        ));
    }
    dots(local, "local part")
}

/// Whether lettre is sure to accept a local part that passed [`check_local`] with any
/// domain that passed [`to_ascii_domain`], without asking it: an unquoted local part of
/// ASCII atext and dots. [`check_local`] has refused an empty one, one over 64 octets
/// and empty atoms; lettre's own checks (email_address's dot-atom, then its domain
/// rules: labels of 1 to 63 letters, digits and inner hyphens) ask nothing more of
/// these, and the ASCII domain holds to all of them. Nearly every real address is such
/// a one, and lettre's parse is the dearest part of the syntax step. A property test
/// holds this to lettre's answer.
fn plain_ascii_local(local: &str) -> bool {
    local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
}

/// Whether a local part is a quoted string: `"..."`, at least the two quotes.
fn is_quoted(local: &str) -> bool {
    local.len() >= 2 && local.starts_with('"') && local.ends_with('"')
}

/// Refuses a leading, trailing or doubled dot in a dot-separated name.
fn dots(text: &str, part: &str) -> Result<(), Reason> {
    if text.starts_with('.') {
        Err(Reason::new(
            codes::SYNTAX_LEADING_DOT,
            format!("the {part} starts with a dot"),
        ))
    } else if text.ends_with('.') {
        Err(Reason::new(
            codes::SYNTAX_TRAILING_DOT,
            format!("the {part} ends with a dot"),
        ))
    } else if text.as_bytes().windows(2).any(|pair| pair == b"..") {
        // Not str::contains: its searcher's set-up costs more than these short names.
        Err(Reason::new(
            codes::SYNTAX_CONSECUTIVE_DOTS,
            format!("the {part} has two dots in a row"),
        ))
    } else {
        Ok(())
    }
}

/// Checks the domain as given, converts it to ASCII, and checks the ASCII form.
fn to_ascii_domain(raw: &str) -> Result<String, Reason> {
    if raw.is_empty() {
        return Err(Reason::new(
            codes::SYNTAX_EMPTY_DOMAIN,
            "nothing comes after the @",
        ));
    }
    if raw.starts_with('[') || raw.parse::<Ipv4Addr>().is_ok() || raw.parse::<Ipv6Addr>().is_ok() {
        return Err(Reason::new(
            codes::SYNTAX_DOMAIN_LITERAL,
            "the domain is an IP address, not a mail domain",
        ));
    }
    dots(raw, "domain")?;
    check_ascii_chars(raw)?;
    // STD3 rules refuse what maps to a non-LDH ASCII character (fullwidth underscore,
    // the one-character "1." of U+2488); DNS length is checked below with its own codes.
    let ascii = match plain_ascii_domain(raw) {
        Some(ascii) => ascii,
        None => Uts46::new()
            .to_ascii(
                raw.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::Allow,
                DnsLength::Ignore,
            )
            .map_err(|_| {
                Reason::new(
                    codes::SYNTAX_IDNA,
                    "the domain cannot be converted to ASCII (IDNA, UTS 46)",
                )
            })?
            .into_owned(),
    };
    check_ascii_domain(&ascii)?;
    Ok(ascii)
}

/// IDNA's answer for a domain of ASCII letters, digits, hyphens and dots with no `xn--`
/// label, worked out without it: the domain lower-cased. UTS 46 maps ASCII only by case,
/// and with hyphens allowed and DNS lengths left to [`check_ascii_domain`], its checks
/// of such labels ask nothing more. Nearly every real domain is such a one, and this
/// skips IDNA's own pass over it. A property test holds this to IDNA's answer. `None` for
/// any other domain.
fn plain_ascii_domain(raw: &str) -> Option<String> {
    // One pass, which must stay cheaper than IDNA's own fast path to be worth having.
    let bytes = raw.as_bytes();
    let mut label = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'.' {
            label = i + 1;
            continue;
        }
        let ldh = b.is_ascii_alphanumeric() || b == b'-';
        let a_label = i == label + 3 && b == b'-' && bytes[label..i].eq_ignore_ascii_case(b"xn-");
        if !ldh || a_label {
            return None;
        }
    }
    Some(raw.to_ascii_lowercase())
}

/// Refuses ASCII characters a host name cannot have, before IDNA blurs them.
fn check_ascii_chars(raw: &str) -> Result<(), Reason> {
    for c in raw.chars().filter(char::is_ascii) {
        if c == '_' {
            return Err(Reason::new(
                codes::SYNTAX_UNDERSCORE,
                "the domain has an underscore, which no mail host name has",
            ));
        }
        if !(c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            return Err(Reason::new(
                codes::SYNTAX_DOMAIN_CHAR,
                format!(
                    "the domain has a character a host name cannot have ({})",
                    describe(c)
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the ASCII domain: dots that IDNA mapping produced, labels, length, TLD.
fn check_ascii_domain(ascii: &str) -> Result<(), Reason> {
    if ascii.is_empty() {
        return Err(Reason::new(
            codes::SYNTAX_EMPTY_DOMAIN,
            "the domain is empty once converted to ASCII",
        ));
    }
    dots(ascii, "domain")?;
    for label in ascii.split('.') {
        if label.len() > MAX_LABEL {
            return Err(Reason::new(
                codes::SYNTAX_LABEL_TOO_LONG,
                format!(
                    "a domain label is {} octets; the limit is {MAX_LABEL}",
                    label.len()
                ),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(Reason::new(
                codes::SYNTAX_LABEL_HYPHEN,
                "a domain label starts or ends with a hyphen",
            ));
        }
        if label.contains('_') {
            return Err(Reason::new(
                codes::SYNTAX_UNDERSCORE,
                "the domain has an underscore, which no mail host name has",
            ));
        }
    }
    if ascii.len() > MAX_DOMAIN {
        return Err(Reason::new(
            codes::SYNTAX_DOMAIN_TOO_LONG,
            format!(
                "the domain is {} octets; the limit is {MAX_DOMAIN}",
                ascii.len()
            ),
        ));
    }
    let Some((_, tld)) = ascii.rsplit_once('.') else {
        return Err(Reason::new(
            codes::SYNTAX_NO_DOT_IN_DOMAIN,
            "the domain has no dot: it is not a public mail domain",
        ));
    };
    if !(tld.bytes().all(|b| b.is_ascii_alphabetic()) || tld.starts_with("xn--")) {
        return Err(Reason::new(
            codes::SYNTAX_BAD_TLD,
            "the last label of the domain cannot be a top-level domain (TLDs are letters)",
        ));
    }
    Ok(())
}

/// Explains why lettre refused a local part, naming the first character at fault
/// (as a code point, never the local part itself).
fn local_problem(local: &str) -> String {
    if is_quoted(local) {
        return "the quoted local part has a character or escape mail systems do not accept"
            .to_string();
    }
    match local.chars().find(|&c| !is_atext(c) && c != '.') {
        Some(c) => format!(
            "the local part has a character mail systems do not accept ({})",
            describe(c)
        ),
        None => "the local part is not accepted by mail systems".to_string(),
    }
}

/// The characters of an unquoted local part (RFC 5322 atext, RFC 6531 letters and
/// digits of any script), as lettre accepts them.
fn is_atext(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Names a character for a message: printable ASCII as itself, the rest as U+XXXX.
fn describe(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// Builds the canonical mailbox: dedup material, not an address to send to.
fn canonical(local: &str, domain: &str) -> String {
    let mut local = unquote_if_unneeded(local).to_lowercase();
    let mut domain = domain;
    let mut drop_dots = false;
    let mut drop_tag = TAGS_ONLY.contains(&domain);
    if let Some((_, canonical_domain)) = DOTS_AND_TAGS.iter().find(|(d, _)| *d == domain) {
        domain = canonical_domain;
        drop_dots = true;
        drop_tag = true;
    }
    if drop_tag {
        // A tag needs a name before it: "+x@" has none and stays as it is.
        if let Some(plus) = local.find('+').filter(|&plus| plus > 0) {
            local.truncate(plus);
        }
    }
    if drop_dots {
        let undotted: String = local.chars().filter(|&c| c != '.').collect();
        if !undotted.is_empty() {
            local = undotted;
        }
    }
    [local.as_str(), "@", domain].concat()
}

/// Drops the quotes of a quoted local part whose content is a plain dot-atom
/// (`"john.doe"` is `john.doe`); keeps any other local part as it is.
fn unquote_if_unneeded(local: &str) -> &str {
    if !is_quoted(local) {
        return local;
    }
    let inner = local.get(1..local.len() - 1).unwrap_or(local);
    let plain = !inner.is_empty()
        && inner
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext));
    if plain {
        inner
    } else {
        local
    }
}

#[cfg(test)]
#[path = "syntax_cases.rs"]
mod cases;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(input: &str) -> Address {
        match parse(input) {
            Ok(address) => address,
            Err(reason) => panic!("{input:?} was refused: {reason:?}"),
        }
    }

    fn code(input: &str) -> &'static str {
        match parse(input) {
            Ok(address) => panic!("{input:?} was accepted as {address:?}"),
            Err(reason) => reason.code,
        }
    }

    #[test]
    fn idn_domains_become_ascii_lower_case() {
        assert_eq!(ok("user@bücher.de").domain, "xn--bcher-kva.de");
        assert_eq!(ok("user@BÜCHER.DE").domain, "xn--bcher-kva.de");
        assert_eq!(ok("user@xn--bcher-kva.de").domain, "xn--bcher-kva.de");
        // Nontransitional processing: ß stays ß (IDNA 2008), it does not become "ss".
        assert_eq!(ok("user@straße.de").domain, "xn--strae-oqa.de");
        assert_eq!(ok("коля@пример.рф").domain, "xn--e1afmkfd.xn--p1ai");
        // The ideographic full stop is a dot under UTS 46.
        assert_eq!(ok("user@example。com").domain, "example.com");
        assert_eq!(
            ok("User.Name@Bücher.DE").normalized,
            "User.Name@xn--bcher-kva.de"
        );
    }

    #[test]
    fn normalized_keeps_the_local_part_and_lowers_the_domain() {
        let address = ok("John.Smith@Example.COM");
        assert_eq!(address.local, "John.Smith");
        assert_eq!(address.domain, "example.com");
        assert_eq!(address.normalized, "John.Smith@example.com");
        assert_eq!(address.canonical, "john.smith@example.com");
    }

    #[test]
    fn gmail_canonical_drops_dots_and_tags_and_merges_googlemail() {
        assert_eq!(ok("J.O.H.N@gmail.com").canonical, "john@gmail.com");
        assert_eq!(
            ok("john.doe+leads@gmail.com").canonical,
            "johndoe@gmail.com"
        );
        assert_eq!(ok("John.Doe@googlemail.com").canonical, "johndoe@gmail.com");
        assert_eq!(
            ok("john.doe+a+b@GoogleMail.com").canonical,
            "johndoe@gmail.com"
        );
        // A leading plus is not a tag: nothing precedes it.
        assert_eq!(ok("+john@gmail.com").canonical, "+john@gmail.com");
    }

    #[test]
    fn tag_only_providers_keep_dots() {
        assert_eq!(
            ok("John.Doe+x@outlook.com").canonical,
            "john.doe@outlook.com"
        );
        assert_eq!(
            ok("john.doe+x@hotmail.com").canonical,
            "john.doe@hotmail.com"
        );
        assert_eq!(ok("jane+promo@icloud.com").canonical, "jane@icloud.com");
        assert_eq!(ok("jane+promo@proton.me").canonical, "jane@proton.me");
    }

    #[test]
    fn other_domains_keep_dots_and_tags() {
        assert_eq!(
            ok("john.doe+x@contoso.com").canonical,
            "john.doe+x@contoso.com"
        );
        assert_eq!(ok("John.Doe@Yahoo.com").canonical, "john.doe@yahoo.com");
        // Same-looking mailbox at a gmail-like but different domain is not merged.
        assert_eq!(ok("j.doe@gmail.co.uk").canonical, "j.doe@gmail.co.uk");
    }

    #[test]
    fn canonical_unquotes_only_unnecessary_quotes() {
        assert_eq!(
            ok("\"John.Doe\"@example.com").canonical,
            "john.doe@example.com"
        );
        assert_eq!(
            ok("\"john doe\"@example.com").canonical,
            "\"john doe\"@example.com"
        );
        assert_eq!(
            ok("\"john..doe\"@example.com").canonical,
            "\"john..doe\"@example.com"
        );
    }

    #[test]
    fn length_limits_are_octets_at_their_boundaries() {
        let local64 = "a".repeat(64);
        assert_eq!(ok(&format!("{local64}@example.com")).local, local64);
        assert_eq!(
            code(&format!("{}@example.com", "a".repeat(65))),
            codes::SYNTAX_LOCAL_TOO_LONG
        );
        // 32 two-octet letters are 64 octets; 33 are 66.
        ok(&format!("{}@example.com", "é".repeat(32)));
        assert_eq!(
            code(&format!("{}@example.com", "é".repeat(33))),
            codes::SYNTAX_LOCAL_TOO_LONG
        );

        let label63 = "b".repeat(63);
        ok(&format!("a@{label63}.com"));
        assert_eq!(
            code(&format!("a@{}.com", "b".repeat(64))),
            codes::SYNTAX_LABEL_TOO_LONG
        );

        // Four labels of 63 and a dot each: 4 * 64 - 1 = 255 octets; trim to 253 and 254.
        let domain253 = format!("{label63}.{label63}.{label63}.{}", "c".repeat(61));
        assert_eq!(domain253.len(), 253);
        let domain254 = format!("{label63}.{label63}.{label63}.{}", "c".repeat(62));
        assert_eq!(
            code(&format!("a@{domain254}")),
            codes::SYNTAX_DOMAIN_TOO_LONG
        );
        // A 253-octet domain is fine alone but makes "a@" + it 255 octets.
        assert_eq!(
            code(&format!("a@{domain253}")),
            codes::SYNTAX_ADDRESS_TOO_LONG
        );
        let domain252 = format!("{label63}.{label63}.{label63}.{}", "c".repeat(60));
        assert_eq!(ok(&format!("a@{domain252}")).normalized.len(), 254);
    }

    #[test]
    fn label_length_counts_the_ascii_form() {
        // 60 "ü" are 60 characters but a much longer A-label.
        assert_eq!(
            code(&format!("a@{}.de", "ü".repeat(60))),
            codes::SYNTAX_LABEL_TOO_LONG
        );
    }

    #[test]
    fn huge_input_is_refused_before_any_work() {
        let input = format!("{}@example.com", "a".repeat(5000));
        assert_eq!(code(&input), codes::SYNTAX_ADDRESS_TOO_LONG);
    }

    #[test]
    fn messages_never_hold_the_address() {
        for input in [
            "john.smith..x@example.com",
            "john smith@example.com",
            "john@exa mple.com",
            "john@@example.com",
        ] {
            let reason = parse(input).unwrap_err();
            assert!(!reason.message.contains("john"), "{reason:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_accepted_addresses_hold_the_invariants(input in "\\PC{0,80}") {
            if let Ok(address) = parse(&input) {
                prop_assert!(address.domain.is_ascii());
                prop_assert_eq!(address.domain.to_ascii_lowercase(), address.domain.clone());
                prop_assert!(address.domain.contains('.'));
                prop_assert_eq!(address.normalized.clone(), format!("{}@{}", address.local, address.domain));
                prop_assert!(address.normalized.len() <= MAX_ADDRESS);
                prop_assert!(address.local.len() <= MAX_LOCAL);
                // Parsing the normalised form again gives the same address.
                prop_assert_eq!(parse(&address.normalized).ok(), Some(address));
            }
        }

        #[test]
        fn a_plain_local_part_is_one_lettre_accepts(
            local in "[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{1,70}|[a-z]{1,6}[\"\\\\ ()<>,;:\\[\\]\\x00-\\x1f\\x7fé中][a-z]{1,6}",
            domain in "[a-zA-Z0-9.-]{1,70}|[a-z]{1,8}\\.(xn--[a-z0-9-]{1,10}|[a-z0-9-]{1,6})|bücher\\.de|[a-z]{1,8}\\.[a-z]{2,4}",
        ) {
            // What `parse` concludes without lettre, lettre concludes too.
            if check_local(&local).is_ok() && plain_ascii_local(&local) {
                if let Ok(domain) = to_ascii_domain(&domain) {
                    let address = format!("{local}@{domain}");
                    prop_assert!(address.parse::<lettre::Address>().is_ok(), "{}", address);
                }
            }
        }

        #[test]
        fn a_plain_ascii_domain_is_what_idna_makes_of_it(
            domain in "[a-zA-Z0-9-]{1,12}(\\.[a-zA-Z0-9-]{0,12}){0,3}|([xX][nN]--)?[a-z0-9-]{0,8}\\.[a-zA-Z]{2,4}|[a-z]{1,6}[.a-z0-9_+ ]?\\.[a-z]{2,3}",
        ) {
            if let Some(ours) = plain_ascii_domain(&domain) {
                let idna = Uts46::new()
                    .to_ascii(domain.as_bytes(), AsciiDenyList::STD3, Hyphens::Allow, DnsLength::Ignore)
                    .map(|ascii| ascii.into_owned());
                prop_assert_eq!(Ok(ours), idna.map_err(|_| ()), "{}", domain);
            }
        }

        #[test]
        fn address_like_input_never_panics(
            local in "[a-zA-Z0-9.+_\"\\\\ @-]{0,70}",
            domain in "[a-zA-Z0-9.\\-_\\[\\]:üß。．－]{0,70}",
        ) {
            let _ = parse(&format!("{local}@{domain}"));
        }
    }
}
