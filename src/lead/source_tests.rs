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
