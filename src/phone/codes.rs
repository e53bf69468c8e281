//! Reason codes of phone verdicts.

/// No number was given: UNKNOWN.
pub const MISSING: &str = "missing";
/// A national number (no `+`) and no usable country to read it with: UNKNOWN.
pub const PARSE_NO_REGION: &str = "parse.no_region";
/// The input is longer than any phone number could be: INVALID without parsing.
pub const PARSE_TOO_LONG: &str = "parse.too_long";
/// The input has letters (vanity numbers are not turned into digits): INVALID.
pub const PARSE_LETTERS: &str = "parse.letters";
/// libphonenumber could not read a number: INVALID.
pub const PARSE_FAILED: &str = "parse.failed";
/// The `+` number's country calling code does not exist: INVALID.
pub const PARSE_BAD_COUNTRY_CODE: &str = "parse.bad_country_code";
/// The digits of the parsed number are not the digits given: INVALID.
pub const PARSE_DIGITS_MISMATCH: &str = "parse.digits_mismatch";
/// Shorter than any number of its region: INVALID.
pub const LENGTH_TOO_SHORT: &str = "length.too_short";
/// Longer than any number of its region: INVALID.
pub const LENGTH_TOO_LONG: &str = "length.too_long";
/// A length no number of its region has: INVALID.
pub const LENGTH_INVALID: &str = "length.invalid";
/// The right length, but no number range of its region matches: INVALID.
pub const INVALID_FOR_REGION: &str = "invalid.for_region";
/// The national number is one digit repeated: INVALID.
pub const FAKE_REPEATED: &str = "fake.repeated";
/// The national number is a straight run (123456789, 987654321): INVALID.
pub const FAKE_SEQUENTIAL: &str = "fake.sequential";
/// NANP 555-0100..0199, reserved for fiction: INVALID.
pub const FAKE_FICTIONAL_NANP: &str = "fake.fictional_nanp";
/// An Ofcom drama number (UK): INVALID.
pub const FAKE_FICTIONAL_OFCOM: &str = "fake.fictional_ofcom";
/// An ACMA number for creative works (Australia): INVALID.
pub const FAKE_FICTIONAL_ACMA: &str = "fake.fictional_acma";
/// Valid: informational, names the region and type.
pub const VALID: &str = "valid";
/// The number had an extension, which is kept out of the E.164 form.
pub const EXTENSION: &str = "extension";

/// Every phone code, for the README check.
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
    INVALID_FOR_REGION,
    FAKE_REPEATED,
    FAKE_SEQUENTIAL,
    FAKE_FICTIONAL_NANP,
    FAKE_FICTIONAL_OFCOM,
    FAKE_FICTIONAL_ACMA,
    VALID,
    EXTENSION,
];
