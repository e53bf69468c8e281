//! Reason codes of LeadSource parsing and the codes of the scoring model's factors.

/// The lead has no LeadSource.
pub const SOURCE_MISSING: &str = "source.missing";
/// The LeadSource is not of the form `Source-Action | publisherid.offerid`.
pub const SOURCE_MALFORMED: &str = "source.malformed";
/// The source is not one of AzureMarketplace, AzurePortal, AppSource (SPZA).
pub const SOURCE_UNKNOWN_SOURCE: &str = "source.unknown_source";
/// The action is not one of INS, PLT, DNC, Create, StartTestDrive.
pub const SOURCE_UNKNOWN_ACTION: &str = "source.unknown_action";
/// No offer after the `|`.
pub const SOURCE_MISSING_OFFER: &str = "source.missing_offer";
/// The offer is not `publisherid.offerid`.
pub const SOURCE_OFFER_MALFORMED: &str = "source.offer_malformed";

/// Every source code, for the README check.
pub const SOURCE_CODES: &[&str] = &[
    SOURCE_MISSING,
    SOURCE_MALFORMED,
    SOURCE_UNKNOWN_SOURCE,
    SOURCE_UNKNOWN_ACTION,
    SOURCE_MISSING_OFFER,
    SOURCE_OFFER_MALFORMED,
];

/// Install, portal purchase or test drive: active interest.
pub const ACTION_ACTIVE: &str = "action.active";
/// "Contact me" (PLT): initial interest.
pub const ACTION_INITIAL: &str = "action.initial";
/// Do not contact (DNC).
pub const ACTION_DO_NOT_CONTACT: &str = "action.do_not_contact";
/// No usable action.
pub const ACTION_UNKNOWN: &str = "action.unknown";
/// The email is VALID.
pub const EMAIL_VALID: &str = "email.valid";
/// The email is INVALID.
pub const EMAIL_INVALID: &str = "email.invalid";
/// The email is SPAM or disposable.
pub const EMAIL_SPAM: &str = "email.spam";
/// The email could not be checked.
pub const EMAIL_UNKNOWN: &str = "email.unknown";
/// The lead has no email.
pub const EMAIL_MISSING: &str = "email.missing";
/// The email is at a corporate (not free-mail) domain.
pub const EMAIL_CORPORATE: &str = "email.corporate";
/// The email is at a free mail provider.
pub const EMAIL_FREE_PROVIDER: &str = "email.free_provider";
/// The email is a role account (info@, sales@).
pub const EMAIL_ROLE_ACCOUNT: &str = "email.role_account";
/// The phone is VALID and a mobile (or fixed-or-mobile) number.
pub const PHONE_VALID_MOBILE: &str = "phone.valid_mobile";
/// The phone is VALID, another type.
pub const PHONE_VALID: &str = "phone.valid";
/// The phone is a toll-free, premium or shared-cost number: not a person's line.
pub const PHONE_SERVICE_NUMBER: &str = "phone.service_number";
/// The phone is INVALID.
pub const PHONE_INVALID: &str = "phone.invalid";
/// The phone could not be checked.
pub const PHONE_UNKNOWN: &str = "phone.unknown";
/// The lead has no phone.
pub const PHONE_MISSING: &str = "phone.missing";
/// The lead names its company.
pub const COMPLETE_COMPANY: &str = "complete.company";
/// The lead names its job title.
pub const COMPLETE_TITLE: &str = "complete.title";
/// The title is C-level, president, owner or founder.
pub const TITLE_EXECUTIVE: &str = "title.executive";
/// The title is VP, director or head of.
pub const TITLE_SENIOR: &str = "title.senior";
/// The name looks fake (test, asdf, keyboard runs, repeated letters, digits).
pub const NAME_FAKE: &str = "name.fake";
/// Created within 24 hours: the seeds' follow-up window.
pub const RECENCY_24H: &str = "recency.24h";
/// Created within 72 hours: the seeds' "hot" window.
pub const RECENCY_72H: &str = "recency.72h";
/// Created within 14 days: the seeds' response window.
pub const RECENCY_14D: &str = "recency.14d";
/// Older than 14 days: past the response window (the lead would have expired).
pub const RECENCY_EXPIRED: &str = "recency.expired";
/// The LeadSource could not be parsed.
pub const SOURCE_UNPARSED: &str = "source.unparsed";
/// Hard rule: do not contact is always LOW.
pub const RULE_DO_NOT_CONTACT: &str = "rule.do_not_contact";
/// Hard rule: a SPAM email is always LOW.
pub const RULE_SPAM_EMAIL: &str = "rule.spam_email";

/// Every factor code, for the README check.
pub const FACTOR_CODES: &[&str] = &[
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
    RECENCY_24H,
    RECENCY_72H,
    RECENCY_14D,
    RECENCY_EXPIRED,
    RULE_DO_NOT_CONTACT,
    RULE_SPAM_EMAIL,
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_code_is_documented_in_the_readme_and_the_model() {
        let readme = include_str!("../../README.md");
        let model = include_str!("../../data/scoring.toml");
        for code in super::SOURCE_CODES.iter().chain(super::FACTOR_CODES) {
            assert!(readme.contains(&format!("`{code}`")), "README lacks `{code}`");
        }
        for code in super::FACTOR_CODES {
            if !code.starts_with("rule.") {
                assert!(model.contains(&format!("\"{code}\" =")), "the model lacks {code}");
            }
        }
    }
}
