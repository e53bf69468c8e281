//! LeadSource parsing: `Source-Action | publisherid.offerid`.
//!
//! The seeds define the sources (`AzureMarketplace`, `AzurePortal`, `AppSource (SPZA)`),
//! the actions (`INS`, `PLT`, `DNC`, `Create`, `StartTestDrive`) and the offer
//! (`publisherid.offerid`). Spacing and case are tolerated; whatever cannot be read is
//! reported with a reason and left UNSPECIFIED, and the lead is still scored.

use serde::Serialize;

use super::codes;
use crate::reason::Reason;

/// The marketplace that generated the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Source {
    /// Missing or not recognised.
    Unspecified,
    /// `AzureMarketplace`.
    AzureMarketplace,
    /// `AzurePortal`.
    AzurePortal,
    /// `AppSource (SPZA)`.
    AppSource,
}

/// What the customer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Action {
    /// Missing or not recognised.
    Unspecified,
    /// `INS`: the customer acquired the product.
    Install,
    /// `PLT`: "Contact me", a partner-led trial.
    PartnerLedTrial,
    /// `DNC`: do not contact.
    DoNotContact,
    /// `Create`: an Azure portal purchase.
    Create,
    /// `StartTestDrive`: a test drive started.
    StartTestDrive,
}

/// A parsed LeadSource, with the problems found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadSource {
    /// The string as given.
    pub raw: String,
    /// The marketplace.
    pub source: Source,
    /// The action.
    pub action: Action,
    /// The offer's publisher id (before the first dot).
    pub publisher_id: String,
    /// The offer id (after the first dot).
    pub offer_id: String,
    /// What could not be read.
    pub reasons: Vec<Reason>,
}

/// Longest LeadSource read; real ones are under 200 characters.
const MAX_LEN: usize = 512;

/// Lower-cases and drops whitespace, so `App Source (SPZA)` and `appsource(spza)` match.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn source_of(text: &str) -> Option<Source> {
    match squash(text).as_str() {
        "azuremarketplace" => Some(Source::AzureMarketplace),
        "azureportal" => Some(Source::AzurePortal),
        "appsource(spza)" | "appsource" | "spza" => Some(Source::AppSource),
        _ => None,
    }
}

fn action_of(text: &str) -> Option<Action> {
    match squash(text).as_str() {
        "ins" => Some(Action::Install),
        "plt" => Some(Action::PartnerLedTrial),
        "dnc" => Some(Action::DoNotContact),
        "create" => Some(Action::Create),
        "starttestdrive" => Some(Action::StartTestDrive),
        _ => None,
    }
}

/// Parses a LeadSource string; never fails, every problem becomes a reason.
pub fn parse(raw: &str) -> LeadSource {
    let mut parsed = LeadSource {
        raw: raw.to_string(),
        source: Source::Unspecified,
        action: Action::Unspecified,
        publisher_id: String::new(),
        offer_id: String::new(),
        reasons: Vec::new(),
    };
    let text = raw.trim();
    if text.is_empty() {
        parsed
            .reasons
            .push(Reason::new(codes::SOURCE_MISSING, "the lead has no LeadSource"));
        return parsed;
    }
    if text.len() > MAX_LEN || text.chars().any(char::is_control) {
        parsed.reasons.push(Reason::new(
            codes::SOURCE_MALFORMED,
            "the LeadSource is too long or holds control characters",
        ));
        return parsed;
    }
    let (head, offer) = match text.split_once('|') {
        Some((head, offer)) => (head.trim(), Some(offer.trim())),
        None => (text, None),
    };
    // Neither sources nor actions hold a hyphen; offers may, but they follow the `|`.
    match head.rsplit_once('-') {
        Some((source, action)) if !source.trim().is_empty() && !action.trim().is_empty() => {
            match source_of(source) {
                Some(s) => parsed.source = s,
                None => parsed.reasons.push(Reason::new(
                    codes::SOURCE_UNKNOWN_SOURCE,
                    format!("unknown source {:?}", source.trim()),
                )),
            }
            match action_of(action) {
                Some(a) => parsed.action = a,
                None => parsed.reasons.push(Reason::new(
                    codes::SOURCE_UNKNOWN_ACTION,
                    format!("unknown action {:?}", action.trim()),
                )),
            }
        }
        _ => {
            // Not `Source-Action`: keep whatever single part is recognisable.
            if let Some(s) = source_of(head) {
                parsed.source = s;
            }
            if let Some(a) = action_of(head) {
                parsed.action = a;
            }
            parsed.reasons.push(Reason::new(
                codes::SOURCE_MALFORMED,
                "the LeadSource is not of the form `Source-Action | publisherid.offerid`",
            ));
        }
    }
    match offer {
        None | Some("") => parsed.reasons.push(Reason::new(
            codes::SOURCE_MISSING_OFFER,
            "no offer after `|`",
        )),
        Some(offer) => match offer.split_once('.') {
            Some((publisher, id))
                if !publisher.is_empty()
                    && !id.is_empty()
                    && !offer.chars().any(char::is_whitespace) =>
            {
                parsed.publisher_id = publisher.to_string();
                parsed.offer_id = id.to_string();
            }
            _ => parsed.reasons.push(Reason::new(
                codes::SOURCE_OFFER_MALFORMED,
                format!("the offer {offer:?} is not `publisherid.offerid`"),
            )),
        },
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codes_of(s: &LeadSource) -> Vec<&'static str> {
        s.reasons.iter().map(|r| r.code).collect()
    }

    #[test]
    fn the_seeds_examples_parse() {
        let cases = [
            (
                "AzureMarketplace-INS | checkpoint.check-point-r77-10sg-byol",
                Source::AzureMarketplace,
                Action::Install,
                "checkpoint",
                "check-point-r77-10sg-byol",
            ),
            (
                "AppSource (SPZA)-StartTestDrive | contoso.crm-addon",
                Source::AppSource,
                Action::StartTestDrive,
                "contoso",
                "crm-addon",
            ),
            (
                "AzurePortal-Create | bitnami.openedxcypress",
                Source::AzurePortal,
                Action::Create,
                "bitnami",
                "openedxcypress",
            ),
            (
                "AppSource (SPZA)-PLT | docusign.3701c77e-1cfa-4c56-91e6-3ed0b622145",
                Source::AppSource,
                Action::PartnerLedTrial,
                "docusign",
                "3701c77e-1cfa-4c56-91e6-3ed0b622145",
            ),
            (
                "AppSource (SPZA)-DNC | a.b.c",
                Source::AppSource,
                Action::DoNotContact,
                "a",
                "b.c",
            ),
        ];
        for (raw, source, action, publisher, offer) in cases {
            let s = parse(raw);
            assert_eq!((s.source, s.action), (source, action), "{raw}");
            assert_eq!((s.publisher_id.as_str(), s.offer_id.as_str()), (publisher, offer));
            assert!(s.reasons.is_empty(), "{raw}: {:?}", s.reasons);
            assert_eq!(s.raw, raw);
        }
    }

    #[test]
    fn spacing_and_case_are_tolerated() {
        for raw in [
            "azuremarketplace-ins|x.y",
            "  AzureMarketplace - INS |  x.y ",
            "AZUREMARKETPLACE-Ins | x.y",
            "Azure Marketplace-INS | x.y",
        ] {
            let s = parse(raw);
            assert_eq!(s.source, Source::AzureMarketplace, "{raw}");
            assert_eq!(s.action, Action::Install, "{raw}");
            assert_eq!((s.publisher_id.as_str(), s.offer_id.as_str()), ("x", "y"));
            assert!(s.reasons.is_empty(), "{raw}: {:?}", s.reasons);
        }
        let s = parse("AppSource-starttestdrive | Contoso.App");
        assert_eq!((s.source, s.action), (Source::AppSource, Action::StartTestDrive));
        assert_eq!(s.publisher_id, "Contoso", "ids are kept as given");
    }

    #[test]
    fn problems_are_reported_and_what_can_be_read_is_kept() {
        let s = parse("");
        assert_eq!(codes_of(&s), [codes::SOURCE_MISSING]);
        let s = parse("Bing-INS | a.b");
        assert_eq!(s.source, Source::Unspecified);
        assert_eq!(s.action, Action::Install);
        assert_eq!(codes_of(&s), [codes::SOURCE_UNKNOWN_SOURCE]);
        let s = parse("AzurePortal-Buy | a.b");
        assert_eq!((s.source, s.action), (Source::AzurePortal, Action::Unspecified));
        assert_eq!(codes_of(&s), [codes::SOURCE_UNKNOWN_ACTION]);
        let s = parse("AzurePortal-Create");
        assert_eq!(s.action, Action::Create);
        assert_eq!(codes_of(&s), [codes::SOURCE_MISSING_OFFER]);
        let s = parse("AzurePortal-Create | nodot");
        assert_eq!(codes_of(&s), [codes::SOURCE_OFFER_MALFORMED]);
        let s = parse("garbage");
        assert_eq!(
            codes_of(&s),
            [codes::SOURCE_MALFORMED, codes::SOURCE_MISSING_OFFER]
        );
        let s = parse("-|");
        assert!(codes_of(&s).contains(&codes::SOURCE_MALFORMED));
        let s = parse(&"A-INS | a.b".repeat(100));
        assert_eq!(codes_of(&s), [codes::SOURCE_MALFORMED]);
        let s = parse("AzurePortal-Create\u{0} | a.b");
        assert_eq!(codes_of(&s), [codes::SOURCE_MALFORMED]);
    }

    proptest! {
        #[test]
        fn no_input_panics(raw in "\\PC{0,80}|[A-Za-z (|).-]{0,60}") {
            let s = parse(&raw);
            prop_assert_eq!(&s.raw, &raw);
            if s.reasons.is_empty() {
                prop_assert!(s.source != Source::Unspecified && s.action != Action::Unspecified);
            }
        }
    }
}
