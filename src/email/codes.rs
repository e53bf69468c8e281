//! Reason codes of the email checks: every code an email verdict can carry, as a constant.
//!
//! Codes are stable machine strings (`syntax.consecutive_dots`, `list.disposable`, ...);
//! clients match on them, so a code is never renamed, only added. The message that goes
//! with a code is for people and may change.

// ---------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------

/// No address was given (empty or blank after trimming): the verdict is UNKNOWN.
pub const MISSING: &str = "missing";

// ---------------------------------------------------------------------------------------
// Syntax (src/email/syntax.rs): each makes the verdict INVALID.
// ---------------------------------------------------------------------------------------

/// There is no `@` in the address.
pub const SYNTAX_NO_AT: &str = "syntax.no_at";
/// There is more than one `@` outside a quoted local part (`a@b@example.com`).
pub const SYNTAX_MULTIPLE_AT: &str = "syntax.multiple_at";
/// Nothing comes before the `@`.
pub const SYNTAX_EMPTY_LOCAL: &str = "syntax.empty_local";
/// Nothing comes after the `@`.
pub const SYNTAX_EMPTY_DOMAIN: &str = "syntax.empty_domain";
/// The local part is longer than 64 octets (RFC 5321 section 4.5.3.1.1).
pub const SYNTAX_LOCAL_TOO_LONG: &str = "syntax.local_too_long";
/// The address is longer than 254 octets (RFC 5321 path limit of 256, less the angle
/// brackets), or the input is far too long to be an address at all.
pub const SYNTAX_ADDRESS_TOO_LONG: &str = "syntax.address_too_long";
/// A domain label is longer than 63 octets in its ASCII form (RFC 1035 section 2.3.4).
pub const SYNTAX_LABEL_TOO_LONG: &str = "syntax.label_too_long";
/// The domain is longer than 253 octets in its ASCII form (RFC 1035 section 2.3.4).
pub const SYNTAX_DOMAIN_TOO_LONG: &str = "syntax.domain_too_long";
/// Two dots in a row, in the local part or the domain.
pub const SYNTAX_CONSECUTIVE_DOTS: &str = "syntax.consecutive_dots";
/// The local part or the domain starts with a dot.
pub const SYNTAX_LEADING_DOT: &str = "syntax.leading_dot";
/// The local part or the domain ends with a dot (a trailing root dot is not accepted in
/// an address).
pub const SYNTAX_TRAILING_DOT: &str = "syntax.trailing_dot";
/// A domain label starts or ends with a hyphen (RFC 952/1123 host names).
pub const SYNTAX_LABEL_HYPHEN: &str = "syntax.label_hyphen";
/// The domain has an underscore: legal in DNS names, never in a mail host name.
pub const SYNTAX_UNDERSCORE: &str = "syntax.underscore";
/// The domain has a character a host name cannot have (a space, `!`, `,`, a control
/// character, ...).
pub const SYNTAX_DOMAIN_CHAR: &str = "syntax.domain_char";
/// The domain has no dot (`user@localhost`): no public mail domain is a bare TLD.
pub const SYNTAX_NO_DOT_IN_DOMAIN: &str = "syntax.no_dot_in_domain";
/// The last label of the domain cannot be a top-level domain: TLDs are letters only, or
/// an IDN A-label (`xn--...`); never all digits (RFC 3696 section 2), never a hyphen.
pub const SYNTAX_BAD_TLD: &str = "syntax.bad_tld";
/// The domain is an IP address, bracketed (`user@[192.0.2.1]`) or bare: valid in RFC
/// 5321, refused by real mail systems and never a lead's address.
pub const SYNTAX_DOMAIN_LITERAL: &str = "syntax.domain_literal";
/// The internationalised domain cannot be converted to ASCII under UTS 46 (a bad
/// A-label such as `xn--0`, a disallowed code point, a bidi or joiner rule broken).
pub const SYNTAX_IDNA: &str = "syntax.idna";
/// lettre's address parser rejects the address: a character mail systems do not accept
/// in the local part, unbalanced quotes, a display name or angle brackets.
pub const SYNTAX_INVALID: &str = "syntax.invalid";

// ---------------------------------------------------------------------------------------
// Lists (src/email/lists.rs) and typo suggestions (src/email/suggest.rs)
// ---------------------------------------------------------------------------------------

/// The domain, or a parent of it, is on the spam-source list: the verdict is SPAM.
pub const LIST_SPAM: &str = "list.spam";
/// The domain, or a parent of it, is a disposable-mail service: the verdict is SPAM and
/// the verdict's `disposable` flag is set.
pub const LIST_DISPOSABLE: &str = "list.disposable";
/// The address itself is on the suppression list (`lists.suppression_file`, keyed
/// hashes of addresses): the verdict is SPAM.
pub const LIST_SUPPRESSED: &str = "list.suppressed";
/// Informational: the domain is a free mail provider (gmail.com, web.de, ...).
pub const FLAG_FREE_PROVIDER: &str = "flag.free_provider";
/// Informational: the local part names a role (info@, sales@, noreply@), not a person.
pub const FLAG_ROLE_ACCOUNT: &str = "flag.role_account";
/// Informational: the domain looks like a misspelling of a popular mail domain; the
/// verdict's `suggestion` holds the likely intended domain.
pub const SUGGEST_TYPO: &str = "suggest.typo";

/// Every code of the syntax, list, flag and suggestion checks above, for the table in
/// docs/verdicts.md and for tests that keep codes unique.
pub const SYNTAX_AND_LISTS: &[&str] = &[
    MISSING,
    SYNTAX_NO_AT,
    SYNTAX_MULTIPLE_AT,
    SYNTAX_EMPTY_LOCAL,
    SYNTAX_EMPTY_DOMAIN,
    SYNTAX_LOCAL_TOO_LONG,
    SYNTAX_ADDRESS_TOO_LONG,
    SYNTAX_LABEL_TOO_LONG,
    SYNTAX_DOMAIN_TOO_LONG,
    SYNTAX_CONSECUTIVE_DOTS,
    SYNTAX_LEADING_DOT,
    SYNTAX_TRAILING_DOT,
    SYNTAX_LABEL_HYPHEN,
    SYNTAX_UNDERSCORE,
    SYNTAX_DOMAIN_CHAR,
    SYNTAX_NO_DOT_IN_DOMAIN,
    SYNTAX_BAD_TLD,
    SYNTAX_DOMAIN_LITERAL,
    SYNTAX_IDNA,
    SYNTAX_INVALID,
    LIST_SPAM,
    LIST_DISPOSABLE,
    LIST_SUPPRESSED,
    FLAG_FREE_PROVIDER,
    FLAG_ROLE_ACCOUNT,
    SUGGEST_TYPO,
];

#[cfg(test)]
mod syntax_and_lists_tests {
    use super::SYNTAX_AND_LISTS;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_lower_case_dotted() {
        let mut seen = HashSet::new();
        for code in SYNTAX_AND_LISTS {
            assert!(seen.insert(*code), "duplicate code {code}");
            assert!(
                code.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
                "code {code} is not lower-case dotted"
            );
        }
    }
}

// =======================================================================================
// DNS (src/email/dns.rs) and SMTP (src/email/smtp/) codes: written by the lead.
// Everything below this line belongs to that section.
// =======================================================================================

/// The domain has MX records (informational: the verdict went on).
pub const DNS_MX: &str = "dns.mx";
/// No MX, but A/AAAA: the domain is its own exchanger (RFC 5321 5.1).
pub const DNS_IMPLICIT_MX: &str = "dns.implicit_mx";
/// A null MX (RFC 7505): the domain accepts no mail. INVALID.
pub const DNS_NULL_MX: &str = "dns.null_mx";
/// NXDOMAIN: the domain does not exist. INVALID.
pub const DNS_NXDOMAIN: &str = "dns.nxdomain";
/// The domain exists but has no MX and no A/AAAA. INVALID.
pub const DNS_NO_MAIL_ROUTE: &str = "dns.no_mail_route";
/// The DNS server answered SERVFAIL. UNKNOWN.
pub const DNS_SERVFAIL: &str = "dns.servfail";
/// The DNS server refused the query. UNKNOWN.
pub const DNS_REFUSED: &str = "dns.refused";
/// The DNS lookup timed out. UNKNOWN.
pub const DNS_TIMEOUT: &str = "dns.timeout";
/// The DNS lookup failed otherwise. UNKNOWN.
pub const DNS_ERROR: &str = "dns.error";
/// The domain is a special-use or internal name (`.localhost`, `.invalid`, `.test`,
/// `.example`, `.local`, `.onion`, `.alt`, `home.arpa`, `.internal`): never looked up. INVALID.
pub const DNS_SPECIAL_USE: &str = "dns.special_use";
/// No mail exchanger has an address (each is NXDOMAIN, has no A/AAAA, or is a
/// special-use name): mail to the domain bounces. INVALID.
pub const DNS_MX_DANGLING: &str = "dns.mx_dangling";
/// The exchanger is an IP address written as a name (RFC 5321 wants a host name); mail
/// often flows. Informational.
pub const DNS_MX_IP_LITERAL: &str = "dns.mx_ip_literal";
/// The exchanger is an alias, a CNAME (RFC 2181 10.3 forbids it); mail often flows.
/// Informational.
pub const DNS_MX_CNAME: &str = "dns.mx_cname";
/// Every address of the exchanger is private or loopback: mail from the internet cannot
/// reach it. Informational.
pub const DNS_MX_PRIVATE: &str = "dns.mx_private";
/// The SMTP probe: the server accepted the mailbox.
pub const SMTP_ACCEPTED: &str = super::smtp::codes::ACCEPTED;
/// The SMTP probe: a permanent rejection of the mailbox (550/551/553, 5.1.x). INVALID.
pub const SMTP_REJECTED: &str = super::smtp::codes::REJECTED;
/// The SMTP probe: the server refused us, not the mailbox (5.7.x, 554): says nothing.
pub const SMTP_POLICY: &str = super::smtp::codes::POLICY;
/// The SMTP probe: a temporary failure (4xx); retry later.
pub const SMTP_TEMPORARY: &str = super::smtp::codes::TEMPORARY;
/// The SMTP probe: the mailbox is disabled, not accepting messages (X.2.1). INVALID.
pub const SMTP_DISABLED: &str = super::smtp::codes::DISABLED;
/// The SMTP probe: the mailbox is full, over quota (X.2.2); retry later.
pub const SMTP_FULL_INBOX: &str = super::smtp::codes::FULL_INBOX;
/// The SMTP probe: greylisted (450/451 4.7.1); retry later.
pub const SMTP_GREYLISTED: &str = super::smtp::codes::GREYLISTED;
/// The SMTP probe: no exchanger could be reached.
pub const SMTP_UNREACHABLE: &str = super::smtp::codes::UNREACHABLE;
/// The SMTP probe: every exchanger resolves to a private address; not probed (SSRF guard).
pub const SMTP_SKIPPED_PRIVATE: &str = super::smtp::codes::SKIPPED_PRIVATE;
/// The SMTP probe: the domain accepts any mailbox (catch-all).
pub const SMTP_CATCH_ALL: &str = super::smtp::codes::CATCH_ALL;
/// The SMTP probe: not probed, the session limits stayed full; retry later.
pub const SMTP_BUSY: &str = super::smtp::codes::BUSY;

/// Every DNS and SMTP code, for the check of the table in docs/verdicts.md.
pub const DNS_AND_SMTP: &[&str] = &[
    DNS_MX,
    DNS_IMPLICIT_MX,
    DNS_NULL_MX,
    DNS_NXDOMAIN,
    DNS_NO_MAIL_ROUTE,
    DNS_SERVFAIL,
    DNS_REFUSED,
    DNS_TIMEOUT,
    DNS_ERROR,
    DNS_SPECIAL_USE,
    DNS_MX_DANGLING,
    DNS_MX_IP_LITERAL,
    DNS_MX_CNAME,
    DNS_MX_PRIVATE,
    SMTP_ACCEPTED,
    SMTP_REJECTED,
    SMTP_POLICY,
    SMTP_TEMPORARY,
    SMTP_DISABLED,
    SMTP_FULL_INBOX,
    SMTP_GREYLISTED,
    SMTP_UNREACHABLE,
    SMTP_SKIPPED_PRIVATE,
    SMTP_CATCH_ALL,
    SMTP_BUSY,
];

// ---------------------------------------------------------------------------------------
// Providers (src/email/provider.rs) and the risk of a VALID verdict
// ---------------------------------------------------------------------------------------

/// Informational, on VALID only: the address is valid but risky to mail (a catch-all
/// domain, a role account, free mail); the message says which.
pub const VALID_RISKY: &str = "valid.risky";

/// Every code of this section, for the README table check.
pub const PROVIDERS_AND_RISK: &[&str] = &[
    super::provider::codes::GOOGLE,
    super::provider::codes::MICROSOFT,
    super::provider::codes::YAHOO,
    super::provider::codes::ZOHO,
    super::provider::codes::YANDEX,
    super::provider::codes::MAILRU,
    super::provider::codes::ICLOUD,
    super::provider::codes::FASTMAIL,
    super::provider::codes::PROTON,
    super::provider::codes::PROOFPOINT,
    super::provider::codes::MIMECAST,
    super::provider::codes::BARRACUDA,
    VALID_RISKY,
];

#[cfg(test)]
mod readme_tests {
    #[test]
    fn every_email_code_is_documented_in_the_readme() {
        let readme = include_str!("../../docs/verdicts.md");
        for code in super::SYNTAX_AND_LISTS
            .iter()
            .chain(super::DNS_AND_SMTP)
            .chain(super::PROVIDERS_AND_RISK)
        {
            assert!(
                readme.contains(&format!("`{code}`")),
                "docs/verdicts.md lacks `{code}`"
            );
        }
    }
}
