//! Reason codes of phone verdicts: stable machine codes, one constant each, with the
//! verdict each one goes with.
//!
//! The first reason of a verdict is the one that decided it; `valid` and `extension` are
//! informational.

/// No number was given (empty or blank): UNKNOWN.
pub const MISSING: &str = "missing";
/// A national number (written without `+`) and no country libphonenumber has a region for:
/// UNKNOWN, since the same digits are valid in one country and not in another.
pub const PARSE_NO_REGION: &str = "parse.no_region";
/// The input is longer than any written phone number ([`super::MAX_INPUT_CHARS`]
/// characters): INVALID without parsing.
pub const PARSE_TOO_LONG: &str = "parse.too_long";
/// The input has letters other than an extension marker (`ext`, `x`): INVALID. Vanity
/// numbers (`1-800-FLOWERS`) are not turned into digits.
pub const PARSE_LETTERS: &str = "parse.letters";
/// libphonenumber found no phone number in the input: INVALID.
pub const PARSE_FAILED: &str = "parse.failed";
/// The country calling code after `+` (or after an international prefix) is not assigned:
/// INVALID.
pub const PARSE_BAD_COUNTRY_CODE: &str = "parse.bad_country_code";
/// A `+` number whose parsed digits are not the digits given (a digit dropped or added
/// while parsing): INVALID. A `(0)` written after the country code may be dropped.
pub const PARSE_DIGITS_MISMATCH: &str = "parse.digits_mismatch";
/// Shorter than every number of its country: INVALID.
pub const LENGTH_TOO_SHORT: &str = "length.too_short";
/// Longer than every number of its country, or than the 15 digits E.164 allows: INVALID.
pub const LENGTH_TOO_LONG: &str = "length.too_long";
/// Between the shortest and longest lengths of its country, but a length none of its
/// numbers has: INVALID.
pub const LENGTH_INVALID: &str = "length.invalid";
/// A local number, dialable only inside its area: the area code is missing. INVALID.
pub const LENGTH_LOCAL_ONLY: &str = "length.local_only";
/// A possible length, but no number range of its country matches: INVALID.
pub const INVALID_FOR_REGION: &str = "invalid.for_region";
/// Valid per libphonenumber, but the national or subscriber number is one digit repeated
/// (`+49 30 33333333`): INVALID.
pub const FAKE_REPEATED: &str = "fake.repeated";
/// Valid per libphonenumber, but the national or subscriber number is a straight run
/// (`123456789`, `987654321`, `+44 1234 567890`): INVALID.
pub const FAKE_SEQUENTIAL: &str = "fake.sequential";
/// NANP 555-0100 to 555-0199, reserved by NANPA for fiction: INVALID.
pub const FAKE_FICTIONAL_NANP: &str = "fake.fictional_nanp";
/// One of Ofcom's UK numbers reserved for TV and radio drama: INVALID.
pub const FAKE_FICTIONAL_OFCOM: &str = "fake.fictional_ofcom";
/// One of ACMA's Australian numbers reserved for creative works: INVALID.
pub const FAKE_FICTIONAL_ACMA: &str = "fake.fictional_acma";
/// VALID: a real range of its region; the message names the region and type.
pub const VALID: &str = "valid";
/// Informational: the input ended in an extension, which the E.164 form leaves out.
pub const EXTENSION: &str = "extension";
/// The field holds two numbers or more (`+1 202 ... / +1 212 ...`): INVALID.
pub const PARSE_SEVERAL_NUMBERS: &str = "parse.several_numbers";
/// Informational: digits of another script (full-width, Arabic-Indic) were read as 0-9.
pub const NORMALISED_DIGITS: &str = "normalised.digits";
/// Informational: the number was read from a `tel:` URI.
pub const NORMALISED_TEL_URI: &str = "normalised.tel_uri";
/// Informational: an international prefix, `00` or `011`, was read as `+`.
pub const NORMALISED_INTERNATIONAL_PREFIX: &str = "normalised.international_prefix";
/// Informational: a trunk prefix written after the country code (`+44 (0) 20`) was left out.
pub const NORMALISED_TRUNK_PREFIX: &str = "normalised.trunk_prefix";
/// Informational: a vanity number's letters were read as keypad digits.
pub const NORMALISED_VANITY: &str = "normalised.vanity";

/// The call window of a number with one time zone: its local time and whether it is
/// business hours there (`LeadAssessment.call_window`, not a verdict's reason).
pub const LOCAL_TIME: &str = "phone.local_time";
/// The call window of a number with several time zones: each zone's local time.
pub const SEVERAL_TIME_ZONES: &str = "phone.several_time_zones";

/// Every phone reason code, in the order above: the table in docs/verdicts.md is checked
/// against it.
pub const ALL: &[&str] = &[
    MISSING,
    PARSE_NO_REGION,
    PARSE_TOO_LONG,
    PARSE_LETTERS,
    PARSE_FAILED,
    PARSE_BAD_COUNTRY_CODE,
    PARSE_DIGITS_MISMATCH,
    LENGTH_TOO_SHORT,
    LENGTH_TOO_LONG,
    LENGTH_INVALID,
    LENGTH_LOCAL_ONLY,
    INVALID_FOR_REGION,
    FAKE_REPEATED,
    FAKE_SEQUENTIAL,
    FAKE_FICTIONAL_NANP,
    FAKE_FICTIONAL_OFCOM,
    FAKE_FICTIONAL_ACMA,
    VALID,
    EXTENSION,
    PARSE_SEVERAL_NUMBERS,
    NORMALISED_DIGITS,
    NORMALISED_TEL_URI,
    NORMALISED_INTERNATIONAL_PREFIX,
    NORMALISED_TRUNK_PREFIX,
    NORMALISED_VANITY,
];

/// Whether a code is one of the fake-number rules, which overrule libphonenumber's VALID.
pub fn is_fake(code: &str) -> bool {
    code.starts_with("fake.")
}
