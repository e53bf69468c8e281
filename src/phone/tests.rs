//! Tests of the phone rules: one or more per rule of the issue, each failing without it.

use super::*;
use proptest::prelude::*;
use rlibphonenumber::PHONE_NUMBER_UTIL;

fn v(phone: &str, country: &str) -> Verdict {
    validate(phone, country)
}

fn first_code(verdict: &Verdict) -> &'static str {
    verdict.reasons.first().map_or("", |r| r.code)
}

fn has_code(verdict: &Verdict, code: &str) -> bool {
    verdict.reasons.iter().any(|r| r.code == code)
}

#[test]
fn valid_numbers_have_every_field() {
    let verdict = v("(202) 456-1111", "US");
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:?}");
    assert_eq!(verdict.e164, "+12024561111");
    assert_eq!(verdict.region, "US");
    assert_eq!(verdict.country_code, 1);
    assert_eq!(verdict.number_type, Some(NumberType::FixedLineOrMobile));
    assert_eq!(verdict.international, "+1 202-456-1111");
    assert_eq!(verdict.national, "(202) 456-1111");
    assert_eq!(first_code(&verdict), codes::VALID);

    let verdict = v("+39 06 4820 1234", "");
    assert_eq!(
        verdict.e164, "+390648201234",
        "the Italian leading zero stays"
    );
    assert_eq!(
        verdict.number_type,
        Some(NumberType::FixedLine),
        "not Unknown"
    );
    assert_eq!(verdict.region, "IT");

    let verdict = v("+44 7400 123456", "");
    assert_eq!(verdict.number_type, Some(NumberType::Mobile));
    // A NANP number is placed in its own region, not the calling code's main one.
    assert_eq!(v("+1 416 555 2368", "").region, "CA");
    // Non-geographic numbers have the region 001.
    let verdict = v("+800 8000 1234", "");
    assert_eq!(
        (verdict.validity, verdict.region.as_str()),
        (Validity::Valid, "001")
    );
    assert_eq!(verdict.number_type, Some(NumberType::TollFree));
}

#[test]
fn the_phonenumber_crate_failures_are_right_here() {
    let verdict = v("+7 800 555 35 35", "");
    assert_eq!(verdict.e164, "+78005553535");
    assert_eq!(verdict.number_type, Some(NumberType::TollFree));
    let verdict = v("+43 1 234567890", "US");
    assert_eq!(
        verdict.e164, "+431234567890",
        "a + number ignores the US hint"
    );
    assert_eq!(verdict.region, "AT");
}

#[test]
fn the_region_comes_from_the_country_in_any_form() {
    for country in [
        "GB",
        "gbr",
        "United Kingdom",
        "UK",
        "great britain",
        " u.k. ",
    ] {
        let verdict = v("020 7183 8750", country);
        assert_eq!(verdict.validity, Validity::Valid, "{country}");
        assert_eq!(verdict.e164, "+442071838750", "{country}");
    }
    for country in ["US", "USA", "united states of america", "U.S."] {
        assert_eq!(v("202 456 1111", country).e164, "+12024561111", "{country}");
    }
    // The same national digits are another number in another country.
    assert_eq!(
        v("030 1234 5678", "Germany").e164,
        "+4930 12345678".replace(' ', "")
    );
    // Regions libphonenumber has beyond ISO 3166-1: Kosovo.
    assert_eq!(v("043 201 234", "XK").region, "XK");
}

#[test]
fn a_national_number_without_a_usable_region_is_unknown() {
    for country in ["", "  ", "Atlantis", "Antarctica", "ZZ"] {
        let verdict = v("020 7183 8750", country);
        assert_eq!(verdict.validity, Validity::Unknown, "{country:?}");
        assert_eq!(first_code(&verdict), codes::PARSE_NO_REGION, "{country:?}");
    }
    // With a `+` no region is needed.
    assert_eq!(v("+44 20 7183 8750", "").validity, Validity::Valid);
    // Nor with an international prefix: with no region, `00` and `011` are read as `+`.
    let verdict = v("0044 20 7183 8750", "");
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:?}");
    assert!(has_code(&verdict, codes::NORMALISED_INTERNATIONAL_PREFIX));
}

#[test]
fn a_plus_number_ignores_the_region_hint() {
    for country in ["", "US", "FR", "Atlantis"] {
        let verdict = v("+44 20 7183 8750", country);
        assert_eq!(verdict.validity, Validity::Valid, "{country}");
        assert_eq!(verdict.e164, "+442071838750", "{country}");
    }
    // `(+44)` is written with a plus too: libphonenumber reads the first plus or digit.
    assert_eq!(v("(+44) 20 7183 8750", "US").e164, "+442071838750");
}

#[test]
fn international_prefixes_work_where_the_region_implies_them() {
    for (phone, country) in [
        ("0044 20 7183 8750", "DE"),
        ("011 44 20 7183 8750", "US"),
        ("8 10 44 20 7183 8750", "RU"),
        ("+44 (0)20 7183 8750", ""),
        ("+44 (0) 20 7183 8750", "FR"),
    ] {
        let verdict = v(phone, country);
        assert_eq!(
            verdict.e164, "+442071838750",
            "{phone} {country}: {verdict:?}"
        );
        assert_eq!(verdict.validity, Validity::Valid, "{phone} {country}");
    }
    // 011 is the NANP's prefix, not the UK's: from the UK it is a national number.
    assert_ne!(v("011 44 20 7183 8750", "GB").e164, "+442071838750");
    // Italy keeps its 0 after the country code; `(0)` there is a digit of the number.
    assert_eq!(v("+39 (0)6 4820 1234", "").e164, "+390648201234");
}

#[test]
fn unicode_digits_and_invisible_characters_are_normalised() {
    for phone in [
        "＋４４ ２０ ７１８３ ８７５０",                         // full-width
        "+٤٤ ٢٠ ٧١٨٣ ٨٧٥٠",                                      // Arabic-Indic
        "+۴۴ ۲۰ ۷۱۸۳ ۸۷۵۰",                                      // extended Arabic-Indic (Persian)
        "+४४ २० ७१८३ ८७५०",                                      // Devanagari
        "\u{200E}+44\u{00A0}20\u{2009}7183\u{200B}8750\u{FEFF}", // bidi mark, odd spaces
    ] {
        let verdict = v(phone, "");
        assert_eq!(verdict.e164, "+442071838750", "{phone:?}: {verdict:?}");
        assert_eq!(verdict.validity, Validity::Valid, "{phone:?}");
    }
}

#[test]
fn overlong_input_is_invalid_without_parsing() {
    let long = format!("+44 20 7183 8750{}", " ".repeat(MAX_INPUT_CHARS));
    assert_eq!(
        v(&long, "").validity,
        Validity::Valid,
        "trailing spaces are trimmed first"
    );
    let long = format!("+44 20 7183 8750 {}", "-".repeat(MAX_INPUT_CHARS));
    let verdict = v(&long, "");
    assert_eq!(
        (verdict.validity, first_code(&verdict)),
        (Validity::Invalid, codes::PARSE_TOO_LONG)
    );
    assert!(verdict.e164.is_empty());
    let verdict = v(&"٤".repeat(100_000), "GB");
    assert_eq!(first_code(&verdict), codes::PARSE_TOO_LONG);
}

#[test]
fn letters_that_are_not_a_vanity_number_are_refused() {
    for (phone, country) in [
        ("+44 20 7183 875O", ""), // a capital O for a zero
        ("+44 20 7183 8750 ext 12 please", ""),
        ("1-800-FLOWERS!", "US"),
        ("+7 (495) 739-22-11 доб. двенадцать", ""),
        ("Ana +1 202 456 1111", ""),
        ("+1-800-ZZZ-ZZZZ", ""), // keypad 999-9999: a fake, so the letters stay letters
    ] {
        let verdict = v(phone, country);
        assert_eq!(verdict.validity, Validity::Invalid, "{phone}");
        assert_eq!(first_code(&verdict), codes::PARSE_LETTERS, "{phone}");
        assert!(verdict.e164.is_empty(), "{phone}");
    }
}

#[test]
fn an_extension_is_accepted_and_left_out_of_e164() {
    for phone in [
        "+1 202 456 1111 ext. 12",
        "+1 202 456 1111 x12",
        "+1 202 456 1111 Extension 12",
        "+1 202 456 1111 #12",
        "+1 202 456 1111, ext 12",
    ] {
        let verdict = v(phone, "");
        assert_eq!(verdict.validity, Validity::Valid, "{phone}: {verdict:?}");
        assert_eq!(verdict.e164, "+12024561111", "{phone}");
        assert!(has_code(&verdict, codes::EXTENSION), "{phone}");
    }
    assert!(!has_code(&v("+1 202 456 1111", ""), codes::EXTENSION));
    assert_eq!(
        first_code(&v("x12", "US")),
        codes::PARSE_LETTERS,
        "an extension alone"
    );
}

#[test]
fn a_plus_number_must_keep_the_digits_given() {
    // libphonenumber rewrites these, by its metadata's national-prefix rules, into other
    // digits: Norfolk Island's 5-digit local form gains a 3, Gabon's loses its 0.
    for phone in ["+67210660", "+241060312347", "+44 020 7183 8750"] {
        let verdict = v(phone, "");
        assert_eq!(verdict.validity, Validity::Invalid, "{phone}");
        assert_eq!(
            first_code(&verdict),
            codes::PARSE_DIGITS_MISMATCH,
            "{phone}"
        );
    }
    // The (0) convention is the one exception, and only right after the country code.
    assert_eq!(v("+44 (0)20 7183 8750", "").validity, Validity::Valid);
    assert_eq!(v("+44 20 (0)7183 8750", "").validity, Validity::Invalid);
    let number = PhoneNumber::parse("+442071838750", None).ok();
    let Some(number) = number else {
        panic!("the example number parses");
    };
    assert!(same_digits("+44 20 7183 8750", &number, "+442071838750"));
    assert!(same_digits("+44 (0)20 7183 8750", &number, "+442071838750"));
    assert!(!same_digits("+44 20 7183 87500", &number, "+442071838750"));
    assert!(!same_digits(
        "+44 20 (0)7183 8750",
        &number,
        "+442071838750"
    ));
    // National input is not guarded: its trunk prefix is meant to go.
    assert_eq!(v("020 7183 8750", "GB").e164, "+442071838750");
}

#[test]
fn invalid_numbers_say_why_and_keep_what_was_parsed() {
    for (phone, code) in [
        ("+44 20", codes::LENGTH_TOO_SHORT),
        ("+44 20 7183 8750 1234", codes::LENGTH_TOO_LONG),
        ("+49 30 1", codes::LENGTH_LOCAL_ONLY),
        ("+1 202 456", codes::LENGTH_TOO_SHORT),
        ("+1 202 4561", codes::LENGTH_LOCAL_ONLY),
        ("+999 1234 5678", codes::PARSE_BAD_COUNTRY_CODE),
        ("+1 123 456 7890", codes::INVALID_FOR_REGION),
        ("+44 40 1234 5678", codes::INVALID_FOR_REGION),
    ] {
        let verdict = v(phone, "");
        assert_eq!(verdict.validity, Validity::Invalid, "{phone}");
        assert_eq!(first_code(&verdict), code, "{phone}: {verdict:?}");
        assert_eq!(verdict.number_type, None, "{phone}");
    }
    // What was parsed is kept.
    let verdict = v("+1 123 456 7890", "");
    assert_eq!(verdict.e164, "+11234567890");
    assert_eq!(verdict.country_code, 1);
    assert!(!verdict.international.is_empty() && !verdict.national.is_empty());
    for phone in ["--", "+", "()", "+-"] {
        assert_eq!(first_code(&v(phone, "US")), codes::PARSE_FAILED, "{phone}");
    }
}

/// Found by the property test: libphonenumber calls this 16-digit German number valid,
/// but no E.164 number has more than 15 digits.
#[test]
fn more_than_fifteen_digits_is_too_long_for_e164() {
    for phone in ["+49 40 000000000000 1", "+49 40 5821 9374 1063"] {
        let verdict = v(phone, "");
        assert_eq!(verdict.validity, Validity::Invalid, "{phone}: {verdict:?}");
        assert_eq!(first_code(&verdict), codes::LENGTH_TOO_LONG, "{phone}");
        assert_eq!(verdict.region, "DE", "what was parsed is kept");
    }
    // Fifteen digits are still fine.
    assert_eq!(v("+49 40 5821 9374 106", "").validity, Validity::Valid);
}

#[test]
fn blank_input_is_missing() {
    for phone in ["", "   ", "\t\n", "\u{200B}", "\u{FEFF} \u{200E}"] {
        let verdict = v(phone, "US");
        assert_eq!(verdict.validity, Validity::Unknown, "{phone:?}");
        assert_eq!(first_code(&verdict), codes::MISSING, "{phone:?}");
    }
}

#[test]
fn fake_numbers_libphonenumber_accepts_are_invalid_and_described() {
    for (phone, country, code) in [
        ("(202) 555-0143", "US", codes::FAKE_FICTIONAL_NANP),
        ("+1 212 555 0100", "", codes::FAKE_FICTIONAL_NANP),
        ("020 7946 0018", "GB", codes::FAKE_FICTIONAL_OFCOM),
        ("0113 496 0123", "GB", codes::FAKE_FICTIONAL_OFCOM),
        ("0808 157 0123", "GB", codes::FAKE_FICTIONAL_OFCOM),
        ("+61 1800 975 707", "", codes::FAKE_FICTIONAL_ACMA),
        ("(02) 5550 1234", "AU", codes::FAKE_FICTIONAL_ACMA),
        ("0491 570 006", "AU", codes::FAKE_FICTIONAL_ACMA),
        ("+49 30 33333333", "", codes::FAKE_REPEATED),
        ("+33 6 66 66 66 66", "", codes::FAKE_REPEATED),
        ("+1 212 555 5555", "", codes::FAKE_REPEATED),
        ("01234 567890", "GB", codes::FAKE_SEQUENTIAL),
        ("+1 212 456 7890", "", codes::FAKE_SEQUENTIAL),
        ("+49 30 12345678", "", codes::FAKE_SEQUENTIAL),
        ("+49 89 98765432", "", codes::FAKE_SEQUENTIAL),
    ] {
        let verdict = v(phone, country);
        assert_eq!(verdict.validity, Validity::Invalid, "{phone}: {verdict:?}");
        assert_eq!(first_code(&verdict), code, "{phone}: {verdict:?}");
        // Still described: libphonenumber's verdict was valid.
        assert!(verdict.e164.starts_with('+'), "{phone}");
        assert!(!verdict.region.is_empty(), "{phone}");
        assert!(verdict.number_type.is_some(), "{phone}");
    }
    // Next door to the fictional ranges, numbers are real.
    for (phone, country) in [
        ("(202) 555-0200", "US"),
        ("020 7946 1018", "GB"),
        ("0491 570 007", "AU"),
        ("+49 30 33333334", ""),
    ] {
        assert_eq!(v(phone, country).validity, Validity::Valid, "{phone}");
    }
}

#[test]
fn the_engine_caches_by_normalised_input_and_region() {
    let engine = Engine::new(100);
    let a = engine.validate("+44 20 7183 8750", "");
    assert_eq!(
        *a,
        validate("+44 20 7183 8750", ""),
        "the cache changes no verdict"
    );
    // Trimmed, full-width digits, and a `+` number under any country: one key, cached
    // from its second sighting.
    assert_eq!(engine.validate(" +44 20 7183 8750 ", "US"), a);
    assert_eq!(engine.cached_verdicts(), 1);
    // A hit shares the cached verdict rather than copying it.
    assert!(std::sync::Arc::ptr_eq(
        &engine.validate("+44 20 7183 8750", ""),
        &engine.validate("+44 20 7183 8750", "")
    ));
    assert_eq!(engine.validate("＋44 20 7183 8750", "Germany"), a);
    assert_eq!(engine.cached_verdicts(), 1);
    // A national number is keyed by the region its country names, however written.
    let b = engine.validate("020 7183 8750", "GB");
    assert_eq!(engine.validate("020 7183 8750", "United Kingdom"), b);
    assert_eq!(engine.cached_verdicts(), 2);
    // ... and a different region is a different key (and verdict).
    let c = engine.validate("020 7183 8750", "DE");
    assert_ne!(c.e164, b.e164);
    assert_eq!(engine.validate("020 7183 8750", "DEU"), c);
    assert_eq!(engine.cached_verdicts(), 3);
}

/// A batch of unique numbers is all misses: caching each would cost more work on top of
/// validating it and push out the numbers that repeat. The cache admits a number on its
/// second sighting.
#[test]
fn numbers_seen_once_are_not_cached() {
    let engine = Engine::new(1000);
    let numbers: Vec<String> = (0..500).map(|n| format!("+44 20 7183 {n:04}")).collect();
    for number in &numbers {
        engine.validate(number, "");
    }
    assert_eq!(engine.cached_verdicts(), 0, "500 numbers seen once");
    for number in &numbers[..100] {
        assert_eq!(*engine.validate(number, ""), validate(number, ""));
    }
    // The 400 numbers after them overwrote some of their slots (about a fifth, with 2,048
    // slots): those are admitted one sighting later.
    let cached = engine.cached_verdicts();
    assert!((60..=100).contains(&cached), "{cached} of 100 seen twice");
    for number in &numbers[..100] {
        engine.validate(number, "");
    }
    assert!(
        engine.cached_verdicts() >= 95,
        "{}",
        engine.cached_verdicts()
    );
}

#[test]
fn an_engine_of_capacity_zero_caches_nothing() {
    let engine = Engine::new(0);
    let verdict = engine.validate("+44 20 7183 8750", "");
    assert_eq!(*verdict, validate("+44 20 7183 8750", ""));
    assert_eq!(engine.validate("+44 20 7183 8750", ""), verdict);
    assert_eq!(engine.cached_verdicts(), 0);
}

#[test]
fn the_engine_cache_is_bounded() {
    let engine = Engine::new(50);
    for n in 0..500 {
        let verdict = engine.validate(&format!("+44 20 7183 {n:04}"), "");
        assert_eq!(verdict.e164, format!("+44207183{n:04}"));
    }
    assert!(
        engine.cached_verdicts() <= 50,
        "{}",
        engine.cached_verdicts()
    );
}

#[test]
fn warming_compiles_the_common_regions_and_the_rest_compile_on_demand() {
    // Every example number of every warm region and type is validated by `warm`.
    let warmed = warm();
    assert!(
        warmed > 4 * WARM_REGIONS.len(),
        "{warmed} example numbers for {} regions",
        WARM_REGIONS.len()
    );
    // Only those: each thread compiles the patterns of the regions it warms (WARM_REGIONS).
    assert!(
        warmed <= all_types().count() * WARM_REGIONS.len(),
        "{warmed}"
    );
    for code in WARM_REGIONS {
        assert!(Region::from_code(code).is_ok(), "{code} is a region");
    }
    // A region outside the list works the same, its patterns compiled on first use.
    let verdict = validate("+358 40 7391846", "");
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:?}");
    assert_eq!(verdict.region, "FI");
}

#[test]
fn redaction_keeps_only_the_country_code_and_two_digits() {
    assert_eq!(redact("+1 202 456 1111"), "+1 *** *** **11");
    assert_eq!(redact("+44 20 7183 8750"), "+44 *** *** **50");
    assert_eq!(redact("＋４４ ２０ ７１８３ ８７５０"), "+44 *** *** **50");
    assert_eq!(redact("+358 40 1234567"), "+358 *** *** **67");
    assert_eq!(redact("020 7183 8750"), "*** *** **50");
    assert_eq!(redact("+44 123"), "+44 ***");
    assert_eq!(redact("123"), "***");
    assert_eq!(redact(""), "***");
    assert!(!redact("+1 202 456 1111").contains("456"));
}

#[test]
fn no_reason_message_holds_the_number() {
    for (phone, country) in [
        ("+44 20 7183 8750", ""),
        ("020 7946 0018", "GB"),
        ("+1 123 456 7890", ""),
        ("+67210660", ""),
        ("020 7183 8750", ""),
    ] {
        for reason in v(phone, country).reasons {
            for digits in ["7183", "456", "7946", "10660"] {
                assert!(
                    !reason.message.contains(digits),
                    "{phone}: {}",
                    reason.message
                );
            }
        }
    }
}

#[test]
fn the_metadata_version_matches_cargo_lock_and_the_oracle() {
    let lock = include_str!("../../Cargo.lock");
    let locked = format!("name = \"rlibphonenumber\"\nversion = \"{RLIBPHONENUMBER_VERSION}\"");
    assert!(
        lock.contains(&locked),
        "rlibphonenumber is no longer {RLIBPHONENUMBER_VERSION}: read the metadata version in \
         its Readme, update METADATA_VERSION and metadata_version(), regenerate the fixture, \
         and copy its metadata with data/update-phone-metadata.sh"
    );
    let data = include_str!("../../data/README.md");
    assert!(
        data.contains(&format!("rlibphonenumber **{RLIBPHONENUMBER_VERSION}**"))
            && data.contains(&format!("release **{METADATA_VERSION}**")),
        "data/README.md names another release of data/phone_metadata.bin"
    );
    let fixture = include_str!("../../tests/data/phone_oracle.tsv");
    let header = fixture.lines().next().unwrap_or("");
    assert!(
        header.contains(&format!("metadata {METADATA_VERSION}")),
        "{header}"
    );
    assert_eq!(
        metadata_version(),
        format!("libphonenumber metadata v{METADATA_VERSION} (rlibphonenumber {RLIBPHONENUMBER_VERSION})")
    );
}

#[test]
fn the_extension_pattern_compiles() {
    assert!(extension_pattern().is_match(" ext. 12"));
}

#[test]
fn every_code_is_listed_once() {
    let unique: std::collections::HashSet<_> = codes::ALL.iter().collect();
    assert_eq!(unique.len(), codes::ALL.len());
    assert!(codes::ALL.iter().filter(|c| codes::is_fake(c)).count() == 5);
}

proptest! {
    #[test]
    fn no_input_panics(phone in "\\PC{0,80}", country in "\\PC{0,12}") {
        let verdict = validate(&phone, &country);
        check_sane(&verdict)?;
        let _ = redact(&phone);
    }

    #[test]
    fn phone_like_inputs_never_panic(
        phone in "[+＋]?[0-9０-９٠-٩۰-۹ ().#x-]{0,40}",
        country in "(US|GB|DE|IN|BR|RU|IT|AU|usa|Germany|)",
    ) {
        let verdict = validate(&phone, &country);
        check_sane(&verdict)?;
        let engine_verdict = engine().validate(&phone, &country);
        prop_assert_eq!(&*engine_verdict, &verdict);
        let redacted = redact(&phone);
        let digits = ascii_digits(&normalise(&phone).0);
        if digits.len() >= 6 {
            prop_assert!(!redacted.contains(&digits), "{} -> {}", phone, redacted);
        }
    }
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(1000))
}

/// What every verdict must be, whatever the input.
fn check_sane(verdict: &Verdict) -> Result<(), TestCaseError> {
    prop_assert!(!verdict.reasons.is_empty());
    if verdict.validity == Validity::Valid {
        prop_assert!(verdict.e164.starts_with('+'));
        prop_assert!(verdict.e164.len() <= 16, "{}", verdict.e164);
        prop_assert!(verdict.e164[1..].bytes().all(|b| b.is_ascii_digit()));
        prop_assert!(!verdict.region.is_empty());
        prop_assert!(verdict.country_code > 0);
        prop_assert!(verdict.number_type.is_some());
        prop_assert_eq!(verdict.reasons[0].code, codes::VALID);
    }
    if !verdict.e164.is_empty() {
        let prefix = format!("+{}", verdict.country_code);
        prop_assert!(
            verdict.e164.starts_with(&prefix),
            "{} vs {}",
            verdict.e164,
            prefix
        );
    }
    Ok(())
}

/// The fake rules split a number at its area code; the split is read off the formatted
/// number the verdict already has, and must be where libphonenumber itself puts it.
#[test]
fn area_code_split_is_libphonenumbers() {
    let fixture = include_str!("../../tests/data/phone_oracle.tsv");
    let mut checked = 0;
    for line in fixture.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.split('\t');
        let (Some(input), Some(hint), Some("valid")) = (cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let Ok(number) = PHONE_NUMBER_UTIL.parse(input, Region::from_code(hint).ok()) else {
            continue;
        };
        let international = number
            .format_as(PhoneNumberFormat::International)
            .into_owned();
        let ours = area_code_len(
            &PHONE_NUMBER_UTIL,
            &international,
            &number,
            number.get_type(),
        );
        assert_eq!(
            ours,
            number.get_length_of_national_destination_code(),
            "{input} ({hint}): {international}"
        );
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} valid rows");
}

#[test]
fn every_code_is_in_the_readme() {
    let readme = include_str!("../../docs/verdicts.md");
    let section = readme
        .split_once("## Phone verdicts")
        .and_then(|(_, rest)| rest.split_once("\n## "))
        .map(|(section, _)| section)
        .expect("docs/verdicts.md has a Phone verdicts section");
    for code in codes::ALL {
        assert!(
            section.contains(&format!("| `{code}` |")),
            "the phone table of docs/verdicts.md lacks `{code}`"
        );
    }
    assert!(
        section.contains(METADATA_VERSION),
        "docs/verdicts.md names the metadata version"
    );
}

/// The valid number's message names its type as the Debug form does.
#[test]
fn a_types_name_is_its_debug_form() {
    let types = all_types().chain([PhoneNumberType::FixedLineOrMobile, PhoneNumberType::Unknown]);
    let mut named = 0;
    for t in types {
        let kind = NumberType::from(t);
        assert_eq!(kind.name(), format!("{kind:?}"));
        named += 1;
    }
    assert_eq!(named, 12, "every type");
}

/// The forms lead forms really collect: each is read to the number meant, with a reason
/// saying how, or refused; none becomes another VALID number.
#[test]
fn messy_inputs_are_normalised_with_a_reason() {
    for (phone, country, e164, code) in [
        (
            "＋４４ ２０ ７１８３ ８７５０",
            "",
            "+442071838750",
            codes::NORMALISED_DIGITS,
        ),
        (
            "+٤٤ ٢٠ ٧١٨٣ ٨٧٥٠",
            "",
            "+442071838750",
            codes::NORMALISED_DIGITS,
        ),
        (
            "٠٢٠ ٧١٨٣ ٨٧٥٠",
            "GB",
            "+442071838750",
            codes::NORMALISED_DIGITS,
        ),
        (
            "0044 20 7183 8750",
            "",
            "+442071838750",
            codes::NORMALISED_INTERNATIONAL_PREFIX,
        ),
        (
            "011 44 20 7183 8750",
            "",
            "+442071838750",
            codes::NORMALISED_INTERNATIONAL_PREFIX,
        ),
        (
            "011 44 20 7183 8750",
            "US",
            "+442071838750",
            codes::NORMALISED_INTERNATIONAL_PREFIX,
        ),
        // 00 is not the US's prefix, but it is most of the world's.
        (
            "00 44 20 7183 8750",
            "US",
            "+442071838750",
            codes::NORMALISED_INTERNATIONAL_PREFIX,
        ),
        (
            "0044 20 7183 8750",
            "DE",
            "+442071838750",
            codes::NORMALISED_INTERNATIONAL_PREFIX,
        ),
        (
            "8 10 44 20 7183 8750",
            "RU",
            "+442071838750",
            codes::NORMALISED_INTERNATIONAL_PREFIX,
        ),
        (
            "+44 (0) 20 7183 8750",
            "",
            "+442071838750",
            codes::NORMALISED_TRUNK_PREFIX,
        ),
        (
            "+44 (0)20 7183 8750",
            "FR",
            "+442071838750",
            codes::NORMALISED_TRUNK_PREFIX,
        ),
        (
            "tel:+44-20-7183-8750",
            "",
            "+442071838750",
            codes::NORMALISED_TEL_URI,
        ),
        (
            "TEL:+1-202-456-1111;ext=12",
            "",
            "+12024561111",
            codes::NORMALISED_TEL_URI,
        ),
        (
            "tel:20-7183-8750;phone-context=+44",
            "",
            "+442071838750",
            codes::NORMALISED_TEL_URI,
        ),
        (
            "tel:+7-495-739-22-11;isub=12;foo=bar",
            "",
            "+74957392211",
            codes::NORMALISED_TEL_URI,
        ),
        (
            "1-800-FLOWERS",
            "US",
            "+18003569377",
            codes::NORMALISED_VANITY,
        ),
        (
            "+1-800-FLOWERS",
            "",
            "+18003569377",
            codes::NORMALISED_VANITY,
        ),
        (
            "+1 800 GO FEDEX",
            "",
            "+18004633339",
            codes::NORMALISED_VANITY,
        ),
        ("+1 202 456 1111 x12", "", "+12024561111", codes::EXTENSION),
        (
            "+1 202 456 1111 ext. 12",
            "",
            "+12024561111",
            codes::EXTENSION,
        ),
        ("+1 202 456 1111 #12", "", "+12024561111", codes::EXTENSION),
        (
            "+7 (495) 739-22-11 доб. 12",
            "",
            "+74957392211",
            codes::EXTENSION,
        ),
        (
            "+7 495 739-22-11 добавочный 1234",
            "",
            "+74957392211",
            codes::EXTENSION,
        ),
        (
            "+55 11 3071-5000 ramal 204",
            "",
            "+551130715000",
            codes::EXTENSION,
        ),
        (
            "+34 912 34 56 70 ext. 3",
            "",
            "+34912345670",
            codes::EXTENSION,
        ),
        (
            "+56 2 2958 1043 anexo 12",
            "",
            "+56229581043",
            codes::EXTENSION,
        ),
    ] {
        let verdict = v(phone, country);
        assert_eq!(
            verdict.validity,
            Validity::Valid,
            "{phone} {country}: {verdict:?}"
        );
        assert_eq!(verdict.e164, e164, "{phone} {country}");
        assert_eq!(first_code(&verdict), codes::VALID, "{phone}");
        assert!(
            has_code(&verdict, code),
            "{phone} {country}: {:?}",
            verdict.reasons
        );
    }
    // A plain number says none of them.
    let plain = v("+44 20 7183 8750", "");
    assert_eq!(plain.reasons.len(), 1, "{:?}", plain.reasons);
    // The digit reason is about digits: a full-width plus alone is not one.
    assert!(!has_code(
        &v("＋44 20 7183 8750", ""),
        codes::NORMALISED_DIGITS
    ));
    // Sheffield's 0114 is an area code, not the NANP's prefix, from the UK.
    let sheffield = v("0114 496 0123", "GB");
    assert!(
        !has_code(&sheffield, codes::NORMALISED_INTERNATIONAL_PREFIX),
        "{sheffield:?}"
    );
}

#[test]
fn two_numbers_in_one_field_are_refused_not_guessed() {
    for phone in [
        "+1 202 456 1111 / +1 212 736 5000",
        "+1 202 456 1111, +1 212 736 5000",
        "+44 20 7183 8750; +44 20 7946 0000",
        "+55 11 3071-5000 ou +55 11 96158-2043",
        "+7 495 739-22-11 или +7 912 408-52-17",
        "202 456 1111 or 212 736 5000",
        "+1 202 456 1111 | 212 736 5000",
    ] {
        let verdict = v(phone, "US");
        assert_eq!(verdict.validity, Validity::Invalid, "{phone}");
        assert_eq!(
            first_code(&verdict),
            codes::PARSE_SEVERAL_NUMBERS,
            "{phone}"
        );
        assert!(verdict.e164.is_empty());
    }
    // One number with its extension, or written with a slash after the area code, is one.
    for (phone, country) in [
        ("+1 202 456 1111, ext 12", ""),
        ("(202) 456-1111; x 1234567", "US"),
        ("030/2958 1043", "DE"),
    ] {
        assert_eq!(count_numbers(split_extension(phone).0), 1, "{phone}");
        assert_eq!(v(phone, country).validity, Validity::Valid, "{phone}");
    }
}

/// Messy forms go through the engine's cache as through `validate`: what reading changed
/// is part of the key, so a cached verdict never carries another input's reasons.
#[test]
fn the_cache_keeps_each_forms_reasons() {
    let engine = Engine::new(100);
    for _ in 0..2 {
        let plain = engine.validate("+44 20 7183 8750", "");
        let arabic = engine.validate("+٤٤ ٢٠ ٧١٨٣ ٨٧٥٠", "");
        assert_eq!(*plain, validate("+44 20 7183 8750", ""));
        assert_eq!(*arabic, validate("+٤٤ ٢٠ ٧١٨٣ ٨٧٥٠", ""));
        assert!(has_code(&arabic, codes::NORMALISED_DIGITS));
        assert!(!has_code(&plain, codes::NORMALISED_DIGITS));
    }
    assert_eq!(engine.cached_verdicts(), 2);
}
