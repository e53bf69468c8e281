//! Tests of LeadSource parsing.

use super::*;
use proptest::prelude::*;

fn codes_of(s: &LeadSource) -> Vec<&'static str> {
    s.reasons.iter().map(|r| r.code).collect()
}

/// Parses and asserts the source, action and offer ids.
#[track_caller]
fn check(raw: &str, source: Source, action: Action, publisher: &str, offer: &str) -> LeadSource {
    let s = parse(raw);
    assert_eq!(
        (s.source, s.action),
        (source, action),
        "{raw:?}: {:?}",
        s.reasons
    );
    assert_eq!(
        (s.publisher_id.as_str(), s.offer_id.as_str()),
        (publisher, offer),
        "{raw:?}"
    );
    assert_eq!(s.raw, raw, "the raw string is kept as given");
    s
}

#[test]
fn every_source_and_action_of_the_seeds_parses() {
    use Action::*;
    use Source::*;
    // The seeds' sources and actions, with their three example offers and the issue's.
    let cases = [
        (
            "AzureMarketplace-INS | checkpoint.check-point-r77-10sg-byol",
            AzureMarketplace,
            Install,
            "checkpoint",
            "check-point-r77-10sg-byol",
        ),
        (
            "AzurePortal-Create | bitnami.openedxcypress",
            AzurePortal,
            Create,
            "bitnami",
            "openedxcypress",
        ),
        (
            "AppSource (SPZA)-PLT | docusign.3701c77e-1cfa-4c56-91e6-3ed0b622145",
            AppSource,
            PartnerLedTrial,
            "docusign",
            "3701c77e-1cfa-4c56-91e6-3ed0b622145",
        ),
        (
            "AppSource (SPZA)-StartTestDrive | contoso.crm-addon",
            AppSource,
            StartTestDrive,
            "contoso",
            "crm-addon",
        ),
        (
            "AppSource (SPZA)-DNC | contoso.crm-addon",
            AppSource,
            DoNotContact,
            "contoso",
            "crm-addon",
        ),
        (
            "AppSource (SPZA)-INS | docusign.3701c77e-1cfa-4c56-91e6-3ed0b622145",
            AppSource,
            Install,
            "docusign",
            "3701c77e-1cfa-4c56-91e6-3ed0b622145",
        ),
        (
            "AzureMarketplace-StartTestDrive | bitnami.openedxcypress",
            AzureMarketplace,
            StartTestDrive,
            "bitnami",
            "openedxcypress",
        ),
        // The offer splits at its first dot only.
        (
            "AzurePortal-Create | a.b.c",
            AzurePortal,
            Create,
            "a",
            "b.c",
        ),
    ];
    for (raw, source, action, publisher, offer) in cases {
        let s = check(raw, source, action, publisher, offer);
        assert!(s.reasons.is_empty(), "{raw}: {:?}", s.reasons);
    }
}

#[test]
fn spacing_case_and_dashes_are_tolerated() {
    use Action::*;
    use Source::*;
    let cases = [
        (
            "azuremarketplace-ins|x.y",
            AzureMarketplace,
            Install,
            "x",
            "y",
        ),
        (
            "  AzureMarketplace - INS |  x.y ",
            AzureMarketplace,
            Install,
            "x",
            "y",
        ),
        (
            "AZUREMARKETPLACE-Ins | x.y",
            AzureMarketplace,
            Install,
            "x",
            "y",
        ),
        (
            "Azure Marketplace-INS | x.y",
            AzureMarketplace,
            Install,
            "x",
            "y",
        ),
        (
            "Azure-Marketplace-INS | x.y",
            AzureMarketplace,
            Install,
            "x",
            "y",
        ),
        ("azure portal - create | x.y", AzurePortal, Create, "x", "y"),
        ("AppSource-PLT | x.y", AppSource, PartnerLedTrial, "x", "y"),
        (
            "AppSource(SPZA)-plt | x.y",
            AppSource,
            PartnerLedTrial,
            "x",
            "y",
        ),
        (
            "appsource ( spza ) - dnc | x.y",
            AppSource,
            DoNotContact,
            "x",
            "y",
        ),
        ("SPZA-INS | x.y", AppSource, Install, "x", "y"),
        (
            "AppSource-Start Test Drive | x.y",
            AppSource,
            StartTestDrive,
            "x",
            "y",
        ),
        (
            "AppSource – StartTestDrive | x.y",
            AppSource,
            StartTestDrive,
            "x",
            "y",
        ),
        (
            "AzurePortal\t-\tCreate\t|\tx.y",
            AzurePortal,
            Create,
            "x",
            "y",
        ),
        ("AzurePortal-Create | x . y", AzurePortal, Create, "x", "y"),
        // Ids keep their case, only trimmed.
        (
            "AppSource-starttestdrive | Contoso.CRM-Addon ",
            AppSource,
            StartTestDrive,
            "Contoso",
            "CRM-Addon",
        ),
    ];
    for (raw, source, action, publisher, offer) in cases {
        let s = check(raw, source, action, publisher, offer);
        assert!(s.reasons.is_empty(), "{raw:?}: {:?}", s.reasons);
    }
}

#[test]
fn unknown_parts_are_unspecified_with_a_reason_and_the_rest_is_kept() {
    let s = check(
        "Bing-INS | a.b",
        Source::Unspecified,
        Action::Install,
        "a",
        "b",
    );
    assert_eq!(codes_of(&s), [codes::SOURCE_UNKNOWN_SOURCE]);
    assert!(s.reasons[0].message.contains("\"Bing\""), "{:?}", s.reasons);

    let s = check(
        "AzurePortal-Buy | a.b",
        Source::AzurePortal,
        Action::Unspecified,
        "a",
        "b",
    );
    assert_eq!(codes_of(&s), [codes::SOURCE_UNKNOWN_ACTION]);
    assert!(s.reasons[0].message.contains("\"Buy\""), "{:?}", s.reasons);

    let s = check(
        "Bing-Buy | a.b",
        Source::Unspecified,
        Action::Unspecified,
        "a",
        "b",
    );
    assert_eq!(
        codes_of(&s),
        [codes::SOURCE_UNKNOWN_SOURCE, codes::SOURCE_UNKNOWN_ACTION]
    );
}

/// A LeadSource the parser cannot fully read: what it reads, and the codes it gives.
type Partial = (
    &'static str,
    Source,
    Action,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Checks each case's parts and reason codes.
#[track_caller]
fn check_all(cases: &[Partial]) {
    for &(raw, source, action, publisher, offer, expected) in cases {
        let s = check(raw, source, action, publisher, offer);
        assert_eq!(codes_of(&s), expected, "{raw:?}");
    }
}

#[test]
fn a_missing_offer_keeps_source_and_action() {
    use codes::*;
    use Action::*;
    use Source::*;
    check_all(&[
        (
            "AzurePortal-Create",
            AzurePortal,
            Create,
            "",
            "",
            &[SOURCE_MISSING_OFFER],
        ),
        (
            "AzurePortal-Create |  ",
            AzurePortal,
            Create,
            "",
            "",
            &[SOURCE_MISSING_OFFER],
        ),
        // The `|` is missing but the offer is there: read it, report the missing `|`.
        (
            "AzureMarketplace-INS checkpoint.check-point-r77-10sg-byol",
            AzureMarketplace,
            Install,
            "checkpoint",
            "check-point-r77-10sg-byol",
            &[SOURCE_MALFORMED],
        ),
    ]);
}

#[test]
fn malformed_offers_are_reported() {
    for (raw, why) in [
        ("AzurePortal-Create | nodot", "no dot"),
        ("AzurePortal-Create | .offer", "empty side"),
        ("AzurePortal-Create | publisher.", "empty side"),
        ("AzurePortal-Create | my publisher.offer", "spaces"),
        ("AzurePortal-Create | a.b | c.d", "second `|`"),
    ] {
        let s = check(raw, Source::AzurePortal, Action::Create, "", "");
        assert_eq!(codes_of(&s), [codes::SOURCE_OFFER_MALFORMED], "{raw}");
        assert!(s.reasons[0].message.contains(why), "{raw}: {:?}", s.reasons);
    }
}

#[test]
fn malformed_strings_are_reported_and_what_can_be_read_is_kept() {
    use codes::*;
    use Action::{Create, PartnerLedTrial};
    use Source::{AppSource, AzurePortal};
    const NONE: (Source, Action) = (Source::Unspecified, Action::Unspecified);
    let long = "AzurePortal-Create | a.b".repeat(30);
    check_all(&[
        ("", NONE.0, NONE.1, "", "", &[SOURCE_MISSING]),
        // Blank is missing, not malformed.
        (" \t ", NONE.0, NONE.1, "", "", &[SOURCE_MISSING]),
        (
            "garbage",
            NONE.0,
            NONE.1,
            "",
            "",
            &[SOURCE_MALFORMED, SOURCE_MISSING_OFFER],
        ),
        // No hyphen, but the parts are recognisable.
        (
            "AppSource PLT | a.b",
            AppSource,
            PartnerLedTrial,
            "a",
            "b",
            &[SOURCE_MALFORMED],
        ),
        (
            "AzurePortal | a.b",
            AzurePortal,
            NONE.1,
            "a",
            "b",
            &[SOURCE_MALFORMED],
        ),
        ("| a.b", NONE.0, NONE.1, "a", "b", &[SOURCE_MALFORMED]),
        (
            "AzurePortal- | a.b",
            AzurePortal,
            NONE.1,
            "a",
            "b",
            &[SOURCE_MALFORMED],
        ),
        (
            "-Create | a.b",
            NONE.0,
            Create,
            "a",
            "b",
            &[SOURCE_MALFORMED],
        ),
        (
            "-|",
            NONE.0,
            NONE.1,
            "",
            "",
            &[SOURCE_MALFORMED, SOURCE_MALFORMED, SOURCE_MISSING_OFFER],
        ),
        // Control characters: reported, nothing read.
        (
            "AzurePortal-Create\u{0} | a.b",
            NONE.0,
            NONE.1,
            "",
            "",
            &[SOURCE_MALFORMED],
        ),
        (
            "AzurePortal-Create\u{1b}[31m | a.b",
            NONE.0,
            NONE.1,
            "",
            "",
            &[SOURCE_MALFORMED],
        ),
    ]);
    // Over-long: reported, nothing read.
    let s = check(&long, NONE.0, NONE.1, "", "");
    assert_eq!(codes_of(&s), [SOURCE_MALFORMED]);
    assert!(s.reasons[0].message.contains("512"), "{:?}", s.reasons);
}

#[test]
fn reasons_never_quote_contact_data_or_long_input() {
    let s = parse("ana.garcia@contoso.com-INS | a.b");
    assert_eq!(codes_of(&s), [codes::SOURCE_UNKNOWN_SOURCE]);
    assert!(!s.reasons[0].message.contains('@'), "{:?}", s.reasons);
    let s = parse("AzurePortal-+1 202 555 0143 | a.b");
    assert_eq!(codes_of(&s), [codes::SOURCE_UNKNOWN_ACTION]);
    assert!(!s.reasons[0].message.contains("555"), "{:?}", s.reasons);
    let s = parse(&format!("{}-INS | a.b", "x".repeat(200)));
    assert!(s.reasons[0].message.len() < 200, "{:?}", s.reasons);
}

#[test]
fn reasons_quote_the_input_in_its_debug_form() {
    // The plain-ASCII shortcut and the `Debug` fallback must write the same quote.
    let long = "y".repeat(60);
    let cut_unicode = format!("{}é", "ü".repeat(45));
    let pieces = [
        "Google".to_string(),
        "Google Ads".to_string(),
        "it's".to_string(),
        "say \"hi\"".to_string(),
        "back\\slash".to_string(),
        "tab\tin".to_string(),
        "Маркетплейс".to_string(),
        "\u{301}accent first".to_string(),
        long.clone(),
        cut_unicode.clone(),
    ];
    for piece in &pieces {
        let message = parse(&format!("{piece}-INS | a.b")).reasons[0]
            .message
            .clone();
        let shown: String = piece.chars().take(QUOTE_LEN).collect();
        let shown = if shown.len() < piece.len() {
            format!("{shown}…")
        } else {
            shown
        };
        assert_eq!(
            message,
            format!(
                "unknown source {shown:?}: expected AzureMarketplace, AzurePortal or AppSource (SPZA)"
            ),
            "{piece}"
        );
    }
    // What follows the quote, on the offer's reason.
    assert_eq!(
        parse("AzurePortal-INS | a b.c").reasons[0].message,
        "the offer \"a b.c\" holds spaces: expected `publisherid.offerid`"
    );
    assert_eq!(
        parse("AzurePortal INS").reasons[0].message,
        "\"AzurePortal INS\" is not `Source-Action`: no hyphen between source and action"
    );
}

/// One of the spellings a source or action may arrive in, with its meaning.
fn spelling<T: Copy + std::fmt::Debug + 'static>(
    names: &'static [(&'static str, T)],
) -> impl Strategy<Value = (String, T)> {
    (0..names.len(), any::<u64>(), "[ \t]{0,2}", "[ \t]{0,2}").prop_map(
        move |(i, case_bits, before, after)| {
            let (name, value) = names[i % names.len()];
            // Flip the case of letters by the bits of `case_bits`.
            let cased: String = name
                .chars()
                .enumerate()
                .map(|(k, c)| {
                    if case_bits >> (k % 64) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect();
            (format!("{before}{cased}{after}"), value)
        },
    )
}

const SOURCES: &[(&str, Source)] = &[
    ("AzureMarketplace", Source::AzureMarketplace),
    ("AzurePortal", Source::AzurePortal),
    ("AppSource (SPZA)", Source::AppSource),
    ("AppSource", Source::AppSource),
];

const ACTIONS: &[(&str, Action)] = &[
    ("INS", Action::Install),
    ("PLT", Action::PartnerLedTrial),
    ("DNC", Action::DoNotContact),
    ("Create", Action::Create),
    ("StartTestDrive", Action::StartTestDrive),
];

proptest! {
    #[test]
    fn no_input_panics(raw in "\\PC{0,80}|[A-Za-z (|).\\-–\t\u{0}]{0,60}|.{500,600}") {
        let s = parse(&raw);
        prop_assert_eq!(&s.raw, &raw);
        if s.reasons.is_empty() {
            prop_assert!(s.source != Source::Unspecified && s.action != Action::Unspecified);
            prop_assert!(!s.publisher_id.is_empty() && !s.offer_id.is_empty());
        }
        if s.source == Source::Unspecified {
            prop_assert!(!s.reasons.is_empty());
        }
    }

    #[test]
    fn any_spelling_of_a_valid_source_reads_back(
        (source_text, source) in spelling(SOURCES),
        (action_text, action) in spelling(ACTIONS),
        publisher in "[a-z][a-z0-9_-]{0,20}",
        offer in "[a-z0-9][a-z0-9.-]{0,40}",
        space in "[ ]{0,2}",
    ) {
        let raw = format!("{source_text}-{action_text}{space}|{space}{publisher}.{offer}");
        let s = parse(&raw);
        prop_assert!(s.reasons.is_empty(), "{:?}: {:?}", raw, s.reasons);
        prop_assert_eq!((s.source, s.action), (source, action));
        prop_assert_eq!((s.publisher_id, s.offer_id), (publisher, offer));
    }
}

/// How a name was recognised before `Squashed`, a character at a time, with no length
/// limit: the oracle of the property below.
fn squashes_to(text: &str, word: &str) -> bool {
    text.chars()
        .filter(|c| !c.is_whitespace() && !is_dash(*c) && *c != '_')
        .flat_map(char::to_lowercase)
        .eq(word.chars())
}

fn recognised_by_the_oracle<T: Copy>(text: &str, names: &[(&str, T)]) -> Option<T> {
    names
        .iter()
        .find(|(name, _)| squashes_to(text, name))
        .map(|&(_, value)| value)
}

/// A recognised name, its letters in any case, with spacing, dashes, underscores, the
/// Kelvin sign (which lower-cases to `k`) and letters that lower-case to no ASCII strewn
/// in, and sometimes a tail that makes it too long.
fn mangled_name() -> impl Strategy<Value = String> {
    let names: Vec<&'static str> = super::SOURCES
        .iter()
        .map(|(name, _)| *name)
        .chain(super::ACTIONS.iter().map(|(name, _)| *name))
        .collect();
    (
        prop::sample::select(names),
        prop::collection::vec(0..24u8, 24),
        "|x|\u{212A}|[a-z]{1,3}",
    )
        .prop_map(|(name, noise, tail)| {
            let mut text = String::new();
            for (c, n) in name.chars().zip(noise) {
                match n {
                    4 => text.push(' '),
                    5 => text.push('\u{2013}'),
                    6 => text.push('_'),
                    7 => text.push('\t'),
                    8 => text.push('\u{130}'),
                    _ => {}
                }
                match n {
                    9 | 10 => text.push(c.to_ascii_uppercase()),
                    11 if c == 'k' => text.push('\u{212A}'),
                    12 if c == 'a' => text.push('\u{e1}'),
                    _ => text.push(c),
                }
            }
            text + &tail
        })
}

proptest! {
    #[test]
    fn names_are_recognised_as_a_character_at_a_time(
        text in prop_oneof![mangled_name(), "\\PC{0,20}"],
    ) {
        prop_assert_eq!(source_of(&text), recognised_by_the_oracle(&text, super::SOURCES));
        prop_assert_eq!(action_of(&text), recognised_by_the_oracle(&text, super::ACTIONS));
    }
}

#[test]
fn the_kelvin_sign_spells_a_k_and_other_letters_no_ascii() {
    assert_eq!(
        source_of("Azure Mar\u{212A}etplace"),
        Some(Source::AzureMarketplace)
    );
    assert_eq!(source_of("Azure Portal\u{e9}"), None);
    assert_eq!(source_of("\u{130}AzurePortal"), None);
    assert_eq!(source_of("azure marketplace azure"), None, "too long");
}

#[test]
fn control_characters_are_found_byte_by_byte_as_by_char() {
    for b in 0..=0x7fu8 {
        let c = char::from(b);
        let text = format!("Azure{c}Portal");
        assert_eq!(
            holds_control(&text),
            c.is_control() && !c.is_whitespace(),
            "{b:#04x}"
        );
    }
    assert!(holds_control("Azure\u{85}\u{9f}"));
    assert!(!holds_control("Azure\u{85}Portal é"));
}

#[test]
fn every_name_fits_the_squashed_buffer() {
    let names = super::SOURCES
        .iter()
        .map(|(name, _)| *name)
        .chain(super::ACTIONS.iter().map(|(name, _)| *name));
    for name in names {
        assert!(
            name.len() <= LONGEST_NAME,
            "{name} is longer than LONGEST_NAME"
        );
        assert_eq!(
            Squashed::of(name).map(|s| s.bytes[..s.len].to_vec()),
            Some(name.as_bytes().to_vec()),
            "{name} is not squashed already"
        );
    }
}

#[test]
fn the_memo_answers_as_parse_does_and_parses_each_string_once() {
    let memo = Memo::new();
    let raws = [
        "AzureMarketplace-INS | checkpoint.check-point-r77-10sg-byol",
        "Google-Search | 1001.77",
        "",
        "AppSource (SPZA)",
    ];
    for raw in raws {
        let first = memo.parse(raw);
        assert_eq!(*first, parse(raw), "{raw:?}");
        let again = memo.parse(raw);
        assert!(Arc::ptr_eq(&first, &again), "{raw:?} parsed twice");
    }
    assert_eq!(memo.len(), raws.len());
    // A string no LeadSource is as long as is answered, not kept.
    let long = "x".repeat(MAX_LEN + 1);
    assert_eq!(*memo.parse(&long), parse(&long));
    assert_eq!(memo.len(), raws.len());
}
