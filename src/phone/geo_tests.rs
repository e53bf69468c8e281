//! The geo mappers against libphonenumber's own (its Python port, at the metadata's
//! version) on every region's example numbers, and their inputs.

use super::*;
use crate::phone::fast::{library, quick};

const ORACLE: &str = include_str!("../../tests/data/phone_geo_oracle.tsv");

fn number_type(name: &str) -> NumberType {
    match name {
        "FIXED_LINE" => NumberType::FixedLine,
        "MOBILE" => NumberType::Mobile,
        "FIXED_LINE_OR_MOBILE" => NumberType::FixedLineOrMobile,
        "TOLL_FREE" => NumberType::TollFree,
        "PREMIUM_RATE" => NumberType::PremiumRate,
        "SHARED_COST" => NumberType::SharedCost,
        "VOIP" => NumberType::Voip,
        "PERSONAL_NUMBER" => NumberType::PersonalNumber,
        "PAGER" => NumberType::Pager,
        "UAN" => NumberType::Uan,
        "VOICEMAIL" => NumberType::Voicemail,
        other => panic!("unknown type {other}"),
    }
}

/// Every row of the fixture: the time zones, the location in each language and the
/// carrier are libphonenumber's, for each example number of each region and type.
#[test]
fn every_example_number_agrees_with_libphonenumbers_mappers() {
    let header = ORACLE.lines().next().unwrap_or_default();
    assert!(
        header.contains(crate::phone::METADATA_VERSION),
        "the fixture is of another version: {header}"
    );
    let mut checked = 0;
    let mut placed = 0;
    for line in ORACLE.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 10, "{line}");
        let country_code: u32 = f[1].parse().expect("a calling code");
        let place = Number {
            country_code,
            national: f[2],
            number_type: number_type(f[3]),
        };
        let parsed = library::with(|util| util.parse(f[0], None)).expect("parses");
        let zones: Vec<&str> = f[4].split('&').filter(|z| !z.is_empty()).collect();
        assert_eq!(time_zones(&place), zones, "time zones of {}", f[0]);
        for (language, expected) in [Language::En, Language::Es, Language::Pt, Language::Ru]
            .into_iter()
            .zip(&f[5..9])
        {
            let got = location(&place, language, || {
                let nsn = parsed.get_national_significant_number();
                quick::named_region(parsed.country_code, &nsn).map(|r| r.as_region_str())
            });
            assert_eq!(got, *expected, "location of {} in {language:?}", f[0]);
        }
        placed += usize::from(!f[5].is_empty());
        assert_eq!(carrier(&place), f[9], "carrier of {}", f[0]);
        checked += 1;
    }
    assert!(checked > 900, "only {checked} rows");
    assert!(placed > 800, "only {placed} placed");
}

/// The verdict carries them, in the language asked.
#[test]
fn a_valid_verdict_says_where_and_when() {
    let v = crate::phone::validate_in("+55 11 96158-2043", "", Language::Pt);
    assert_eq!(v.validity, crate::phone::Validity::Valid, "{:?}", v.reasons);
    assert_eq!(v.time_zones, ["America/Sao_Paulo"]);
    assert_eq!(v.location, "São Paulo");
    let moscow = crate::phone::validate_in("+7 495 739-22-11", "", Language::Ru);
    assert_eq!(moscow.location, "Московская обл.");
    assert_eq!(
        crate::phone::validate("+7 495 739-22-11", "").location,
        "Moscow"
    );
    assert_eq!(moscow.time_zones, ["Europe/Moscow"]);
    // A Russian mobile spans the country's zones: all of them, none guessed.
    let mobile = crate::phone::validate("+7 912 408-52-17", "");
    assert!(mobile.time_zones.len() > 5, "{:?}", mobile.time_zones);
    assert_eq!(mobile.location, "Russia");
    // An invalid number says nothing of a place.
    let invalid = crate::phone::validate("+44 20 7946 0000", "");
    assert!(invalid.time_zones.is_empty() && invalid.location.is_empty());
}

#[test]
fn language_tags_are_read_or_refused() {
    for (tag, language) in [
        ("", Language::En),
        ("en", Language::En),
        ("es", Language::Es),
        ("ES-mx", Language::Es),
        ("pt_BR", Language::Pt),
        ("ru-RU", Language::Ru),
        ("de", Language::En),
        ("zh-Hant-TW", Language::En),
    ] {
        assert_eq!(Language::from_tag(tag), Ok(language), "{tag}");
    }
    for bad in ["e", "english!", "12", "es-", "es mx", "españ"] {
        assert_eq!(Language::from_tag(bad), Err(BadLanguageTag), "{bad}");
    }
    assert_eq!(Language::of_country("Brazil"), Language::Pt);
    assert_eq!(Language::of_country("MEX"), Language::Es);
    assert_eq!(Language::of_country("ru"), Language::Ru);
    assert_eq!(Language::of_country("United Kingdom"), Language::En);
    assert_eq!(Language::of_country(""), Language::En);
}

/// Every table reads in full: as many entries as the generator wrote lines.
#[test]
fn every_table_reads_every_line() {
    for text in [
        GEOCODING_EN,
        GEOCODING_ES,
        GEOCODING_PT,
        GEOCODING_RU,
        TIME_ZONES,
        CARRIERS,
    ] {
        let table = Table::parse(text, |value| value);
        let lines = text.lines().skip_while(|l| *l != "%%").skip(1).count();
        assert_eq!(table.entries.len(), lines);
        assert!(
            table
                .entries
                .windows(2)
                .all(|w| w[0] >> INDEX_BITS < w[1] >> INDEX_BITS),
            "distinct keys"
        );
    }
    assert!(load_all() > 300_000);
    assert_eq!(country_name("BR", Language::Pt), "Brasil");
    assert_eq!(country_name("001", Language::En), "");
}

/// A longest-prefix lookup finds what trying every length from the longest down finds,
/// for numbers that start with each table's prefixes, one digit changed or added, and
/// for prefixes no table has.
#[test]
fn the_longest_prefix_is_found_in_one_search_as_in_ten() {
    fn naive(table: &Table, digits: Prefix) -> Option<(u32, &&'static str)> {
        (1..=digits.len)
            .rev()
            .find_map(|len| table.exact(digits.cut(len)))
    }
    let mut checked = 0;
    for text in [GEOCODING_EN, GEOCODING_ES, TIME_ZONES, CARRIERS] {
        let table = Table::parse(text, |value| value);
        for (i, entry) in table.entries.iter().enumerate().step_by(7) {
            let prefix = Prefix::from_key(entry >> INDEX_BITS);
            let digits = (prefix.padded / 10u64.pow(MAX_PREFIX - prefix.len)).to_string();
            let digits = format!("{digits:0>width$}", width = prefix.len as usize);
            let changed = (digits.len() - 1 - i % digits.len(), b'0' + (i % 10) as u8);
            let mut variants = vec![digits.clone(), format!("{digits}{}", i % 10)];
            let mut other = digits.clone().into_bytes();
            other[changed.0] = changed.1;
            variants.push(String::from_utf8(other).expect("digits"));
            variants.push(format!("{digits}98765432109"));
            for variant in variants {
                let query = Prefix::read(variant.bytes());
                assert_eq!(table.longest(query), naive(&table, query), "{variant}");
                checked += 1;
            }
        }
        for missing in ["0", "00000", "9999999999", "2"] {
            let query = Prefix::read(missing.bytes());
            assert_eq!(table.longest(query), naive(&table, query), "{missing}");
        }
    }
    assert!(checked > 100_000, "{checked}");
    // Prefixes that differ only by leading zeros or length are different prefixes.
    let one = Prefix::read("1".bytes());
    assert_ne!(one.key(), Prefix::read("10".bytes()).key());
    assert_ne!(
        Prefix::read("01".bytes()).key(),
        Prefix::read("1".bytes()).key()
    );
    assert!(one.key() < Prefix::read("10".bytes()).key());
    assert!(Prefix::read("100".bytes()).key() < Prefix::read("11".bytes()).key());
}
