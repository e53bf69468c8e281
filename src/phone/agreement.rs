//! Agreement with Google's libphonenumber: the oracle fixture (tests/data/phone_oracle.tsv,
//! made by scripts/gen_phone_fixture.py from PyPI `phonenumbers`, the same metadata
//! release) replayed through [`validate`].
//!
//! Compared, as libphonenumber decides them (before our fake-number rules): validity, E.164,
//! region and number type. A row agrees when
//! - the oracle says valid, and we say VALID, or INVALID by a `fake.*` rule alone, with
//!   the same E.164, region and type;
//! - the oracle says invalid (or cannot parse), and we do not say valid, with the same
//!   E.164 when both parsed.
//!
//! Deliberate differences:
//! - fake-number rules (`fake.*`): libphonenumber calls fictional ranges, repeated digits
//!   and straight runs valid; we say INVALID. Not counted against agreement, since the
//!   number is otherwise judged exactly as libphonenumber does; listed by the test.
//! - the digits guard (`parse.digits_mismatch`): for a `+` number whose parse changes the
//!   digits given, libphonenumber answers with other digits (`+241 060312347` becomes
//!   `+241 60312347`, a national prefix dropped after the country code; `+672 10660`
//!   becomes `+672 310660`, a digit inserted); we refuse them. They count as
//!   disagreements, and the test names each: [`GUARDED`].

use std::collections::{BTreeMap, BTreeSet};

use super::*;

const FIXTURE: &str = include_str!("../../tests/data/phone_oracle.tsv");

/// Oracle-valid rows the digits guard refuses: each the oracle's own one-digit-long or
/// one-digit-short variant of an example number, which libphonenumber's metadata rewrites
/// into a different valid number.
const GUARDED: &[&str] = &["+241060312347", "+67210660"];

/// libphonenumber's name of a type, as the fixture has it.
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

/// One fixture row.
struct Row<'a> {
    input: &'a str,
    hint: &'a str,
    verdict: &'a str,
    e164: &'a str,
    region: &'a str,
    kind: &'a str,
}

fn rows() -> impl Iterator<Item = Row<'static>> {
    FIXTURE.lines().filter(|l| !l.starts_with('#')).map(|line| {
        let cols: Vec<&str> = line.split('\t').collect();
        let [input, hint, verdict, e164, region, kind] = cols[..] else {
            panic!("bad fixture line {line:?}");
        };
        Row {
            input,
            hint,
            verdict,
            e164,
            region,
            kind,
        }
    })
}

#[test]
fn agrees_with_libphonenumber_on_at_least_999_in_1000() {
    let mut total = 0usize;
    let mut agree = 0usize;
    let mut regions = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    let mut fakes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut guarded = Vec::new();
    let mut disagreements = Vec::new();
    for row in rows() {
        total += 1;
        let ours = validate(row.input, row.hint);
        let fake = ours
            .reasons
            .first()
            .map(|r| r.code)
            .filter(|c| codes::is_fake(c));
        // Our verdict as libphonenumber's, before the fake-number rules.
        let ours_valid = ours.validity == Validity::Valid || fake.is_some();
        let same = match row.verdict {
            "valid" => {
                regions.insert(row.region);
                kinds.insert(row.kind);
                ours_valid
                    && ours.e164 == row.e164
                    && ours.region == row.region
                    && type_name(ours.number_type) == row.kind
            }
            "invalid" | "error" => {
                !ours_valid
                    && (ours.e164.is_empty() || row.e164.is_empty() || ours.e164 == row.e164)
            }
            other => panic!("unknown oracle verdict {other}"),
        };
        if same {
            agree += 1;
            if let Some(code) = fake {
                fakes.entry(code).or_default().push(row.input.to_string());
            }
        } else if ours
            .reasons
            .iter()
            .any(|r| r.code == codes::PARSE_DIGITS_MISMATCH)
        {
            guarded.push(row.input);
        } else {
            disagreements.push(format!(
                "{} [{}]: oracle {} {} {} {}; ours {:?} {} {} {:?} {:?}",
                row.input,
                row.hint,
                row.verdict,
                row.e164,
                row.region,
                row.kind,
                ours.validity,
                ours.e164,
                ours.region,
                ours.number_type,
                ours.reasons.first().map(|r| r.code),
            ));
        }
    }
    let rate = agree as f64 / total as f64;
    let caught: usize = fakes.values().map(Vec::len).sum();
    println!(
        "agreement {agree}/{total} = {:.3}% over {} regions; {caught} oracle-valid numbers \
         caught by fake rules; {} refused by the digits guard",
        rate * 100.0,
        regions.len(),
        guarded.len()
    );
    for (code, inputs) in &fakes {
        println!("  {code}: {} ({})", inputs.len(), inputs.join(", "));
    }
    for d in &disagreements {
        println!("  disagreement: {d}");
    }
    assert!(total > 5000, "the fixture is too small: {total}");
    assert!(
        regions.len() > 240,
        "too few regions with valid examples: {}",
        regions.len()
    );
    let all_types = [
        "FIXED_LINE",
        "MOBILE",
        "FIXED_LINE_OR_MOBILE",
        "TOLL_FREE",
        "PREMIUM_RATE",
        "SHARED_COST",
        "VOIP",
        "PERSONAL_NUMBER",
        "PAGER",
        "UAN",
        "VOICEMAIL",
    ];
    assert_eq!(
        kinds,
        all_types.into_iter().collect(),
        "every type is in the fixture"
    );
    assert_eq!(guarded, GUARDED, "the digits guard's differences changed");
    assert!(
        rate >= 0.999,
        "agreement {rate:.5} < 0.999: {disagreements:#?}"
    );
}

#[test]
fn the_fixture_covers_every_format_and_variant() {
    let valid_e164 = rows()
        .filter(|r| r.verdict == "valid" && r.input.starts_with('+'))
        .count();
    let national = rows().filter(|r| !r.hint.is_empty()).count();
    let international = rows()
        .filter(|r| r.input.starts_with('+') && r.input.contains(' '))
        .count();
    let invalid = rows().filter(|r| r.verdict != "valid").count();
    assert!(valid_e164 > 1000, "{valid_e164}");
    assert!(national > 1000, "{national}");
    assert!(international > 1000, "{international}");
    assert!(invalid > 1000, "{invalid}");
}
