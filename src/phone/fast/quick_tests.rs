//! `quick` against rlibphonenumber itself, on the same metadata: whatever `parse` reads
//! must be the number rlibphonenumber's `parse` returns, and `classify` must place and
//! type every number as `get_region_for_number` and `get_number_type` do.

use proptest::prelude::*;
use rlibphonenumber::{PhoneNumberFormat, PhoneNumberUtil};

use super::*;
use crate::phone::{all_types, e164, is_international};

/// Every region of the metadata, in a fixed order.
fn regions() -> &'static [Region] {
    static REGIONS: OnceLock<Vec<Region>> = OnceLock::new();
    REGIONS.get_or_init(|| {
        let mut regions: Vec<Region> = index().by_region.keys().copied().collect();
        regions.sort();
        regions
    })
}

/// Every calling code of the metadata, in a fixed order.
fn codes() -> &'static [i32] {
    static CODES: OnceLock<Vec<i32>> = OnceLock::new();
    CODES.get_or_init(|| (0..1000).filter(|&c| !index().code(c).is_empty()).collect())
}

/// rlibphonenumber's region and type of a number.
fn theirs(util: &PhoneNumberUtil, number: &PhoneNumber) -> (Option<Region>, PhoneNumberType) {
    (
        util.get_region_for_number(number),
        util.get_number_type(number),
    )
}

/// Checks `parse` on one input: None, or rlibphonenumber's own number. Says whether
/// `parse` read it.
fn check_parse(text: &str, region: Region) -> Result<bool, TestCaseError> {
    let international = is_international(text);
    let region = (!international).then_some(region);
    let Some(ours) = parse(text, international, region) else {
        return Ok(false);
    };
    let expected = library::with(|util| util.parse(text, region));
    prop_assert_eq!(Ok(&ours), expected.as_ref(), "{:?} in {:?}", text, region);
    Ok(true)
}

/// Checks `classify` and our E.164 on one number rlibphonenumber parsed.
fn check_number(util: &PhoneNumberUtil, number: &PhoneNumber) -> Result<(), TestCaseError> {
    let nsn = number.get_national_significant_number();
    prop_assert_eq!(
        classify(number.country_code, &nsn),
        theirs(util, number),
        "{:?}",
        number
    );
    prop_assert_eq!(
        e164(number.country_code, &nsn),
        util.format(number, PhoneNumberFormat::E164).into_owned()
    );
    prop_assert_eq!(
        named_region(number.country_code, &nsn),
        their_named_region(util, number),
        "{:?}",
        number
    );
    Ok(())
}

/// libphonenumber's `getCountryNameForNumber` region on rlibphonenumber's own
/// `is_valid_number_for_region`: the code's only region, else the one it is valid in.
fn their_named_region(util: &PhoneNumberUtil, number: &PhoneNumber) -> Option<Region> {
    let regions: Vec<Region> = util
        .get_regions_for_country_calling_code(number.country_code)?
        .collect();
    if let [only] = regions[..] {
        return Some(only);
    }
    let mut valid = regions
        .into_iter()
        .filter(|r| util.is_valid_number_for_region(number, *r));
    let first = valid.next()?;
    valid.next().is_none().then_some(first)
}

#[test]
fn every_regions_patterns_compile_as_one_set() {
    for position in 0..library::metadata().metadata.len() {
        assert!(plan(position).is_some(), "metadata entry {position}");
    }
    assert!(
        index().by_region.len() > 240,
        "{} regions",
        index().by_region.len()
    );
    let entities = (0..1000)
        .filter(|&c| index().code(c).iter().any(|(r, _)| *r == Region::World))
        .count();
    assert!(entities >= 8, "{entities} non-geographic entities");
}

/// Every example number of every region and type, written every way, and its
/// neighbours: where `parse` reads one it must agree, and `classify` must agree on every
/// number rlibphonenumber parsed from them.
#[test]
fn every_example_number_agrees() {
    let mut read = 0;
    let mut inputs = 0;
    library::with(|util| {
        for &region in regions() {
            for t in all_types() {
                let Ok(example) = util.get_example_number_for_type_and_region(region, t) else {
                    continue;
                };
                let e164 = util.format(&example, PhoneNumberFormat::E164).into_owned();
                let national = util
                    .format(&example, PhoneNumberFormat::National)
                    .into_owned();
                let international = util
                    .format(&example, PhoneNumberFormat::International)
                    .into_owned();
                let nsn = example.get_national_significant_number();
                let longer = format!("{e164}7");
                let shorter = e164[..e164.len() - 1].to_string();
                for text in [
                    e164.as_str(),
                    &national,
                    &international,
                    &nsn,
                    &longer,
                    &shorter,
                    &format!("0{nsn}"),
                    &format!("{}{nsn}", example.country_code),
                ] {
                    inputs += 1;
                    if check_parse(text, region).unwrap_or_else(|e| panic!("{e}")) {
                        read += 1;
                    }
                    let hint = (!is_international(text)).then_some(region);
                    if let Ok(number) = util.parse(text, hint) {
                        check_number(util, &number).unwrap_or_else(|e| panic!("{e}"));
                    }
                }
            }
        }
    });
    // Most of these are read here: the point of the module.
    assert!(read * 10 > inputs * 6, "read {read} of {inputs}");
}

/// The shapes of the load benchmark's and most exports' numbers are read here, not by
/// rlibphonenumber; the rest are left to it.
#[test]
fn common_shapes_are_read_here() {
    for (text, region, here) in [
        ("+1 212 555 0143", "US", true),
        ("(212) 555-0143", "US", true),
        ("030 20123456", "DE", true),
        ("+49 30 20123456", "DE", true),
        ("+55 11 96000-1234", "BR", true),
        ("610 123 456", "ES", true),
        ("+7 912 345-67-89", "RU", true),
        ("8 912 345-67-89", "RU", true),
        ("020 7183 8750", "GB", true),
        ("+39 06 6982 1234", "IT", true),
        ("01 23 45 67 89", "FR", true),
        ("00 44 20 7183 8750", "DE", false),
        ("1-800-FLOWERS", "US", false),
        ("+44 (0)20 7183 8750", "GB", false),
        ("+1 212 555 0143 / x12", "US", false),
        ("49 30 20123456", "DE", false),
        ("12", "US", false),
    ] {
        let region = Region::from_code(region).expect("region");
        let read = check_parse(text, region).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read, here, "{text} in {region:?}: read here?");
    }
}

/// An input of the shapes `parse` reads, or nearly: digits of a region's numbers or at
/// random, after the prefixes that change how they are read, with separators between.
fn phone_like() -> impl Strategy<Value = (String, Region)> {
    let digits = prop::collection::vec(0u8..10, 0..19);
    let prefix = prop::sample::select(vec![
        "", "", "", "0", "00", "000", "8", "810", "1", "011", "+", "+", "+0", "+00", "0 ", "(",
        "+(", "(0", "1 ",
    ]);
    let separators = prop::collection::vec(
        prop::sample::select(vec!["", "", "", "", " ", "-", "(", ")", ".", " ", "  "]),
        20,
    );
    let example = any::<prop::sample::Index>();
    let kind = 0u8..4;
    (
        0..regions().len(),
        prefix,
        digits,
        separators,
        example,
        kind,
        any::<bool>(),
    )
        .prop_map(
            |(region, prefix, digits, separators, example, kind, code)| {
                let region = regions()[region];
                let body: String = match kind {
                    // A number of the region, one of its digits changed.
                    0 | 1 => library::with(|util| {
                        let types: Vec<_> = all_types().collect();
                        let t = types[example.index(types.len())];
                        let number = util
                            .get_example_number_for_type_and_region(region, t)
                            .or_else(|_| util.get_example_number(region));
                        let mut nsn = number
                            .map(|n| n.get_national_significant_number())
                            .unwrap_or_default();
                        if kind == 1 && !nsn.is_empty() {
                            let at = example.index(nsn.len());
                            let digit = char::from(b'0' + digits.first().copied().unwrap_or(0));
                            nsn.replace_range(at..=at, &digit.to_string());
                        }
                        if code {
                            let cc = util.get_country_code_for_region(region).unwrap_or_default();
                            format!("{cc}{nsn}")
                        } else {
                            nsn
                        }
                    }),
                    // Any digits, after a calling code.
                    2 => {
                        let cc = codes()[example.index(codes().len())];
                        let rest: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                        format!("{cc}{rest}")
                    }
                    _ => digits.iter().map(|d| char::from(b'0' + d)).collect(),
                };
                let mut text = prefix.to_string();
                for (i, c) in body.chars().enumerate() {
                    text.push(c);
                    text.push_str(separators[i % separators.len()]);
                }
                (text, region)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn parse_reads_what_rlibphonenumber_reads((text, region) in phone_like()) {
        check_parse(&text, region)?;
    }

    #[test]
    fn classify_places_and_types_as_rlibphonenumber((text, region) in phone_like()) {
        let hint = (!is_international(&text)).then_some(region);
        library::with(|util| match util.parse(&text, hint) {
            Ok(number) => check_number(util, &number),
            Err(_) => Ok(()),
        })?;
    }
}
