//! Tests of the phone rules.

use super::*;
use proptest::prelude::*;

fn v(phone: &str, country: &str) -> Verdict {
    validate(phone, country)
}

fn first_code(verdict: &Verdict) -> &'static str {
    verdict.reasons.first().map_or("", |r| r.code)
}

#[test]
fn valid_numbers_are_filled_in() {
    let verdict = v("(202) 456-1111", "US");
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:?}");
    assert_eq!(verdict.e164, "+12024561111");
    assert_eq!(verdict.region, "US");
    assert_eq!(verdict.country_code, 1);
    assert_eq!(verdict.number_type, Some(NumberType::FixedLineOrMobile));
    assert_eq!(verdict.international, "+1 202-456-1111");
    assert_eq!(verdict.national, "(202) 456-1111");

    let verdict = v("+39 06 1234 5678", "");
    assert_eq!(verdict.e164, "+390612345678", "the Italian leading zero stays");
    assert_eq!(verdict.number_type, Some(NumberType::FixedLine));

    let verdict = v("+44 7400 123456", "");
    assert_eq!(verdict.number_type, Some(NumberType::Mobile));
}

#[test]
fn the_issues_phonenumber_crate_failures_are_right_here() {
    let verdict = v("+7 800 555 35 35", "");
    assert_eq!(verdict.e164, "+78005553535");
    assert_eq!(verdict.number_type, Some(NumberType::TollFree));
    let verdict = v("+43 1 234567890", "US");
    assert_eq!(verdict.e164, "+431234567890", "a + number ignores the US hint");
    assert_eq!(verdict.region, "AT");
}

#[test]
fn the_region_comes_from_the_country_in_any_form() {
    for country in ["GB", "gbr", "United Kingdom", "UK", "great britain"] {
        let verdict = v("020 7183 8750", country);
        assert_eq!(verdict.validity, Validity::Valid, "{country}");
        assert_eq!(verdict.e164, "+442071838750", "{country}");
    }
    let verdict = v("020 7183 8750", "");
    assert_eq!(verdict.validity, Validity::Unknown);
    assert_eq!(first_code(&verdict), codes::PARSE_NO_REGION);
    let verdict = v("020 7183 8750", "Atlantis");
    assert_eq!(first_code(&verdict), codes::PARSE_NO_REGION);
    // Regions libphonenumber has beyond ISO 3166-1: Kosovo, Ascension, Tristan da Cunha.
    assert_eq!(v("043 201 234", "XK").region, "XK");
}

#[test]
fn international_prefixes_and_trunk_zeros_work() {
    for (phone, country) in [
        ("0044 20 7183 8750", "DE"),
        ("011 44 20 7183 8750", "US"),
        ("+44 (0)20 7183 8750", ""),
        ("+44 20 7183 8750", "FR"),
    ] {
        let verdict = v(phone, country);
        assert_eq!(verdict.e164, "+442071838750", "{phone} {country}: {verdict:?}");
        assert_eq!(verdict.validity, Validity::Valid);
    }
}

#[test]
fn guards_refuse_what_libphonenumber_would_bend() {
    let verdict = v("+1-800-FLOWERS", "US");
    assert_eq!((verdict.validity, first_code(&verdict)), (Validity::Invalid, codes::PARSE_LETTERS));
    let verdict = v(&"1".repeat(MAX_INPUT_CHARS + 1), "US");
    assert_eq!(first_code(&verdict), codes::PARSE_TOO_LONG);
    // Full-width and Arabic-Indic digits are digits.
    let verdict = v("＋４４ ２０ ７１８３ ８７５０", "");
    assert_eq!(verdict.e164, "+442071838750", "{verdict:?}");
    let verdict = v("+٤٤ ٢٠ ٧١٨٣ ٨٧٥٠", "");
    assert_eq!(verdict.e164, "+442071838750", "{verdict:?}");
    // An extension is accepted and kept out of E.164.
    let verdict = v("+1 202 456 1111 ext. 12", "");
    assert_eq!(verdict.validity, Validity::Valid);
    assert_eq!(verdict.e164, "+12024561111");
    assert!(verdict.reasons.iter().any(|r| r.code == codes::EXTENSION));
    assert!(!same_digits("+1 202 456 11111", "+12024561111"));
    assert!(same_digits("+44 (0)20 7183 8750", "+442071838750"));
}

#[test]
fn invalid_numbers_say_why() {
    assert_eq!(first_code(&v("+44 20", "")), codes::LENGTH_TOO_SHORT);
    // A local-only length (no area code) is possible but not a valid number.
    assert_eq!(first_code(&v("+44 20 7183", "")), codes::INVALID_FOR_REGION);
    assert_eq!(first_code(&v("+44 20 7183 8750 1234", "")), codes::LENGTH_TOO_LONG);
    assert_eq!(first_code(&v("+999 1234 5678", "")), codes::PARSE_BAD_COUNTRY_CODE);
    assert_eq!(first_code(&v("+1 123 456 7890", "")), codes::INVALID_FOR_REGION);
    assert_eq!(first_code(&v("--", "US")), codes::PARSE_FAILED);
    assert_eq!(first_code(&v("   ", "US")), codes::MISSING);
    assert_eq!(v("   ", "US").validity, Validity::Unknown);
}

#[test]
fn fake_numbers_libphonenumber_accepts_are_invalid() {
    for (phone, country, code) in [
        ("(202) 555-0143", "US", codes::FAKE_FICTIONAL_NANP),
        ("+1 212 555 0100", "", codes::FAKE_FICTIONAL_NANP),
        ("020 7946 0018", "GB", codes::FAKE_FICTIONAL_OFCOM),
        ("0113 496 0123", "GB", codes::FAKE_FICTIONAL_OFCOM),
        ("0808 157 0123", "GB", codes::FAKE_FICTIONAL_OFCOM),
        ("+61 1800 975 707", "", codes::FAKE_FICTIONAL_ACMA),
        ("(02) 5550 1234", "AU", codes::FAKE_FICTIONAL_ACMA),
        ("0491 570 006", "AU", codes::FAKE_FICTIONAL_ACMA),
        ("+7 999 999 99 99", "", codes::FAKE_REPEATED),
        ("06 66 66 66 66", "France", codes::FAKE_REPEATED),
    ] {
        let verdict = v(phone, country);
        assert_eq!(verdict.validity, Validity::Invalid, "{phone}: {verdict:?}");
        assert_eq!(first_code(&verdict), code, "{phone}");
        assert!(!verdict.e164.is_empty(), "a fake number is still described");
    }
}

#[test]
fn the_engine_caches_and_agrees_with_the_function() {
    let engine = Engine::new(100);
    let a = engine.validate("+44 20 7183 8750", "");
    let b = engine.validate(" +44 20 7183 8750 ", "");
    assert_eq!(a, b);
    assert_eq!(a, validate("+44 20 7183 8750", ""));
    assert_eq!(engine.cached_verdicts(), 1);
}

#[test]
fn redaction_keeps_only_the_country_code_and_two_digits() {
    assert_eq!(redact("+1 202 456 1111"), "+1 *** *** **11");
    assert_eq!(redact("+44 20 7183 8750"), "+44 *** *** **50");
    assert_eq!(redact("020 7183 8750"), "*** *** **50");
    assert_eq!(redact("123"), "***");
    assert!(!redact("+1 202 456 1111").contains("456"));
}

#[test]
fn the_metadata_version_matches_cargo_lock_and_the_oracle() {
    let lock = include_str!("../../Cargo.lock");
    assert!(
        lock.contains("name = \"rlibphonenumber\"\nversion = \"2.2.15\""),
        "rlibphonenumber changed: update METADATA_VERSION and regenerate the fixture"
    );
    let fixture = include_str!("../../tests/data/phone_oracle.tsv");
    assert!(fixture.lines().next().unwrap_or("").contains(METADATA_VERSION));
    assert!(metadata_version().contains(METADATA_VERSION));
}

proptest! {
    #[test]
    fn no_input_panics(phone in "\\PC{0,80}", country in "\\PC{0,12}") {
        let verdict = validate(&phone, &country);
        if verdict.validity == Validity::Valid {
            prop_assert!(verdict.e164.starts_with('+'));
            prop_assert!(!verdict.region.is_empty());
        }
    }

    #[test]
    fn phone_like_inputs_never_panic(phone in "[+]?[0-9０-９٠-٩ ().#x-]{0,40}", country in "(US|GB|DE|IN|BR|RU|)") {
        let verdict = validate(&phone, &country);
        if verdict.validity == Validity::Valid {
            let digits: String = verdict.e164.chars().filter(char::is_ascii_digit).collect();
            prop_assert!(digits.len() <= 15);
        }
    }
}
