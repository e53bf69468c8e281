//! Phone validation: libphonenumber's rules (through rlibphonenumber) with the lead's country
//! as the default region, guards against inputs libphonenumber would bend into a number,
//! and the fake numbers its metadata lets through.
//!
//! - [`validate`] decides one number, uncached, by the rules of docs/verdicts.md in their
//!   order.
//! - [`Engine`] is the same with a bounded cache of verdicts; it loads the metadata when it
//!   is made, at start-up.
//! - [`region`] reads the lead's country (`GB`, `GBR`, `United Kingdom`, `UK`, ...).
//! - [`fake`] has the fake-number patterns, [`codes`] the reason codes.
//! - [`geo`] says where a valid number is, its time zones and its range's carrier.
//! - `fast` is the fast path: a parser, a lazy-DFA walk of the type patterns and a
//!   formatter beside rlibphonenumber, reading its metadata, for the common shapes.
//!
//! Knows nothing of gRPC.

pub mod codes;
pub mod fake;
mod fast;
pub mod geo;
pub mod region;
pub mod window;

#[cfg(test)]
mod agreement;
#[cfg(test)]
mod tests;

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use quick_cache::sync::Cache;
use regex::Regex;
use rlibphonenumber::{
    NumberLengthType, ParseError, PhoneNumber, PhoneNumberFormat, PhoneNumberType, PhoneNumberUtil,
    Region, ValidationError,
};
use serde::Serialize;

use crate::metrics;
use crate::reason::Reason;
use fast::{format, library, quick};

/// The libphonenumber metadata release that rlibphonenumber [`RLIBPHONENUMBER_VERSION`]
/// embeds (its Readme, "Used metadata version"). The crate does not expose it at run time;
/// a test ties both constants to Cargo.lock and to the oracle fixture.
pub const METADATA_VERSION: &str = "9.0.42";

/// The rlibphonenumber release this module is built and tested against.
pub const RLIBPHONENUMBER_VERSION: &str = "2.2.15";

/// Returns the metadata version for the start-up log and docs/verdicts.md:
/// `libphonenumber metadata v9.0.42 (rlibphonenumber 2.2.15)`.
pub fn metadata_version() -> &'static str {
    "libphonenumber metadata v9.0.42 (rlibphonenumber 2.2.15)"
}

/// Longest input read, in characters. E.164 numbers have at most 15 digits; with spacing,
/// an international prefix and an extension, 64 characters is generous.
pub const MAX_INPUT_CHARS: usize = 64;

/// The most digits an E.164 number has, country code included (ITU-T E.164, section 6).
pub const E164_MAX_DIGITS: usize = 15;

/// The verdict on a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Validity {
    /// A number libphonenumber's metadata calls valid for its region, and not a fake.
    Valid,
    /// Unreadable, of impossible length, in no range of its region, or fake.
    Invalid,
    /// Missing, or national with no usable country to read it in.
    Unknown,
}

/// The type of a number: libphonenumber's `PhoneNumberType`, all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NumberType {
    /// A landline.
    FixedLine,
    /// A mobile.
    Mobile,
    /// Fixed or mobile: the region's ranges do not tell them apart (the NANP, for one).
    FixedLineOrMobile,
    /// Freephone: free to the caller.
    TollFree,
    /// Premium rate: costs the caller more than a normal call.
    PremiumRate,
    /// Shared cost: the cost is split between caller and receiver.
    SharedCost,
    /// Voice over IP.
    Voip,
    /// A personal number, routed to wherever its owner is.
    PersonalNumber,
    /// A pager.
    Pager,
    /// A universal access number: one company number for several offices.
    Uan,
    /// Voicemail access.
    Voicemail,
    /// None of the above: libphonenumber never says this of a valid number.
    Unknown,
}

impl NumberType {
    /// The type's name as messages write it (`FixedLine`, `Mobile`): its Debug form,
    /// without the formatting machinery, as every valid number's reason holds it.
    pub fn name(self) -> &'static str {
        match self {
            NumberType::FixedLine => "FixedLine",
            NumberType::Mobile => "Mobile",
            NumberType::FixedLineOrMobile => "FixedLineOrMobile",
            NumberType::TollFree => "TollFree",
            NumberType::PremiumRate => "PremiumRate",
            NumberType::SharedCost => "SharedCost",
            NumberType::Voip => "Voip",
            NumberType::PersonalNumber => "PersonalNumber",
            NumberType::Pager => "Pager",
            NumberType::Uan => "Uan",
            NumberType::Voicemail => "Voicemail",
            NumberType::Unknown => "Unknown",
        }
    }
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
///
/// The number's fields are filled whenever libphonenumber parsed it, valid or not: a fake
/// number is INVALID and still has its E.164 form, region and type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The verdict.
    pub validity: Validity,
    /// E.164 (`+12024561111`); empty when the input could not be parsed.
    pub e164: String,
    /// ISO 3166-1 alpha-2 region (`GB`), `001` for non-geographic numbers (`+800`); empty
    /// when libphonenumber cannot place the number.
    pub region: String,
    /// The country calling code (44); 0 when the input could not be parsed.
    pub country_code: u32,
    /// The type, for numbers valid per libphonenumber (fakes included).
    pub number_type: Option<NumberType>,
    /// International format (`+44 20 7183 8750`); empty when not parsed.
    pub international: String,
    /// National format (`020 7183 8750`); empty when not parsed.
    pub national: String,
    /// Why: the deciding reason first.
    pub reasons: Vec<Reason>,
    /// The IANA time zones of a valid number ([`geo::time_zones`]); empty otherwise.
    pub time_zones: &'static [&'static str],
    /// Where a valid number is ([`geo::location`]), in the language it was asked in;
    /// empty otherwise.
    pub location: &'static str,
    /// The original carrier of a valid mobile number's range ([`geo::carrier`]).
    pub carrier: &'static str,
}

impl Verdict {
    /// A verdict on an input that never became a number.
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
            time_zones: &[],
            location: "",
            carrier: "",
        }
    }

    /// An INVALID verdict on a parsed number, its fields filled.
    fn parsed(util: &PhoneNumberUtil, number: &PhoneNumber, nsn: &str, e164: String) -> Verdict {
        let forms = format::forms(util, number, nsn);
        Verdict {
            validity: Validity::Invalid,
            e164,
            region: String::new(),
            country_code: u32::try_from(number.country_code).unwrap_or(0),
            number_type: None,
            international: forms.international,
            national: forms.national,
            reasons: Vec::new(),
            time_zones: &[],
            location: "",
            carrier: "",
        }
    }

    fn because(mut self, code: &'static str, message: impl Into<String>) -> Verdict {
        self.reasons.push(Reason::new(code, message));
        self
    }
}

/// Validates phone numbers with a bounded cache of verdicts; one per process.
pub struct Engine {
    /// Verdicts by the input as read (trimmed, digits normalised) and the default region
    /// (None for `+` numbers, which ignore it). quick_cache, not moka: a stream of unique
    /// numbers is all misses, and moka's insert path (write log, housekeeping, the waiter
    /// map of its entry API) is dear next to the validation itself. Keyed by the
    /// language of the location and the notes of the reading too.
    cache: Cache<Key, Arc<Verdict>>,
    /// The numbers seen once, which the cache admits when they come again.
    seen: Doorkeeper,
}

/// A verdict's key in the cache: the input as read, the region to read it in, the
/// language of its location.
type Key = (String, Option<Region>, geo::Language, Notes);

/// What reading the input changed on the way to the digits, each said as a reason on a
/// VALID verdict: a person can check that the number is the one they meant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
struct Notes(u8);

impl Notes {
    /// Digits of another script (full-width, Arabic-Indic, ...) read as ASCII.
    const DIGITS: Notes = Notes(1);
    /// A `tel:` URI, read as the number it holds.
    const TEL_URI: Notes = Notes(2);
    /// An international prefix (`00`, `011`) read as `+`.
    const INTERNATIONAL_PREFIX: Notes = Notes(4);

    fn with(self, other: Notes) -> Notes {
        Notes(self.0 | other.0)
    }

    fn has(self, other: Notes) -> bool {
        self.0 & other.0 != 0
    }

    /// Adds a reason for each note to a VALID verdict.
    fn explain(self, verdict: &mut Verdict) {
        if verdict.validity != Validity::Valid {
            return;
        }
        for (note, code, message) in [
            (
                Notes::DIGITS,
                codes::NORMALISED_DIGITS,
                "digits of another script (full-width, Arabic-Indic, ...) were read as 0-9",
            ),
            (
                Notes::TEL_URI,
                codes::NORMALISED_TEL_URI,
                "read from a tel: URI; parameters other than ext and phone-context are left out",
            ),
            (
                Notes::INTERNATIONAL_PREFIX,
                codes::NORMALISED_INTERNATIONAL_PREFIX,
                "the international prefix (00 or 011) was read as +",
            ),
        ] {
            if self.has(note) {
                verdict.reasons.push(Reason::new(code, message));
            }
        }
    }
}

/// Remembers which keys were seen, approximately: a fixed table of fingerprints, one per
/// slot, so that a number is cached from its second sighting on.
///
/// A batch of unique numbers is all misses; inserting each one would cost the cache's
/// locks, an eviction and the verdict's copy, and push out the numbers that do repeat.
/// Here such a number costs one look-up and one slot. The errors are harmless: two keys
/// sharing a slot and fingerprint admit the second at its first sighting; a slot
/// overwritten before the key comes back delays its admission by one sighting.
struct Doorkeeper {
    slots: Box<[AtomicU32]>,
    /// foldhash with a fixed seed: the same slots in every run (a crafted collision only
    /// admits a number one sighting early or late), for a fraction of SipHash's cost on
    /// every number of a stream.
    hasher: foldhash::fast::FixedState,
}

impl Doorkeeper {
    /// A table of about twice `capacity` slots (4 bytes each), at most 2^20.
    fn new(capacity: usize) -> Doorkeeper {
        let len = capacity
            .saturating_mul(2)
            .clamp(1, 1 << 20)
            .next_power_of_two();
        Doorkeeper {
            slots: (0..len).map(|_| AtomicU32::new(0)).collect(),
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    /// Whether `key` was seen before; marks it seen.
    fn seen_before(&self, key: &Key) -> bool {
        let hash = self.hasher.hash_one(key);
        // The low bits pick the slot, the high ones are the fingerprint (never 0, the
        // empty slot's).
        let slot = &self.slots[(hash as usize) & (self.slots.len() - 1)];
        let fingerprint = ((hash >> 32) as u32).max(1);
        slot.swap(fingerprint, Ordering::Relaxed) == fingerprint
    }
}

impl Engine {
    /// Makes the engine, holding at most `cache_capacity` verdicts, and loads
    /// libphonenumber's metadata and the country table now: start-up pays for them, before
    /// the server reports SERVING, not the first request. Each thread's libphonenumber
    /// compiles its patterns on first use; [`warm_workers`] compiles the common ones on
    /// every worker thread of a server.
    pub fn new(cache_capacity: u64) -> Engine {
        library::load();
        region::warm();
        let _ = extension_pattern();
        let capacity = usize::try_from(cache_capacity).unwrap_or(usize::MAX);
        Engine {
            cache: Cache::new(capacity),
            seen: Doorkeeper::new(capacity),
        }
    }

    /// Validates a number, as [`validate`] does, from the cache when it can.
    ///
    /// A number enters the cache the second time it is seen (see [`Doorkeeper`]);
    /// validating it costs a few microseconds, so two concurrent first requests for the
    /// same number both compute it rather than one waiting for the other. The verdict is
    /// shared with the cache (`Arc`), not copied, five strings and its reasons, at every
    /// hit.
    pub fn validate(&self, phone: &str, country: &str) -> Arc<Verdict> {
        self.validate_in(phone, country, geo::Language::En)
    }

    /// Validates a number as [`Engine::validate`] does, with its location in `language`.
    pub fn validate_in(&self, phone: &str, country: &str, language: geo::Language) -> Arc<Verdict> {
        let (text, international, region, notes) = match prepare(phone, country) {
            Ok(prepared) => prepared,
            Err(verdict) => return Arc::from(verdict), // nothing worth caching
        };
        let key = (text, region, language, notes);
        if let Some(verdict) = self.cache.get(&key) {
            metrics::record_cache("phone", true);
            return verdict;
        }
        metrics::record_cache("phone", false);
        let verdict = Arc::new(library::with(|util| {
            judge_noted(util, &key.0, international, region, language, notes)
        }));
        if self.cache.capacity() > 0 && self.seen.seen_before(&key) {
            self.cache.insert(key, verdict.clone());
        }
        verdict
    }

    /// Returns how many verdicts the cache holds.
    pub fn cached_verdicts(&self) -> u64 {
        self.cache.len() as u64
    }
}

/// The regions whose patterns [`warm_workers`] compiles: the markets of our lead sources
/// (Latin America, Iberia, Russia and its neighbours) and the largest others. A number of
/// any other region compiles its region's patterns on first use, on each thread, about a
/// millisecond once. Every type of these 22 regions costs each thread memory and start-up
/// time, far less with the patterns' digits made ASCII (`library`) than with the Unicode
/// digits rlibphonenumber compiles (BENCHMARKS.md has the figures).
pub const WARM_REGIONS: &[&str] = &[
    "US", "CA", "MX", "BR", "AR", "CO", "CL", "PE", "VE", "EC", "ES", "PT", "RU", "KZ", "UA", "BY",
    "GB", "DE", "FR", "IT", "NL", "IN",
];

/// Compiles the patterns of [`WARM_REGIONS`] on every worker thread of the current tokio
/// runtime, each in its thread's libphonenumber, so that no request pays for them; gives
/// up on a worker that is not free within `timeout`. Returns how many threads it warmed.
pub async fn warm_workers(timeout: std::time::Duration) -> usize {
    library::warm_workers(warm, timeout).await
}

/// Compiles what this thread's libphonenumber compiles lazily, the patterns of
/// [`WARM_REGIONS`], by validating and formatting every example number of those regions
/// and types. Returns how many numbers it validated.
fn warm() -> usize {
    library::with(|util| {
        let regions = WARM_REGIONS
            .iter()
            .filter_map(|code| Region::from_code(code).ok());
        let examples = regions.flat_map(|region| {
            all_types()
                .filter_map(move |t| util.get_example_number_for_type_and_region(region, t).ok())
        });
        let mut warmed = 0;
        for number in examples {
            let e164 = util.format(&number, PhoneNumberFormat::E164).into_owned();
            let _ = judge(util, &e164, true, None, geo::Language::En);
            warmed += 1;
        }
        warmed
    })
}

fn all_types() -> impl Iterator<Item = PhoneNumberType> {
    [
        PhoneNumberType::FixedLine,
        PhoneNumberType::Mobile,
        PhoneNumberType::TollFree,
        PhoneNumberType::PremiumRate,
        PhoneNumberType::SharedCost,
        PhoneNumberType::VoIP,
        PhoneNumberType::PersonalNumber,
        PhoneNumberType::Pager,
        PhoneNumberType::UAN,
        PhoneNumberType::VoiceMail,
    ]
    .into_iter()
}

/// Validates one number by the rules of docs/verdicts.md, first match wins, uncached:
///
/// 1. empty: UNKNOWN (`missing`); longer than [`MAX_INPUT_CHARS`]: INVALID
///    (`parse.too_long`), unparsed;
/// 2. letters other than an extension marker: INVALID (`parse.letters`);
/// 3. national (no `+`) and no usable country: UNKNOWN (`parse.no_region`);
/// 4. unparseable, a `+` number whose digits change in parsing, impossible length, or not
///    valid for its region per libphonenumber's metadata: INVALID;
/// 5. a fake number (one digit repeated, a straight run, a published fictional range):
///    INVALID, with the number's fields filled;
/// 6. otherwise VALID, with E.164, region and type.
///
/// `country` is the lead's country as [`region::from_country`] reads it; a number written
/// with `+` (or `＋`) ignores it.
pub fn validate(phone: &str, country: &str) -> Verdict {
    validate_in(phone, country, geo::Language::En)
}

/// [`validate`], with the location of a valid number in `language`.
pub fn validate_in(phone: &str, country: &str, language: geo::Language) -> Verdict {
    match prepare(phone, country) {
        Ok((text, international, region, notes)) => {
            library::with(|util| judge_noted(util, &text, international, region, language, notes))
        }
        Err(verdict) => *verdict,
    }
}

/// The input as the rules read it, whether it is written internationally, the region to
/// read it in, and what reading it changed.
type Prepared = (String, bool, Option<Region>, Notes);

/// What [`validate`] and [`Engine::validate`] both need before judging, or the verdict
/// when there is nothing to read. A national number with no region to read it in that
/// starts with `00` or `011`, the international prefixes of most of the world and of the
/// NANP, is read as written with `+`.
fn prepare(phone: &str, country: &str) -> Result<Prepared, Box<Verdict>> {
    let (mut text, mut notes) = read(phone)?;
    let mut international = is_international(&text);
    let region = default_region(international, country);
    if !international && region.is_none() {
        if let Some(plus) = without_international_prefix(&text) {
            text = plus;
            international = true;
            notes = notes.with(Notes::INTERNATIONAL_PREFIX);
        }
    }
    Ok((text, international, region, notes))
}

/// The number written with `+` in place of a leading `00` or `011` (`00 44 20 ...` is
/// `+44 20 ...`), when it starts with one.
fn without_international_prefix(text: &str) -> Option<String> {
    let digits = text.bytes().filter(u8::is_ascii_digit);
    let prefix = if digits.clone().take(2).eq(*b"00") {
        2
    } else if digits.take(3).eq(*b"011") {
        3
    } else {
        return None;
    };
    let (cut, _) = text
        .char_indices()
        .filter(|(_, c)| c.is_ascii_digit())
        .nth(prefix - 1)?;
    Some(["+", text.get(cut + 1..)?.trim_start()].concat())
}

/// A `tel:` URI (RFC 3966) as the number it holds: `tel:+44-20-7183-8750;ext=12` is
/// `+44-20-7183-8750 ext. 12`; a local number takes a `phone-context` that is a `+`
/// prefix; other parameters are left out.
fn from_tel_uri(text: &str) -> Option<String> {
    let scheme = text.get(..4)?;
    if !scheme.eq_ignore_ascii_case("tel:") {
        return None;
    }
    let mut parts = text.get(4..)?.split(';');
    let number = parts.next()?.trim();
    let (mut extension, mut context) = (None, None);
    for parameter in parts {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("ext") {
            extension = Some(value.trim());
        } else if name.eq_ignore_ascii_case("phone-context") {
            context = Some(value.trim()).filter(|c| c.starts_with('+'));
        }
    }
    let mut out = String::with_capacity(text.len());
    if let (Some(context), false) = (context, number.starts_with('+')) {
        out.push_str(context);
        out.push(' ');
    }
    out.push_str(number);
    if let Some(extension) = extension {
        out.push_str(" ext. ");
        out.push_str(extension);
    }
    Some(out)
}

/// Step 1: the input as the rules read it (trimmed, Unicode digits and pluses made ASCII,
/// invisible formatting characters dropped, a `tel:` URI's number taken out), or the
/// verdict when there is nothing to read.
fn read(phone: &str) -> Result<(String, Notes), Box<Verdict>> {
    let trimmed = phone.trim();
    if trimmed.is_empty() {
        return Err(Box::new(Verdict::unparsed(
            Validity::Unknown,
            codes::MISSING,
            "no phone number given",
        )));
    }
    if trimmed.chars().nth(MAX_INPUT_CHARS).is_some() {
        return Err(Box::new(Verdict::unparsed(
            Validity::Invalid,
            codes::PARSE_TOO_LONG,
            format!("longer than {MAX_INPUT_CHARS} characters, which no phone number is"),
        )));
    }
    let (mut text, mut notes) = normalise(trimmed);
    if let Some(number) = from_tel_uri(&text) {
        text = number;
        notes = notes.with(Notes::TEL_URI);
    }
    if text.trim().is_empty() {
        return Err(Box::new(Verdict::unparsed(
            Validity::Unknown,
            codes::MISSING,
            "no phone number given",
        )));
    }
    Ok((text, notes))
}

/// Whether the number is written in international form: its first digit-or-plus is a
/// plus, as libphonenumber reads it (`(+44) 20 ...` is international).
fn is_international(text: &str) -> bool {
    text.chars().find(|c| c.is_ascii_digit() || *c == '+') == Some('+')
}

/// The region a national number is read in; a `+` number ignores the hint.
fn default_region(international: bool, country: &str) -> Option<Region> {
    if international {
        None
    } else {
        region::from_country(country)
    }
}

/// [`judge`], then the forms people write that it does not read: a `00` international
/// prefix in a region whose own is another (`00 44 ...` from the US), tried as `+` when
/// the region's reading is not valid; and the reasons for what reading changed.
fn judge_noted(
    util: &PhoneNumberUtil,
    text: &str,
    international: bool,
    region: Option<Region>,
    language: geo::Language,
    notes: Notes,
) -> Verdict {
    let mut verdict = judge(util, text, international, region, language);
    let mut notes = notes;
    if !international && matches!(text.bytes().find(u8::is_ascii_digit), Some(b'0' | b'8')) {
        let digits = ascii_digits(text);
        if verdict.validity != Validity::Valid && digits.starts_with("00") {
            // `011` is tried as `+` only with no region (`prepare`): libphonenumber reads
            // it in the NANP, and elsewhere `011...` can be a national number (Sheffield's
            // 0114).
            if let Some(plus) = without_international_prefix(text) {
                let retry = judge(util, &plus, true, None, language);
                if retry.validity == Validity::Valid {
                    verdict = retry;
                    notes = notes.with(Notes::INTERNATIONAL_PREFIX);
                }
            }
        } else if verdict.validity == Validity::Valid {
            // The region's own international prefix, read by libphonenumber (`011` in the
            // US, `8 10` in Russia): the whole number, calling code first, follows it.
            let e164 = verdict.e164.get(1..).unwrap_or_default();
            let read_as_plus = ["00", "011", "810"]
                .iter()
                .any(|idd| digits.strip_prefix(idd) == Some(e164));
            if read_as_plus {
                notes = notes.with(Notes::INTERNATIONAL_PREFIX);
            }
        }
    }
    notes.explain(&mut verdict);
    verdict
}

/// Steps 2 to 6 on the input as [`read`] returns it, with this thread's libphonenumber.
fn judge(
    util: &PhoneNumberUtil,
    text: &str,
    international: bool,
    region: Option<Region>,
    language: geo::Language,
) -> Verdict {
    use Validity::*;
    let (text, has_extension) = split_extension(text);
    // 2. Two numbers in one field: which one to call cannot be told.
    let numbers = count_numbers(text);
    if numbers > 1 {
        return Verdict::unparsed(
            Invalid,
            codes::PARSE_SEVERAL_NUMBERS,
            format!("the field holds {numbers} numbers; which one to call cannot be told"),
        );
    }
    // Letters: a vanity number (`1-800-FLOWERS`, three letters or more, nothing but
    // letters, digits and the usual separators) is read on the keypad, as libphonenumber
    // reads it, and kept only when that is VALID; any other letters are not digits.
    if text.chars().any(char::is_alphabetic) {
        if let Some(keypad) = vanity_digits(util, text) {
            let mut verdict = judge(util, &keypad, international, region, language);
            if verdict.validity == Valid {
                verdict.reasons.push(Reason::new(
                    codes::NORMALISED_VANITY,
                    "letters were read as keypad digits, as libphonenumber reads vanity numbers",
                ));
                if has_extension {
                    verdict = verdict.because(
                        codes::EXTENSION,
                        "an extension was given; E.164 leaves it out",
                    );
                }
                return verdict;
            }
        }
        return Verdict::unparsed(
            Invalid,
            codes::PARSE_LETTERS,
            "the number has letters that do not read as a vanity number",
        );
    }
    // 3. A national number needs a country to be read in.
    if !international && region.is_none() {
        return Verdict::unparsed(
            Unknown,
            codes::PARSE_NO_REGION,
            "a national number (no +) and no known country to read it in",
        );
    }
    // 4. Unparseable, changed in parsing, impossible length, not valid for its region.
    // The common shapes are read by `quick`, the others by rlibphonenumber: the same
    // number either way.
    let number = match quick::parse(text, international, region) {
        Some(number) => number,
        None => match util.parse(text, region) {
            Ok(number) => number,
            Err(err) => return parse_failure(&err),
        },
    };
    let nsn = number.get_national_significant_number();
    let e164 = e164(number.country_code, &nsn);
    if international && !same_digits(text, &number, &e164) {
        return Verdict::unparsed(
            Invalid,
            codes::PARSE_DIGITS_MISMATCH,
            "parsing changed the digits given, so the number is not the one written",
        );
    }
    // A trunk prefix written after the country code, `+44 (0) 20 ...`, was left out.
    let trunk_dropped = international
        && text.contains("(0)")
        && !text
            .bytes()
            .filter(u8::is_ascii_digit)
            .eq(e164.bytes().skip(1));
    let mut verdict = Verdict::parsed(util, &number, &nsn, e164);
    // The region libphonenumber places the number in: for a calling code shared by several
    // regions (+1, +44, +7), the one whose ranges match; none when none does. And its
    // type there: Unknown when it is not valid there.
    let (number_region, number_type) = quick::classify(number.country_code, &nsn);
    if let Some(r) = number_region {
        // The code's own text, not through `Display`.
        verdict.region = String::from(&*r.as_region_str());
    }
    // ITU-T E.164 caps a number at 15 digits with its country code; libphonenumber's
    // metadata lets some longer ones through (German fixed lines of 14 national digits).
    if verdict.e164.len() - 1 > E164_MAX_DIGITS {
        return verdict.because(
            codes::LENGTH_TOO_LONG,
            "longer than the 15 digits E.164 allows for any number",
        );
    }
    if number_type == PhoneNumberType::Unknown {
        let (code, message) = why_invalid(util, &number);
        return verdict.because(code, message);
    }
    let kind = NumberType::from(number_type);
    verdict.number_type = Some(kind);
    // 5. Fake numbers libphonenumber calls valid.
    let parts = fake::Parts {
        country_code: verdict.country_code,
        national: &nsn,
        area_code_len: area_code_len(util, &verdict.international, &number, number_type),
    };
    if let Some((code, message)) = fake::check(parts) {
        return verdict.because(code, message);
    }
    // 6. Valid: where it is and when it is daytime there.
    verdict.validity = Valid;
    let place = geo::Number {
        country_code: verdict.country_code,
        national: &nsn,
        number_type: kind,
    };
    verdict.time_zones = geo::time_zones(&place);
    verdict.location = geo::location(&place, language, || {
        quick::named_region(number.country_code, &nsn).map(|region| region.as_region_str())
    });
    verdict.carrier = geo::carrier(&place);
    let message = ["a valid ", kind.name(), " number of ", &verdict.region].concat();
    verdict = verdict.because(codes::VALID, message);
    if trunk_dropped {
        verdict = verdict.because(
            codes::NORMALISED_TRUNK_PREFIX,
            "the trunk prefix (0) written after the country code was left out",
        );
    }
    if has_extension {
        verdict = verdict.because(
            codes::EXTENSION,
            "an extension was given; E.164 leaves it out",
        );
    }
    verdict
}

/// The digits of a vanity number on a phone keypad (`1-800-FLOWERS` is `1-800-3569377`),
/// by libphonenumber's own mapping; None unless the text has three letters or more (its
/// rule for reading letters at all) and nothing but ASCII letters, digits, spaces and
/// `+-().`.
fn vanity_digits(util: &PhoneNumberUtil, text: &str) -> Option<String> {
    let letters = text.chars().filter(char::is_ascii_alphabetic).count();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
    (letters >= 3 && plain).then(|| util.convert_alpha_characters_in_number(text))
}

/// How many numbers a field holds, its extension split off: its runs of seven digits or
/// more between separators (`/`, `|`, `\`, `;`, `,`) or words that join two numbers
/// (`or`, `и`, ...).
fn count_numbers(text: &str) -> usize {
    const JOINS: &[&str] = &["or", "o", "ou", "and", "y", "e", "или", "и"];
    let separated = |b: u8| matches!(b, b'/' | b'|' | b'\\' | b';' | b',');
    // Most numbers have no separator and no word: one number, or none, either way.
    if !text
        .bytes()
        .any(|b| separated(b) || b.is_ascii_alphabetic() || b >= 0x80)
    {
        return 1;
    }
    let (mut found, mut digits) = (0, 0);
    let mut close = |digits: &mut usize| {
        found += usize::from(*digits >= 7);
        *digits = 0;
    };
    for word in text.split_whitespace() {
        if JOINS.iter().any(|join| word.to_lowercase() == *join) {
            close(&mut digits);
            continue;
        }
        for b in word.bytes() {
            if separated(b) {
                close(&mut digits);
            } else if b.is_ascii_digit() {
                digits += 1;
            }
        }
    }
    close(&mut digits);
    found
}

/// A number's E.164 form, as rlibphonenumber's `format(number, E164)` writes it: `+`, the
/// calling code, the national significant number (leading zeros kept), no extension.
fn e164(country_code: i32, nsn: &str) -> String {
    let mut code = itoa::Buffer::new();
    ["+", code.format(country_code), nsn].concat()
}

/// The most specific reason libphonenumber gives for an invalid number.
fn why_invalid(util: &PhoneNumberUtil, number: &PhoneNumber) -> (&'static str, &'static str) {
    match util.is_possible_number_with_reason(number) {
        Err(ValidationError::TooShort) => (
            codes::LENGTH_TOO_SHORT,
            "shorter than every number of its country",
        ),
        Err(ValidationError::TooLong) => (
            codes::LENGTH_TOO_LONG,
            "longer than every number of its country",
        ),
        Err(ValidationError::InvalidLength) => (
            codes::LENGTH_INVALID,
            "a length no number of its country has",
        ),
        Err(ValidationError::InvalidCountryCode) => (
            codes::PARSE_BAD_COUNTRY_CODE,
            "no country has this calling code",
        ),
        Ok(NumberLengthType::IsPossibleLocalOnly) => (
            codes::LENGTH_LOCAL_ONLY,
            "a local number without its area code",
        ),
        Ok(NumberLengthType::IsPossible) => (
            codes::INVALID_FOR_REGION,
            "no number range of its country matches",
        ),
    }
}

fn parse_failure(err: &ParseError) -> Verdict {
    let (code, message) = match err {
        ParseError::InvalidCountryCode => (
            codes::PARSE_BAD_COUNTRY_CODE,
            "no country has this calling code",
        ),
        ParseError::TooShortNsn | ParseError::TooShortAfterIdd => {
            (codes::LENGTH_TOO_SHORT, "too short to be a phone number")
        }
        ParseError::TooLongNsn => (codes::LENGTH_TOO_LONG, "too long to be a phone number"),
        ParseError::NotANumber(_) => (codes::PARSE_FAILED, "no phone number found in the input"),
    };
    Verdict::unparsed(Validity::Invalid, code, message)
}

/// How many leading digits of the national number are the area (national destination)
/// code, read the way libphonenumber's `getLengthOfNationalDestinationCode` reads it: the
/// first digit group after the country code in international format, when a subscriber
/// group follows; with a mobile token (Argentina's 9), the token and the group after it.
fn area_code_len(
    util: &PhoneNumberUtil,
    international: &str,
    number: &PhoneNumber,
    number_type: PhoneNumberType,
) -> usize {
    let mut groups = international
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .skip(1) // the country code
        .map(str::len);
    // libphonenumber: the country code, the area code and at least one group after it.
    let (Some(first), Some(second)) = (groups.next(), groups.next()) else {
        return 0;
    };
    if number_type == PhoneNumberType::Mobile
        && util.get_country_mobile_token(number.country_code).is_some()
    {
        return first + second;
    }
    first
}

/// The digits the person wrote must be the digits of the number: guards against a parse
/// that drops, adds or reorders digits (the `phonenumber` crate turns `+7 800 555 35 35`
/// into `+7 005 553 535`). One exception: a trunk prefix written `(0)` right after the
/// country code (`+44 (0)20 7183 8750`), which is a convention, not a digit of the number.
fn same_digits(given: &str, number: &PhoneNumber, e164: &str) -> bool {
    let parsed = e164.trim_start_matches('+');
    // Compared as they are read, with no string made: this runs for every number written
    // with its country code.
    if given.bytes().filter(u8::is_ascii_digit).eq(parsed.bytes()) {
        return true;
    }
    let Some((before, after)) = given.split_once("(0)") else {
        return false;
    };
    let before = ascii_digits(before);
    before == number.country_code.to_string() && before + &ascii_digits(after) == parsed
}

fn ascii_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// An extension at the end, in the forms people type in the seeds' languages: `ext. 12`,
/// `extension 12`, `x12`, `#12`, Spanish `ext.`/`extensión`/`anexo`, Portuguese `ramal`,
/// Russian `доб.`/`добавочный`, after an optional comma or semicolon. The only letters
/// accepted: any other is refused, not read.
fn extension_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        // A constant pattern: a test compiles it, so this cannot fail at run time.
        Regex::new(
            r"(?i)[\s,;]*(?:ext(?:ension|ensión)?\.?|x|#|anexo|ramal|доб(?:авочный)?\.?)\s*\d{1,7}\s*$",
        )
            .unwrap_or_else(|e| panic!("extension pattern: {e}"))
    })
}

/// Splits a trailing extension off the number; says whether there was one.
fn split_extension(text: &str) -> (&str, bool) {
    // Most numbers have none: skip the regex unless a marker's letter is there.
    if !text
        .bytes()
        .any(|b| b.is_ascii_alphabetic() || b == b'#' || b >= 0x80)
    {
        return (text, false);
    }
    match extension_pattern().find(text) {
        Some(m) if m.start() > 0 => (text.get(..m.start()).unwrap_or(text), true),
        _ => (text, false),
    }
}

/// Maps what people paste to what libphonenumber reads: Unicode decimal digits
/// (full-width, Arabic-Indic, Devanagari, ...) to ASCII, by the same table
/// libphonenumber uses; the full-width plus to `+`; any Unicode space to a space; drops
/// invisible formatting characters (zero-width space, bidi marks, soft hyphen, BOM).
fn normalise(text: &str) -> (String, Notes) {
    // Nearly every input is ASCII: nothing to map, only the spaces to trim.
    if text.is_ascii() {
        return (text.trim().to_string(), Notes::default());
    }
    let mut notes = Notes::default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            _ if c.is_ascii() => out.push(c),
            '\u{FF0B}' => out.push('+'),
            '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' => {}
            '\u{2060}'..='\u{2064}' | '\u{FEFF}' => {}
            _ if c.is_whitespace() => out.push(' '),
            _ if c.is_numeric() => match unicode_digit(c) {
                Some(digit) => {
                    out.push(digit);
                    notes = notes.with(Notes::DIGITS);
                }
                None => out.push(c),
            },
            _ => out.push(c),
        }
    }
    (out.trim().to_string(), notes)
}

/// The ASCII digit of a Unicode decimal digit, as libphonenumber's own normalisation has it.
fn unicode_digit(c: char) -> Option<char> {
    let mut buf = [0u8; 4];
    let digits = library::with(|util| util.normalize_digits_only(c.encode_utf8(&mut buf)));
    let mut chars = digits.chars();
    match (chars.next(), chars.next()) {
        (Some(digit), None) => Some(digit),
        _ => None,
    }
}

/// Redacts a number for logs: its country code (for `+` numbers) and last two digits,
/// `+44 *** *** **50`; never the whole number. Short inputs show no digits at all.
pub fn redact(phone: &str) -> String {
    let (text, _) = normalise(phone.get(..256).unwrap_or(phone));
    let digits = ascii_digits(&text);
    let country_code = is_international(&text)
        .then(|| calling_code_prefix(&digits))
        .flatten();
    let national_len = digits.len() - country_code.map_or(0, str::len);
    let last_two = match digits.get(digits.len().saturating_sub(2)..) {
        Some(last) if national_len >= 6 => last,
        _ => "",
    };
    match (country_code, last_two) {
        (Some(cc), "") => format!("+{cc} ***"),
        (Some(cc), last) => format!("+{cc} *** *** **{last}"),
        (None, "") => "***".to_string(),
        (None, last) => format!("*** *** **{last}"),
    }
}

/// The assigned country calling code the digits start with, if any (1 to 3 digits).
fn calling_code_prefix(digits: &str) -> Option<&str> {
    (1..=3).find_map(|len| {
        let prefix = digits.get(..len)?;
        let code = prefix.parse::<i32>().ok()?;
        library::main_metadata(code).is_some().then_some(prefix)
    })
}
