//! Phone validation: libphonenumber's rules (through rlibphonenumber), the lead's country
//! as default region, guards against inputs libphonenumber would bend, and the fake
//! numbers its metadata lets through.

pub mod codes;
pub mod fake;
pub mod region;

#[cfg(test)]
mod agreement;

use std::sync::OnceLock;

use moka::sync::Cache;
use regex::Regex;
use rlibphonenumber::{
    ParseError, PhoneNumber, PhoneNumberFormat, PhoneNumberType, Region, ValidationError,
    PHONE_NUMBER_UTIL,
};
use serde::Serialize;

use crate::metrics;
use crate::reason::Reason;

/// The libphonenumber metadata release rlibphonenumber 2.2.15 carries. A test ties it to
/// Cargo.lock and to the oracle fixture, so an upgrade cannot leave it stale.
pub const METADATA_VERSION: &str = "9.0.42";

/// Returns the metadata version for logs and the README.
pub fn metadata_version() -> &'static str {
    "libphonenumber metadata 9.0.42 (rlibphonenumber 2.2.15)"
}

/// The verdict on a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Validity {
    /// A valid, non-fictional number for its region.
    Valid,
    /// Unparseable, of impossible length, invalid for its region, or fake.
    Invalid,
    /// Missing, or national with no usable country.
    Unknown,
}

/// libphonenumber's number types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NumberType {
    /// A landline.
    FixedLine,
    /// A mobile.
    Mobile,
    /// Fixed or mobile: the region does not tell them apart (NANP).
    FixedLineOrMobile,
    /// Freephone.
    TollFree,
    /// Premium rate.
    PremiumRate,
    /// Shared cost.
    SharedCost,
    /// Voice over IP.
    Voip,
    /// A personal number.
    PersonalNumber,
    /// A pager.
    Pager,
    /// A universal access number.
    Uan,
    /// Voicemail access.
    Voicemail,
    /// Valid, of no type the metadata names.
    Unknown,
}

impl From<PhoneNumberType> for NumberType {
    fn from(t: PhoneNumberType) -> Self {
        match t {
            PhoneNumberType::FixedLine => NumberType::FixedLine,
            PhoneNumberType::Mobile => NumberType::Mobile,
            PhoneNumberType::FixedLineOrMobile => NumberType::FixedLineOrMobile,
            PhoneNumberType::TollFree => NumberType::TollFree,
            PhoneNumberType::PremiumRate => NumberType::PremiumRate,
            PhoneNumberType::SharedCost => NumberType::SharedCost,
            PhoneNumberType::VoIP => NumberType::Voip,
            PhoneNumberType::PersonalNumber => NumberType::PersonalNumber,
            PhoneNumberType::Pager => NumberType::Pager,
            PhoneNumberType::UAN => NumberType::Uan,
            PhoneNumberType::VoiceMail => NumberType::Voicemail,
            PhoneNumberType::Unknown => NumberType::Unknown,
        }
    }
}

/// The result of validating one number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The verdict.
    pub validity: Validity,
    /// E.164 (`+12025550143`); empty when the number could not be parsed.
    pub e164: String,
    /// ISO 3166-1 alpha-2 region; empty when not valid.
    pub region: String,
    /// The country calling code; 0 when not parsed.
    pub country_code: u32,
    /// The type, for valid numbers.
    pub number_type: Option<NumberType>,
    /// International format.
    pub international: String,
    /// National format.
    pub national: String,
    /// Why.
    pub reasons: Vec<Reason>,
}

impl Verdict {
    fn unparsed(validity: Validity, code: &'static str, message: impl Into<String>) -> Verdict {
        Verdict {
            validity,
            e164: String::new(),
            region: String::new(),
            country_code: 0,
            number_type: None,
            international: String::new(),
            national: String::new(),
            reasons: vec![Reason::new(code, message)],
        }
    }
}

/// Longest input read. E.164 numbers have at most 15 digits; with spacing, a prefix and
/// an extension, 64 characters is generous.
pub const MAX_INPUT_CHARS: usize = 64;

/// Validates numbers, caching verdicts: one per process.
pub struct Engine {
    cache: Cache<(String, String), Verdict>,
}

impl Engine {
    /// Makes the engine and loads libphonenumber's metadata and the country table now, so
    /// the first request does not pay for it.
    pub fn new(cache_capacity: u64) -> Engine {
        warm();
        Engine {
            cache: Cache::new(cache_capacity),
        }
    }

    /// Validates a number (cached by the trimmed input and the country).
    pub fn validate(&self, phone: &str, country: &str) -> Verdict {
        let key = (phone.trim().to_string(), country.trim().to_ascii_lowercase());
        if let Some(verdict) = self.cache.get(&key) {
            metrics::record_cache("phone", true);
            return verdict;
        }
        metrics::record_cache("phone", false);
        let verdict = validate(phone, country);
        self.cache.insert(key, verdict.clone());
        verdict
    }

    /// Returns how many verdicts the cache holds.
    pub fn cached_verdicts(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}

/// Loads the metadata (a parse forces rlibphonenumber's lazy global) and the tables.
fn warm() {
    let _ = PHONE_NUMBER_UTIL.parse("+12025550143", None);
    region::warm();
    let _ = extension_pattern();
}

/// An extension at the end: `ext. 12`, `x12`, `#12`, `extension 12`.
fn extension_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"(?i)\s*(?:,|;)?\s*(?:ext(?:ension)?\.?|x|#)\s*\d{1,7}\s*$")
            .unwrap_or_else(|e| panic!("extension pattern: {e}"))
    })
}

/// Maps the Unicode decimal digits people paste (full-width, Arabic-Indic, Devanagari,
/// ...) and the full-width plus to ASCII; everything else stays as it is.
fn normalise_digits(input: &str) -> String {
    const ZEROS: &[u32] = &[
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66,
        0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x17E0, 0x1810, 0xFF10,
    ];
    input
        .chars()
        .map(|c| {
            let cp = u32::from(c);
            if c == '\u{FF0B}' {
                return '+';
            }
            match ZEROS.iter().find(|&&zero| (zero..zero + 10).contains(&cp)) {
                Some(zero) => char::from_digit(cp - zero, 10).unwrap_or(c),
                None => c,
            }
        })
        .collect()
}

/// Validates one number by the rules of DESIGN.md, first match wins.
pub fn validate(phone: &str, country: &str) -> Verdict {
    check(phone, country).finish()
}

/// A number as far as libphonenumber judged it, before the fake-number rules: the
/// agreement test compares this stage with the oracle.
pub(crate) struct Checked {
    verdict: Verdict,
    national: String,
}

impl Checked {
    fn done(verdict: Verdict) -> Checked {
        Checked {
            verdict,
            national: String::new(),
        }
    }

    /// Applies the fake-number rules to a valid number.
    fn finish(mut self) -> Verdict {
        if self.verdict.validity == Validity::Valid {
            if let Some((code, message)) = fake::check(self.verdict.country_code, &self.national)
            {
                self.verdict.validity = Validity::Invalid;
                self.verdict.reasons.insert(0, Reason::new(code, message));
            }
        }
        self.verdict
    }
}

pub(crate) fn check(phone: &str, country: &str) -> Checked {
    use Validity::*;
    // 1. empty: UNKNOWN.
    let trimmed = phone.trim();
    if trimmed.is_empty() {
        return Checked::done(Verdict::unparsed(Unknown, codes::MISSING, "no phone number given"));
    }
    // Guards before parsing: a sane length, Unicode digits, no letters.
    if trimmed.chars().count() > MAX_INPUT_CHARS {
        return Checked::done(Verdict::unparsed(
            Invalid,
            codes::PARSE_TOO_LONG,
            format!("longer than {MAX_INPUT_CHARS} characters: no phone number is"),
        ));
    }
    let text = normalise_digits(trimmed);
    let (number_text, has_extension) = match extension_pattern().find(&text) {
        Some(m) if m.start() > 0 => (&text[..m.start()], true),
        _ => (text.as_str(), false),
    };
    if number_text.chars().any(char::is_alphabetic) {
        return Checked::done(Verdict::unparsed(
            Invalid,
            codes::PARSE_LETTERS,
            "the number has letters; vanity numbers are not converted to digits",
        ));
    }
    let international = number_text.trim_start().starts_with('+');
    // 2. national and no usable country: UNKNOWN.
    let hint = if international {
        None // a number written with `+` ignores the region hint
    } else {
        match region::from_country(country) {
            Some(region) => Some(region),
            None => {
                return Checked::done(Verdict::unparsed(
                    Unknown,
                    codes::PARSE_NO_REGION,
                    if country.trim().is_empty() {
                        "a national number and no country to read it with".to_string()
                    } else {
                        "a national number and a country no region is known for".to_string()
                    },
                ))
            }
        }
    };
    // 3. unparseable, impossible length, or not valid for its region: INVALID.
    let number = match PHONE_NUMBER_UTIL.parse(number_text, hint) {
        Ok(number) => number,
        Err(err) => return Checked::done(parse_failure(&err)),
    };
    let e164 = number.format_as(PhoneNumberFormat::E164).into_owned();
    if international && !same_digits(number_text, &e164) {
        return Checked::done(Verdict::unparsed(
            Invalid,
            codes::PARSE_DIGITS_MISMATCH,
            "the parsed number's digits are not the digits given",
        ));
    }
    let mut verdict = Verdict {
        validity: Valid,
        country_code: u32::try_from(number.country_code).unwrap_or(0),
        international: number.format_as(PhoneNumberFormat::International).into_owned(),
        national: number.format_as(PhoneNumberFormat::National).into_owned(),
        e164,
        region: String::new(),
        number_type: None,
        reasons: Vec::new(),
    };
    let national = number.get_national_significant_number();
    if let Err(err) = number.is_possible_with_reason() {
        let (code, message) = match err {
            ValidationError::TooShort => (codes::LENGTH_TOO_SHORT, "shorter than any number of its region"),
            ValidationError::TooLong => (codes::LENGTH_TOO_LONG, "longer than any number of its region"),
            ValidationError::InvalidCountryCode => (codes::PARSE_BAD_COUNTRY_CODE, "no such country calling code"),
            _ => (codes::LENGTH_INVALID, "a length no number of its region has"),
        };
        verdict.validity = Invalid;
        verdict.reasons.push(Reason::new(code, message));
        return Checked { verdict, national };
    }
    if !number.is_valid() {
        verdict.validity = Invalid;
        verdict.reasons.push(Reason::new(
            codes::INVALID_FOR_REGION,
            "no number range of its region matches",
        ));
        return Checked { verdict, national };
    }
    // 5. otherwise VALID, with region and type (the fake rules run in `finish`).
    let number_type = NumberType::from(number.get_type());
    verdict.region = region_of(&number);
    verdict.number_type = Some(number_type);
    verdict.reasons.push(Reason::new(
        codes::VALID,
        format!("a valid {number_type:?} number of {}", verdict.region),
    ));
    if has_extension {
        verdict
            .reasons
            .push(Reason::new(codes::EXTENSION, "an extension was given; E.164 leaves it out"));
    }
    Checked { verdict, national }
}

fn region_of(number: &PhoneNumber) -> String {
    number
        .get_region_code()
        .map(|r: Region| r.as_region_str().to_string())
        .unwrap_or_else(|| "001".to_string())
}

/// The digits given must be the digits of the result: guards against a parser that
/// drops or inserts digits. A `(0)` trunk prefix written after the country code is the
/// one group allowed to go.
fn same_digits(given: &str, e164: &str) -> bool {
    let without_trunk = given.replacen("(0)", "", 1);
    let digits: String = without_trunk.chars().filter(char::is_ascii_digit).collect();
    digits == e164.trim_start_matches('+')
}

fn parse_failure(err: &ParseError) -> Verdict {
    let (code, message) = match err {
        ParseError::InvalidCountryCode => (codes::PARSE_BAD_COUNTRY_CODE, "no such country calling code"),
        ParseError::TooShortNsn | ParseError::TooShortAfterIdd => {
            (codes::LENGTH_TOO_SHORT, "too short to be a phone number")
        }
        ParseError::TooLongNsn => (codes::LENGTH_TOO_LONG, "too long to be a phone number"),
        _ => (codes::PARSE_FAILED, "not readable as a phone number"),
    };
    Verdict::unparsed(Validity::Invalid, code, message)
}

/// Redacts a number for logs: the country code and the last two digits
/// (`+1 *** *** **11`); never the whole number.
pub fn redact(phone: &str) -> String {
    let text = normalise_digits(phone);
    let digits: Vec<char> = text.chars().filter(char::is_ascii_digit).collect();
    let Some(last) = digits.len().checked_sub(2).filter(|_| digits.len() >= 6) else {
        return "***".to_string();
    };
    let last: String = digits[last..].iter().collect();
    let country_code = text
        .trim_start()
        .starts_with('+')
        .then(|| PHONE_NUMBER_UTIL.parse(&text, None).ok())
        .flatten()
        .map(|n| n.country_code);
    match country_code {
        Some(cc) => format!("+{cc} *** *** **{last}"),
        None => format!("*** *** **{last}"),
    }
}

#[cfg(test)]
mod tests;
