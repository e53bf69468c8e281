//! Cross-checks between a lead's fields: the cheapest fraud signal there is.
//!
//! A real contact's fields agree: the phone's country is the lead's, the email's country
//! domain too, a business email's domain carries the company's name and its address the
//! person's. A made-up lead is typed field by field and often does not. Each check gives
//! a factor only when it has something to say; a check whose fields are missing says
//! nothing.

use std::borrow::Cow;

use super::{EmailClass, Signals};
use crate::lead::codes;
use crate::lead::dedup::{company_key, normalise};

/// Country-code top-level domains sold for general use (`.io`, `.co`, `.ai`, ...): they
/// tell nothing of where their owner is.
const GENERIC_CCTLDS: &[&str] = &[
    "ac", "ad", "ag", "ai", "am", "as", "bz", "cc", "cd", "cx", "co", "dj", "fm", "gg", "gl", "gs",
    "io", "im", "la", "ly", "me", "ms", "mu", "nu", "sc", "sh", "so", "st", "tk", "to", "tv", "vc",
    "vg", "ws",
];

/// Second-level labels under a ccTLD that are part of the suffix: `contoso.co.uk`,
/// `contoso.com.br`.
const SECOND_LEVEL: &[&str] = &[
    "co", "com", "org", "net", "gov", "edu", "ac", "gob", "or", "ne",
];

/// The shortest name part or company name matched inside an address or a domain: shorter
/// ones (Li, Bo, "AB") occur inside unrelated words.
const MIN_MATCH: usize = 3;

/// Adds the consistency factors of a lead through `add`.
pub(super) fn check(s: &Signals<'_>, add: &mut impl FnMut(&'static str, Cow<'static, str>)) {
    let country = s.country;
    if !country.is_empty() && !s.phone_region.is_empty() && s.phone_region != country {
        add(
            codes::CONSISTENCY_PHONE_COUNTRY,
            format!(
                "the phone is of region {}, the lead's country is {country}",
                shown_region(s.phone_region)
            )
            .into(),
        );
    }
    // The email checks need an address that may reach someone.
    if !matches!(s.email, EmailClass::Valid | EmailClass::Unknown) {
        return;
    }
    let domain = s.email_domain.trim_end_matches('.').to_ascii_lowercase();
    if let Some(cc) = country_of_domain(&domain) {
        if !country.is_empty() && !cc.eq_ignore_ascii_case(country) {
            add(
                codes::CONSISTENCY_EMAIL_CCTLD,
                format!(
                    "the email's domain is under the country domain of {}, the lead's country is {country}",
                    cc.to_ascii_uppercase()
                )
                .into(),
            );
        }
    }
    let company = company_key(s.company).replace(' ', "");
    if !company.is_empty() {
        if s.free_provider {
            add(
                codes::CONSISTENCY_FREE_MAIL_WITH_COMPANY,
                "the lead names a company but writes from a free mail provider".into(),
            );
        } else if company_in_domain(&company, &domain) {
            add(
                codes::CONSISTENCY_COMPANY_DOMAIN,
                "the email's domain carries the company's name".into(),
            );
        }
    }
    if !s.role_account && name_in_address(s.first_name, s.last_name, s.email_local) {
        add(
            codes::CONSISTENCY_NAME_IN_ADDRESS,
            "the email's address carries the lead's name".into(),
        );
    }
}

/// A region code as shown in a detail: two ASCII letters, or `?` for anything else, so
/// that no input reaches the detail.
fn shown_region(region: &str) -> &str {
    if region.len() == 2 && region.bytes().all(|b| b.is_ascii_alphabetic()) {
        region
    } else {
        "?"
    }
}

/// The ISO 3166-1 country of a domain's country-code TLD (`uk` is GB); `None` for a
/// generic TLD, or a ccTLD sold for general use.
fn country_of_domain(domain: &str) -> Option<&str> {
    let tld = domain.rsplit('.').next()?;
    if tld.len() != 2 || !tld.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    if GENERIC_CCTLDS.contains(&tld) || tld == "eu" {
        return None;
    }
    Some(if tld == "uk" { "gb" } else { tld })
}

/// The part of a domain its owner chose: `contoso` of `mail.contoso.co.uk`, with hyphens
/// dropped.
fn registered_name(domain: &str) -> String {
    let mut labels: Vec<&str> = domain.split('.').filter(|l| !l.is_empty()).collect();
    // The TLD, and a second level that is part of the suffix under a ccTLD.
    labels.pop();
    if labels.len() >= 2
        && domain.rsplit('.').next().is_some_and(|t| t.len() == 2)
        && labels.last().is_some_and(|l| SECOND_LEVEL.contains(l))
    {
        labels.pop();
    }
    labels
        .last()
        .map(|l| l.replace('-', ""))
        .unwrap_or_default()
}

/// Whether the company's name (normalised, legal form dropped, spaces removed) and the
/// domain's registered name contain one another: "Contoso Ltd" at `contoso.com`,
/// "Contoso Pharmaceuticals" at `contoso.com`, "Fabrikam" at `fabrikam-group.de`.
fn company_in_domain(company: &str, domain: &str) -> bool {
    let name = registered_name(domain);
    if name.len() < MIN_MATCH || company.chars().count() < MIN_MATCH {
        return false;
    }
    name.contains(company) || (name.len() > MIN_MATCH && company.contains(&name))
}

/// Whether the address's local part holds the first or the last name (normalised, each
/// word of three letters or more): `ana.garcia@`, `agarcia@`, `garcia.ana77@`.
fn name_in_address(first: &str, last: &str, local: &str) -> bool {
    let local = normalise(local).replace(' ', "");
    if local.is_empty() {
        return false;
    }
    [first, last].iter().any(|name| {
        normalise(name)
            .split(' ')
            .any(|word| word.chars().count() >= MIN_MATCH && local.contains(word))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_domains_are_read_and_generic_ones_ignored() {
        assert_eq!(country_of_domain("contoso.com.br"), Some("br"));
        assert_eq!(country_of_domain("contoso.co.uk"), Some("gb"));
        assert_eq!(country_of_domain("yandex.ru"), Some("ru"));
        assert_eq!(country_of_domain("contoso.io"), None);
        assert_eq!(country_of_domain("contoso.com"), None);
        assert_eq!(country_of_domain("contoso.test"), None);
        assert_eq!(country_of_domain("europa.eu"), None);
    }

    #[test]
    fn company_names_are_found_in_domains() {
        assert!(company_in_domain("contoso", "contoso.com"));
        assert!(company_in_domain("contoso", "mail.contoso.co.uk"));
        assert!(company_in_domain("contosopharmaceuticals", "contoso.com"));
        assert!(company_in_domain("fabrikam", "fabrikam-group.de"));
        assert!(!company_in_domain("fabrikam", "contoso.com"));
        // Too short to tell.
        assert!(!company_in_domain("ab", "abcorp.com"));
        assert!(!company_in_domain("contoso", "co.uk"));
    }

    #[test]
    fn names_are_found_in_addresses() {
        assert!(name_in_address("Ana", "García", "ana.garcia"));
        assert!(name_in_address("Ana", "García", "agarcia77"));
        assert!(name_in_address("Jean-Luc", "Picard", "jluc"));
        assert!(!name_in_address("Ana", "García", "sales"));
        assert!(
            !name_in_address("Li", "Na", "lina"),
            "short names say nothing"
        );
        assert!(!name_in_address("", "", "ana"));
    }
}
