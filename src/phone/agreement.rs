//! Agreement with Google's libphonenumber: the oracle fixture (tests/data/phone_oracle.tsv,
//! made by scripts/gen_phone_fixture.py from PyPI `phonenumbers`) replayed through our
//! engine. Compared before our own rules: validity, E.164, region and type.
//!
//! Deliberate differences:
//! - fake-number rules (`fake.*`): libphonenumber calls fictional ranges valid; we do not.
//!   They run after this comparison, so they never count against agreement; the test
//!   reports how many oracle-valid numbers they catch.
//! - the digits guard (`parse.digits_mismatch`): for a `+` number whose parse changes the
//!   digits given, libphonenumber answers with other digits (`+241 060312347` becomes
//!   `+241 60312347`, a national prefix dropped after the country code; `+672 10660`
//!   becomes `+672 310660`, a digit inserted); we refuse them. They count as
//!   disagreements, and the test names each.

use super::*;

const FIXTURE: &str = include_str!("../../tests/data/phone_oracle.tsv");

fn type_name(t: Option<NumberType>) -> &'static str {
    match t {
        None => "",
        Some(NumberType::FixedLine) => "FIXED_LINE",
        Some(NumberType::Mobile) => "MOBILE",
        Some(NumberType::FixedLineOrMobile) => "FIXED_LINE_OR_MOBILE",
        Some(NumberType::TollFree) => "TOLL_FREE",
        Some(NumberType::PremiumRate) => "PREMIUM_RATE",
        Some(NumberType::SharedCost) => "SHARED_COST",
        Some(NumberType::Voip) => "VOIP",
        Some(NumberType::PersonalNumber) => "PERSONAL_NUMBER",
        Some(NumberType::Pager) => "PAGER",
        Some(NumberType::Uan) => "UAN",
        Some(NumberType::Voicemail) => "VOICEMAIL",
        Some(NumberType::Unknown) => "UNKNOWN",
    }
}

#[test]
fn agrees_with_libphonenumber_on_at_least_999_in_1000() {
    let mut total = 0usize;
    let mut agree = 0usize;
    let mut fakes = 0usize;
    let mut regions = std::collections::HashSet::new();
    let mut disagreements = Vec::new();
    let mut guarded = Vec::new();
    for line in FIXTURE.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [input, hint, verdict, e164, region, kind] = cols[..] else {
            panic!("bad fixture line {line:?}");
        };
        total += 1;
        let checked = check(input, hint);
        let ours = &checked.verdict;
        let ours_verdict = match ours.validity {
            Validity::Valid => "valid",
            Validity::Invalid if ours.e164.is_empty() => "error",
            _ => "invalid",
        };
        let same = match verdict {
            "valid" => {
                regions.insert(region);
                ours_verdict == "valid"
                    && ours.e164 == e164
                    && ours.region == region
                    && type_name(ours.number_type) == kind
            }
            // The oracle could parse it but calls it invalid: so must we (with or without
            // an E.164 form: our guards may stop it before parsing).
            "invalid" | "error" => ours_verdict != "valid",
            other => panic!("unknown oracle verdict {other}"),
        };
        if same {
            agree += 1;
            if verdict == "valid" && checked.finish().validity == Validity::Invalid {
                fakes += 1;
            }
        } else if ours.reasons.iter().any(|r| r.code == codes::PARSE_DIGITS_MISMATCH) {
            guarded.push(line.to_string());
            disagreements.push(line.to_string());
        } else {
            disagreements.push(format!("{line} => ours {ours_verdict} {} {} {:?}", ours.e164, ours.region, ours.number_type));
        }
    }
    let rate = agree as f64 / total as f64;
    println!(
        "agreement {agree}/{total} = {:.4}%, {} regions with valid examples, {fakes} oracle-valid numbers caught by fake rules, {} refused by the digits guard",
        rate * 100.0,
        regions.len(),
        guarded.len()
    );
    for d in disagreements.iter().take(20) {
        println!("  {d}");
    }
    assert!(total > 5000, "the fixture is too small: {total}");
    assert!(regions.len() > 240, "too few regions: {}", regions.len());
    assert!(rate >= 0.999, "agreement {rate:.5} < 0.999; first: {:?}", disagreements.first());
}
