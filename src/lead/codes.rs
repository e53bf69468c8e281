//! Reason codes of LeadSource parsing and the codes of the scoring model's factors.
//!
//! Source codes explain why a LeadSource could not be read in full; factor codes name
//! the signals that moved a score and are also the keys of the `[points]` table in the
//! scoring model file, so a factor and its points cannot drift apart.

/// The lead has no LeadSource (empty or only spaces).
pub const SOURCE_MISSING: &str = "source.missing";
/// The LeadSource is not of the form `Source-Action | publisherid.offerid`: no hyphen
/// between source and action, an empty part, a missing `|` before the offer, control
/// characters, or longer than any real one.
pub const SOURCE_MALFORMED: &str = "source.malformed";
/// The source is not one of `AzureMarketplace`, `AzurePortal`, `AppSource (SPZA)`.
pub const SOURCE_UNKNOWN_SOURCE: &str = "source.unknown_source";
/// The action is not one of `INS`, `PLT`, `DNC`, `Create`, `StartTestDrive`.
pub const SOURCE_UNKNOWN_ACTION: &str = "source.unknown_action";
/// There is no offer: no `|`, or nothing after it.
pub const SOURCE_MISSING_OFFER: &str = "source.missing_offer";
/// The offer is not `publisherid.offerid`: no dot, an empty side, or spaces inside.
pub const SOURCE_OFFER_MALFORMED: &str = "source.offer_malformed";

/// Every LeadSource reason code, for the check of docs/verdicts.md.
pub const SOURCE_CODES: &[&str] = &[
    SOURCE_MISSING,
    SOURCE_MALFORMED,
    SOURCE_UNKNOWN_SOURCE,
    SOURCE_UNKNOWN_ACTION,
    SOURCE_MISSING_OFFER,
    SOURCE_OFFER_MALFORMED,
];

/// Factor: install (`INS`), portal purchase (`Create`) or test drive: active interest.
pub const ACTION_ACTIVE: &str = "action.active";
/// Factor: "Contact me" (`PLT`): initial interest.
pub const ACTION_INITIAL: &str = "action.initial";
/// Factor: do not contact (`DNC`); the hard rule [`RULE_DO_NOT_CONTACT`] follows it.
pub const ACTION_DO_NOT_CONTACT: &str = "action.do_not_contact";
/// Factor: no usable action (missing or unknown).
pub const ACTION_UNKNOWN: &str = "action.unknown";
/// Factor: the LeadSource was reported `source.malformed`.
pub const SOURCE_UNPARSED: &str = "source.unparsed";
/// Factor: the email is VALID.
pub const EMAIL_VALID: &str = "email.valid";
/// Factor: the email is INVALID.
pub const EMAIL_INVALID: &str = "email.invalid";
/// Factor: the email is SPAM (spam or disposable domain); the hard rule
/// [`RULE_SPAM_EMAIL`] follows it.
pub const EMAIL_SPAM: &str = "email.spam";
/// Factor: the email could not be checked (UNKNOWN).
pub const EMAIL_UNKNOWN: &str = "email.unknown";
/// Factor: the lead has no email.
pub const EMAIL_MISSING: &str = "email.missing";
/// Factor: a VALID or UNKNOWN email at a corporate (not free-mail) domain.
pub const EMAIL_CORPORATE: &str = "email.corporate";
/// Factor: a VALID or UNKNOWN email at a free mail provider.
pub const EMAIL_FREE_PROVIDER: &str = "email.free_provider";
/// Factor: a VALID or UNKNOWN email that is a role account (info@, sales@).
pub const EMAIL_ROLE_ACCOUNT: &str = "email.role_account";
/// Factor: the phone is VALID and mobile (or fixed-line-or-mobile).
pub const PHONE_VALID_MOBILE: &str = "phone.valid_mobile";
/// Factor: the phone is VALID, of another personal type (fixed line, VoIP, ...).
pub const PHONE_VALID: &str = "phone.valid";
/// Factor: the phone is VALID but toll-free, premium-rate or shared-cost.
pub const PHONE_SERVICE_NUMBER: &str = "phone.service_number";
/// Factor: the phone is INVALID.
pub const PHONE_INVALID: &str = "phone.invalid";
/// Factor: the phone could not be checked (UNKNOWN).
pub const PHONE_UNKNOWN: &str = "phone.unknown";
/// Factor: the lead has no phone.
pub const PHONE_MISSING: &str = "phone.missing";
/// Factor: the lead names its company.
pub const COMPLETE_COMPANY: &str = "complete.company";
/// Factor: the lead gives a job title.
pub const COMPLETE_TITLE: &str = "complete.title";
/// Factor: the title is C-level, president, owner, partner or founder.
pub const TITLE_EXECUTIVE: &str = "title.executive";
/// Factor: the title is VP, director, head or chief of a function.
pub const TITLE_SENIOR: &str = "title.senior";
/// Factor: the first or last name looks made up.
pub const NAME_FAKE: &str = "name.fake";
/// Factor: the phone's region, for a number written in international form, is not the
/// lead's country.
pub const CONSISTENCY_PHONE_COUNTRY: &str = "consistency.phone_country";
/// Factor: the email's domain is under the country-code TLD of another country than the
/// lead's (ccTLDs sold for general use, like `.io`, excepted).
pub const CONSISTENCY_EMAIL_CCTLD: &str = "consistency.email_cctld";
/// Factor: the email's domain carries the company's name (normalised, legal form dropped).
pub const CONSISTENCY_COMPANY_DOMAIN: &str = "consistency.company_domain";
/// Factor: the lead names a company but writes from a free mail provider.
pub const CONSISTENCY_FREE_MAIL_WITH_COMPANY: &str = "consistency.free_mail_with_company";
/// Factor: the email's local part carries the lead's first or last name.
pub const CONSISTENCY_NAME_IN_ADDRESS: &str = "consistency.name_in_address";
/// Factor: created less than 24 hours ago: the seeds' follow-up advice.
pub const RECENCY_24H: &str = "recency.24h";
/// Factor: created 24 to 72 hours ago: still inside the seeds' 72-hour "hot" window.
pub const RECENCY_72H: &str = "recency.72h";
/// Factor: created 72 hours to 14 days ago: inside the seeds' 14-day response window.
pub const RECENCY_14D: &str = "recency.14d";
/// Factor: created 14 days ago or more: an unanswered lead would have expired.
pub const RECENCY_EXPIRED: &str = "recency.expired";
/// Factor: an offer lead that needs no action (Get it now, Free trial, Test drive),
/// created 72 hours to six months ago: still available, as the seeds keep it.
pub const RECENCY_AVAILABLE: &str = "recency.available";
/// Factor: an offer lead that needs no action, created six months ago or more: the seeds
/// archive it; the hard rule [`RULE_ARCHIVED`] follows it.
pub const RECENCY_ARCHIVED: &str = "recency.archived";
/// Factor: created more than 14 hours ahead of our clock: a bad timestamp.
pub const RECENCY_FUTURE: &str = "recency.future";
/// Factor: the lead has no creation time.
pub const RECENCY_UNKNOWN: &str = "recency.unknown";

/// Every factor code with points in the model: exactly the keys of `[points]`.
pub const POINT_CODES: &[&str] = &[
    ACTION_ACTIVE,
    ACTION_INITIAL,
    ACTION_DO_NOT_CONTACT,
    ACTION_UNKNOWN,
    SOURCE_UNPARSED,
    EMAIL_VALID,
    EMAIL_INVALID,
    EMAIL_SPAM,
    EMAIL_UNKNOWN,
    EMAIL_MISSING,
    EMAIL_CORPORATE,
    EMAIL_FREE_PROVIDER,
    EMAIL_ROLE_ACCOUNT,
    PHONE_VALID_MOBILE,
    PHONE_VALID,
    PHONE_SERVICE_NUMBER,
    PHONE_INVALID,
    PHONE_UNKNOWN,
    PHONE_MISSING,
    COMPLETE_COMPANY,
    COMPLETE_TITLE,
    TITLE_EXECUTIVE,
    TITLE_SENIOR,
    NAME_FAKE,
    CONSISTENCY_PHONE_COUNTRY,
    CONSISTENCY_EMAIL_CCTLD,
    CONSISTENCY_COMPANY_DOMAIN,
    CONSISTENCY_FREE_MAIL_WITH_COMPANY,
    CONSISTENCY_NAME_IN_ADDRESS,
    RECENCY_24H,
    RECENCY_72H,
    RECENCY_14D,
    RECENCY_EXPIRED,
    RECENCY_AVAILABLE,
    RECENCY_ARCHIVED,
    RECENCY_FUTURE,
    RECENCY_UNKNOWN,
];

/// Hard rule: do not contact (`DNC`) is always LOW.
pub const RULE_DO_NOT_CONTACT: &str = "rule.do_not_contact";
/// Hard rule: a SPAM email is always LOW.
pub const RULE_SPAM_EMAIL: &str = "rule.spam_email";

/// Hard rule: an archived offer lead is always LOW: the seeds say nothing can be done
/// with an archived lead.
pub const RULE_ARCHIVED: &str = "rule.archived";

/// Every hard-rule factor code; their points are computed, never configured.
pub const RULE_CODES: &[&str] = &[RULE_DO_NOT_CONTACT, RULE_SPAM_EMAIL, RULE_ARCHIVED];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_namespaced() {
        let all: Vec<&str> = SOURCE_CODES
            .iter()
            .chain(POINT_CODES)
            .chain(RULE_CODES)
            .copied()
            .collect();
        for (i, code) in all.iter().enumerate() {
            assert!(!all[..i].contains(code), "{code} is listed twice");
            let (family, name) = code.split_once('.').unwrap_or(("", ""));
            assert!(!family.is_empty() && !name.is_empty(), "{code}");
            assert!(
                code.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn every_code_is_documented_in_the_readme_and_the_model() {
        let readme = include_str!("../../docs/verdicts.md");
        let model = include_str!("../../data/scoring.toml");
        for code in SOURCE_CODES.iter().chain(POINT_CODES).chain(RULE_CODES) {
            assert!(
                readme.contains(&format!("`{code}`")),
                "docs/verdicts.md lacks `{code}`"
            );
        }
        for code in POINT_CODES {
            let line = model
                .lines()
                .find(|line| line.starts_with(&format!("\"{code}\" =")))
                .unwrap_or_else(|| panic!("the model lacks {code}"));
            // The factor table of docs/verdicts.md shows the bundled model's points.
            let points = line
                .split('=')
                .nth(1)
                .unwrap()
                .split('#')
                .next()
                .unwrap()
                .trim();
            assert!(
                readme.contains(&format!("| `{code}` | {points} |")),
                "docs/verdicts.md's factor table lacks `{code}` with {points} points"
            );
        }
    }
}
