//! A number's parse, region and type as rlibphonenumber decides them, from the same
//! metadata ([`library`]'s copy), for a fraction of its cost. With [`dfa`](super::dfa),
//! [`format`](super::format) and [`library`] it is the phone engine's fast path, a
//! hand-written replacement beside rlibphonenumber that the load benchmark keeps
//! (BENCHMARKS.md, "Design decisions settled by measurement").
//!
//! rlibphonenumber's `parse` runs its general patterns on any input before it reads a
//! digit, then the extension pattern and the prefixes' regexes; `get_number_type` after
//! `get_region_for_number` tests the number against the region's type patterns one regex
//! at a time, and the type asks for the region again, so a `+1` or `+7` number goes
//! through its region's patterns three times.
//!
//! - [`parse`] reads the inputs leads mostly hold: digits and the separators ` -().`,
//!   written with `+` and a calling code, or nationally for a region, with or without
//!   the region's trunk prefix (`030 …` in Germany). It says None for anything else
//!   (letters, other punctuation, an international dialling prefix, a trunk prefix that
//!   rewrites the number, a national number that starts with its own calling code, …)
//!   and the caller asks rlibphonenumber.
//! - [`classify`] is `get_region_for_number` and `get_number_type` in one: each region's
//!   type patterns are walked together, once per region tried, on a lazy DFA
//!   ([`FullSet`]), and the type found while choosing among a calling code's regions is
//!   kept.
//!
//! Property tests hold both to rlibphonenumber's own answers on any input of these
//! shapes (`quick_tests.rs`), and the metadata agreement test on every region's numbers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

use std::cell::OnceCell;

use regex::Regex;
use rlibphonenumber::{PhoneMetadata, PhoneNumber, PhoneNumberDesc, PhoneNumberType, Region};

use super::dfa::{FullSet, Prefix};
use super::format::{anchored_full, anchored_start, compile};
use super::library;

/// rlibphonenumber's shortest and longest national significant numbers (its
/// `MIN_LENGTH_FOR_NSN` and `MAX_LENGTH_FOR_NSN`).
const NSN_LENGTHS: std::ops::RangeInclusive<usize> = 2..=17;

/// The most digits [`parse`] reads; longer inputs are rlibphonenumber's to refuse.
const MAX_DIGITS: usize = 20;

/// Where our metadata has each region, and each calling code's regions in the order
/// rlibphonenumber tries them.
struct Index {
    /// Position in the metadata of each geographic region.
    by_region: HashMap<Region, usize, foldhash::fast::FixedState>,
    /// By calling code (all are below 1,000): its regions, each with the position of the
    /// metadata rlibphonenumber reads its numbers with there (a non-geographic entity's,
    /// `001`, by its code). rlibphonenumber pushes a region marked main to the front and
    /// appends the others, and takes the first as the code's region. Empty for a code
    /// no region has.
    codes: Vec<Vec<(Region, usize)>>,
}

/// Calling codes are one to three digits.
const CODES: usize = 1000;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = Index {
            by_region: HashMap::default(),
            codes: vec![Vec::new(); CODES],
        };
        for (i, metadata) in library::metadata().metadata.iter().enumerate() {
            let (Some(code), Ok(region)) = (metadata.country_code, Region::from_code(&metadata.id))
            else {
                continue;
            };
            let Some(regions) = usize::try_from(code)
                .ok()
                .and_then(|c| index.codes.get_mut(c))
            else {
                continue;
            };
            if metadata.main_country_for_code() {
                regions.insert(0, (region, i));
            } else {
                regions.push((region, i));
            }
            if region != Region::World {
                index.by_region.insert(region, i);
            }
        }
        index
    })
}

impl Index {
    /// A calling code's regions and their metadata (see [`Index::codes`]).
    fn code(&self, country_code: i32) -> &[(Region, usize)] {
        usize::try_from(country_code)
            .ok()
            .and_then(|c| self.codes.get(c))
            .map_or(&[], Vec::as_slice)
    }
}

/// How a number description's pattern matches, as rlibphonenumber compiles it.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// No pattern: nothing matches.
    Never,
    /// A pattern too short to hold `^(?:…)$`: rlibphonenumber compiles `""`.
    Always,
    /// The pattern of this index in the region's [`FullSet`].
    In(usize),
}

/// One number description (`PhoneNumberDesc`): its possible lengths and its pattern.
struct Desc {
    lengths: Vec<i32>,
    pattern: Pattern,
}

impl Desc {
    /// The description as rlibphonenumber reads it, its pattern added to `patterns`.
    #[allow(deprecated)] // the pattern field: see library::ascii_digits_in
    fn new<'m>(desc: &'m Option<PhoneNumberDesc>, patterns: &mut Vec<&'m str>) -> Desc {
        let desc = desc.as_ref();
        let pattern = match desc.and_then(|d| d.national_number_pattern.as_deref()) {
            None => Pattern::Never,
            Some(base) => match anchored_full(base) {
                "" => Pattern::Always,
                full => {
                    patterns.push(full);
                    Pattern::In(patterns.len() - 1)
                }
            },
        };
        Desc {
            lengths: desc.map(|d| d.possible_length.clone()).unwrap_or_default(),
            pattern,
        }
    }

    /// rlibphonenumber's `is_number_matching_desc`: a length the description lists (or
    /// any, when it lists none), and the whole number matching its pattern.
    fn matches(&self, len: usize, matched: u64) -> bool {
        if !self.lengths.is_empty() && !self.lengths.iter().any(|&l| l as usize == len) {
            return false;
        }
        match self.pattern {
            Pattern::Never => false,
            Pattern::Always => true,
            Pattern::In(i) => matched & 1 << i != 0,
        }
    }
}

/// The types rlibphonenumber tests, in its order, before the fixed-line and mobile ones.
const SPECIAL_TYPES: [PhoneNumberType; 8] = [
    PhoneNumberType::PremiumRate,
    PhoneNumberType::TollFree,
    PhoneNumberType::SharedCost,
    PhoneNumberType::VoIP,
    PhoneNumberType::PersonalNumber,
    PhoneNumberType::Pager,
    PhoneNumberType::UAN,
    PhoneNumberType::VoiceMail,
];

/// One region's metadata, compiled for this thread.
struct Plan {
    country_code: i32,
    /// The general description, then [`SPECIAL_TYPES`], then fixed line and mobile.
    general: Desc,
    special: [Desc; 8],
    fixed_line: Desc,
    mobile: Desc,
    /// Every pattern of the descriptions above, anchored at both ends.
    set: FullSet,
    same_mobile_and_fixed_line_pattern: bool,
    /// `leading_digits`, anchored at the start: the region of a shared calling code
    /// whose numbers start so.
    leading_digits: Option<Prefix>,
    /// `national_prefix_for_parsing`, anchored at the start; and as a regex, for its
    /// groups, compiled when a number first starts with it.
    national_prefix: Option<(Prefix, OnceCell<Regex>)>,
    /// Whether `national_prefix_transform_rule` is set.
    transforms: bool,
    /// `international_prefix`, anchored at the start.
    international_prefix: Option<Prefix>,
    /// The general description's possible lengths and local-only lengths, as bit masks.
    possible_mask: u64,
    local_mask: u64,
}

impl Plan {
    #[allow(deprecated)] // the number descriptions: see library::ascii_digits_in
    fn new(metadata: &PhoneMetadata) -> Plan {
        let mut patterns: Vec<&str> = Vec::new();
        let mut desc = |d| Desc::new(d, &mut patterns);
        let general = desc(&metadata.general_desc);
        let special = [
            desc(&metadata.premium_rate),
            desc(&metadata.toll_free),
            desc(&metadata.shared_cost),
            desc(&metadata.voip),
            desc(&metadata.personal_number),
            desc(&metadata.pager),
            desc(&metadata.uan),
            desc(&metadata.voicemail),
        ];
        let fixed_line = desc(&metadata.fixed_line);
        let mobile = desc(&metadata.mobile);
        let set = FullSet::new(&patterns);
        let start = |base: &Option<String>| base.as_deref().map(|b| Prefix::new(anchored_start(b)));
        let (possible_mask, local_mask) = match &metadata.general_desc {
            Some(d) => (
                length_mask(&d.possible_length),
                length_mask(&d.possible_length_local_only),
            ),
            None => (0, 0),
        };
        Plan {
            country_code: metadata.country_code.unwrap_or(0),
            general,
            special,
            fixed_line,
            mobile,
            set,
            same_mobile_and_fixed_line_pattern: metadata.same_mobile_and_fixed_line_pattern(),
            leading_digits: start(&metadata.leading_digits),
            national_prefix: start(&metadata.national_prefix_for_parsing)
                .map(|prefix| (prefix, OnceCell::new())),
            transforms: !metadata.national_prefix_transform_rule().is_empty(),
            international_prefix: start(&metadata.international_prefix),
            possible_mask,
            local_mask,
        }
    }

    /// rlibphonenumber's `get_number_type_helper`: the number's type in this region,
    /// Unknown when no type of it matches.
    fn number_type(&self, nsn: &str) -> PhoneNumberType {
        let len = nsn.len();
        // The general description's lengths rule most numbers of other regions out
        // before any pattern runs.
        if !self.general.lengths.is_empty()
            && !self.general.lengths.iter().any(|&l| l as usize == len)
        {
            return PhoneNumberType::Unknown;
        }
        let matched = self.set.matches(nsn);
        if !self.general.matches(len, matched) {
            return PhoneNumberType::Unknown;
        }
        for (desc, number_type) in self.special.iter().zip(SPECIAL_TYPES) {
            if desc.matches(len, matched) {
                return number_type;
            }
        }
        if self.fixed_line.matches(len, matched) {
            if self.same_mobile_and_fixed_line_pattern || self.mobile.matches(len, matched) {
                return PhoneNumberType::FixedLineOrMobile;
            }
            return PhoneNumberType::FixedLine;
        }
        if !self.same_mobile_and_fixed_line_pattern && self.mobile.matches(len, matched) {
            return PhoneNumberType::Mobile;
        }
        PhoneNumberType::Unknown
    }

    /// Whether the whole number matches the general description's pattern (no length
    /// test), as rlibphonenumber's `is_match` on it.
    fn general_pattern_matches(&self, number: &str) -> bool {
        match self.general.pattern {
            Pattern::Never => false,
            Pattern::Always => true,
            Pattern::In(i) => self.set.matches(number) & 1 << i != 0,
        }
    }

    /// Whether rlibphonenumber keeps a number stripped of its trunk prefix, by the
    /// general description's lengths (`test_number_length_with_unknown_type`): not when
    /// that says local-only, too short or a length the region has not.
    fn keeps_stripped(&self, number: &str) -> bool {
        if self.possible_mask == 0 {
            return false; // InvalidLength
        }
        let len = number.len() as u32;
        if len >= 64 {
            return true; // TooLong
        }
        let bit = 1u64 << len;
        if self.local_mask & bit != 0 {
            return false; // IsPossibleLocalOnly
        }
        let min = self.possible_mask.trailing_zeros();
        let max = 63 - self.possible_mask.leading_zeros();
        if min == len {
            return true; // IsPossible
        }
        if min > len {
            return false; // TooShort
        }
        if max < len {
            return true; // TooLong
        }
        self.possible_mask & bit != 0 // IsPossible, else InvalidLength
    }
}

/// rlibphonenumber's `build_length_mask`: a bit per length; `-1` (no numbers of this
/// kind) clears what came before it.
fn length_mask(lengths: &[i32]) -> u64 {
    let mut mask = 0u64;
    for &l in lengths {
        match u32::try_from(l) {
            Ok(l) if l < 64 => mask |= 1 << l,
            Ok(_) => {}
            Err(_) => mask = 0,
        }
    }
    mask
}

thread_local! {
    /// This thread's compiled regions, by position in the metadata, each on first use.
    static PLANS: RefCell<Vec<Option<Rc<Plan>>>> = const { RefCell::new(Vec::new()) };
}

/// This thread's plan of the region at `position` in the metadata.
fn plan(position: usize) -> Option<Rc<Plan>> {
    PLANS.with(|plans| {
        if let Some(Some(plan)) = plans.borrow().get(position) {
            return Some(plan.clone());
        }
        let metadata = library::metadata().metadata.get(position)?;
        let plan = Rc::new(Plan::new(metadata));
        let mut plans = plans.borrow_mut();
        if plans.len() <= position {
            plans.resize(position + 1, None);
        }
        plans[position] = Some(plan.clone());
        Some(plan)
    })
}

/// The region a number is placed in and its type there, as rlibphonenumber's
/// `get_region_for_number` and `get_number_type` answer for a number of this calling
/// code and national significant number: no region when none of the code's regions
/// matches (or no region has the code), and the type Unknown when the number is not
/// valid there.
pub(crate) fn classify(country_code: i32, nsn: &str) -> (Option<Region>, PhoneNumberType) {
    let regions = index().code(country_code);
    let found = match regions {
        [] => None,
        [(region, position)] => Some((*region, plan(*position), None)),
        shared => {
            // `get_region_for_number_from_region_list`: the first region whose leading
            // digits start the number, or for which it has a type.
            let mut found = None;
            for &(region, position) in shared {
                let Some(plan) = plan(position) else {
                    break;
                };
                if plan
                    .leading_digits
                    .as_ref()
                    .is_some_and(|l| l.is_match(nsn))
                {
                    found = Some((region, Some(plan), None));
                    break;
                }
                let number_type = plan.number_type(nsn);
                if number_type != PhoneNumberType::Unknown {
                    found = Some((region, None, Some(number_type)));
                    break;
                }
            }
            found
        }
    };
    let Some((region, plan, known)) = found else {
        return (None, PhoneNumberType::Unknown);
    };
    let number_type = known
        .unwrap_or_else(|| plan.map_or(PhoneNumberType::Unknown, |plan| plan.number_type(nsn)));
    (Some(region), number_type)
}

/// The region whose name stands for a number in its place description, as
/// libphonenumber's geocoder picks it (`getCountryNameForNumber`): its calling code's only
/// region, else the one region of the code it is valid in (`isValidNumberForRegion`);
/// none when it is valid in several (`+44 800`: GB, GG, IM, JE) or in none. Each region's
/// types are tested on its plan, as [`classify`] tests them.
pub(crate) fn named_region(country_code: i32, nsn: &str) -> Option<Region> {
    match index().code(country_code) {
        [] => None,
        [(region, _)] => Some(*region),
        shared => {
            let mut valid = shared.iter().filter(|&&(_, position)| {
                plan(position).is_some_and(|plan| plan.number_type(nsn) != PhoneNumberType::Unknown)
            });
            let (first, _) = valid.next()?;
            valid.next().is_none().then_some(*first)
        }
    }
}

/// The number rlibphonenumber's `parse(text, region)` returns, for the inputs this module
/// reads; None for any other, and for any input rlibphonenumber refuses. `text` is as
/// [`super::judge`] has it: normalised, its extension split off. `international` says
/// whether its first digit-or-plus is a plus; `region` is the default region, None for
/// an international number.
pub(crate) fn parse(
    text: &str,
    international: bool,
    region: Option<Region>,
) -> Option<PhoneNumber> {
    // The shape: digits and separators rlibphonenumber reads as nothing but separators
    // here (no extension, no second number, no RFC 3966 parameters can be made of them),
    // a plus only as the first digit-or-plus.
    let mut digits = [0u8; MAX_DIGITS];
    let mut count = 0;
    let mut plus = false;
    for b in text.bytes() {
        match b {
            b'0'..=b'9' => {
                *digits.get_mut(count)? = b;
                count += 1;
            }
            b'+' if count == 0 && !plus => plus = true,
            b' ' | b'-' | b'(' | b')' | b'.' => {}
            _ => return None,
        }
    }
    // Fewer than three digits: rlibphonenumber's viability rules and errors decide.
    if count < 3 || plus != international {
        return None;
    }
    let digits = std::str::from_utf8(&digits[..count]).ok()?;
    let index = index();
    let (country_code, national) = if plus {
        // `extract_country_code`: the shortest prefix of one to three digits that is
        // some region's calling code; none starts with 0.
        if digits.starts_with('0') {
            return None;
        }
        let (country_code, national, &(_, position)) = (1..=3).find_map(|len| {
            let code: i32 = digits.get(..len)?.parse().ok()?;
            Some((code, &digits[len..], index.code(code).first()?))
        })?;
        // The national number as given, unless the main region's trunk prefix starts
        // it: rlibphonenumber may strip that, so it decides.
        let plan = plan(position)?;
        if !national.is_empty()
            && plan
                .national_prefix
                .as_ref()
                .is_some_and(|(prefix, _)| prefix.is_match(national))
        {
            return None;
        }
        (country_code, national)
    } else {
        let plan = plan(*index.by_region.get(&region?)?)?;
        // Dialled with the region's international prefix (`00`, `011`, `810`), or
        // starting with the region's own calling code: rlibphonenumber's rules for
        // those decide.
        if plan
            .international_prefix
            .as_ref()
            .is_some_and(|prefix| prefix.is_match(digits))
        {
            return None;
        }
        let mut code = itoa::Buffer::new();
        if digits.starts_with(code.format(plan.country_code)) {
            return None;
        }
        (plan.country_code, strip_trunk_prefix(&plan, digits)?)
    };
    if !NSN_LENGTHS.contains(&national.len()) {
        return None;
    }
    let mut number = PhoneNumber {
        country_code,
        national_number: national.parse().ok()?,
        ..PhoneNumber::default()
    };
    // `get_italian_leading_zeros_for_phone_number`: leading zeros are kept as a count,
    // all but the last of an all-zero number.
    let zeros = national.bytes().take_while(|&b| b == b'0').count();
    if zeros > 0 {
        number.italian_leading_zero = Some(true);
        let zeros = if zeros == national.len() {
            zeros - 1
        } else {
            zeros
        };
        if zeros > 1 {
            number.number_of_leading_zeros = Some(i32::try_from(zeros).ok()?);
        }
    }
    Some(number)
}

/// The national number without the region's trunk prefix, as rlibphonenumber's
/// `maybe_strip_national_prefix_and_carrier_code` and the length test after it in
/// `parse` leave it; None when the prefix pattern captures a part to rewrite the
/// number with, which is rlibphonenumber's to do.
fn strip_trunk_prefix<'a>(plan: &Plan, number: &'a str) -> Option<&'a str> {
    let Some((prefix, groups)) = &plan.national_prefix else {
        return Some(number);
    };
    if !prefix.is_match(number) {
        return Some(number);
    }
    let groups = groups.get_or_init(|| compile(prefix.pattern()));
    let captures = groups.captures(number)?;
    let (first, second) = (captures.get(1), captures.get(2));
    let rewrites = |first: &regex::Match<'_>| {
        plan.transforms
            && (second.is_some_and(|s| !s.is_empty()) || (!first.is_empty() && second.is_none()))
    };
    if first.as_ref().is_some_and(rewrites) {
        return None;
    }
    let stripped = &number[captures.get(0)?.end()..];
    // A number that was viable and would not be after stripping keeps its prefix.
    if plan.general_pattern_matches(number) && !plan.general_pattern_matches(stripped) {
        return Some(number);
    }
    Some(if plan.keeps_stripped(stripped) {
        stripped
    } else {
        number
    })
}

#[cfg(test)]
#[path = "quick_tests.rs"]
mod tests;
