//! LeadSource parsing: `Source-Action | publisherid.offerid`.
//!
//! The seeds define the sources (`AzureMarketplace`, `AzurePortal`, `AppSource (SPZA)`),
//! the actions (`INS`, `PLT`, `DNC`, `Create`, `StartTestDrive`) and the offer
//! (`publisherid.offerid`, e.g. `checkpoint.check-point-r77-10sg-byol`). Spacing and case
//! are tolerated; whatever cannot be read is left UNSPECIFIED (or empty) with a reason,
//! and the lead is still scored.
//!
//! Neither a source nor an action holds a hyphen, but offers do, so the string is first
//! cut at its `|`; only then is the part before it split into source and action.

use std::sync::Arc;

use serde::Serialize;

use super::codes;
use crate::reason::{push_debug, Reason};

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

/// What the customer did, as the seeds define the actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Action {
    /// Missing or not recognised.
    Unspecified,
    /// `INS`: install, the customer acquired the product (Azure Marketplace, AppSource).
    Install,
    /// `PLT`: partner-led trial, the customer chose "Contact me" (AppSource).
    PartnerLedTrial,
    /// `DNC`: do not contact, a cross-listing notice (AppSource).
    DoNotContact,
    /// `Create`: a purchase in the Azure portal.
    Create,
    /// `StartTestDrive`: the customer started a test drive.
    StartTestDrive,
}

/// A parsed LeadSource, with the problems found on the way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadSource {
    /// The string as given.
    pub raw: String,
    /// The marketplace.
    pub source: Source,
    /// The action.
    pub action: Action,
    /// The offer's publisher id: what precedes the offer's first dot, trimmed, case kept.
    pub publisher_id: String,
    /// The offer id: what follows the offer's first dot, trimmed, case kept.
    pub offer_id: String,
    /// What could not be read; empty when the whole string was understood.
    pub reasons: Vec<Reason>,
}

/// The longest LeadSource read, in bytes. Real ones are under 150 (a 50-character offer
/// id, a publisher id and the longest source-action); anything far longer is not one.
pub const MAX_LEN: usize = 512;

/// The most characters of the input a reason message quotes.
const QUOTE_LEN: usize = 40;

/// Tells whether `c` separates source from action: the ASCII hyphen and the dashes that
/// word processors and spreadsheets substitute for it.
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
    )
}

/// The longest name a source or action is recognised by: `azuremarketplace`.
const LONGEST_NAME: usize = 16;

/// A piece of LeadSource lower-cased and without spaces, hyphens and underscores, so that
/// `App Source (SPZA)`, `appsource(spza)` and `Azure-Marketplace` are recognised. Made
/// once per piece, on the stack, then compared with each name: every lead's source and
/// action are looked up several times (each hyphen is a candidate split), and most
/// exports' are unknown, so compared against every name.
struct Squashed {
    bytes: [u8; LONGEST_NAME],
    len: usize,
}

impl Squashed {
    /// `None` when `text` can be no name: longer than the longest squashed, or holding a
    /// character that lower-cases to something other than ASCII (every name is ASCII).
    fn of(text: &str) -> Option<Squashed> {
        let mut squashed = Squashed {
            bytes: [0; LONGEST_NAME],
            len: 0,
        };
        if text.is_ascii() {
            // The common case, byte by byte: Unicode's lower-casing and dashes are ASCII's here.
            for b in text.bytes() {
                if !char::from(b).is_whitespace() && b != b'-' && b != b'_' {
                    squashed.push(b.to_ascii_lowercase())?;
                }
            }
            return Some(squashed);
        }
        for c in text.chars() {
            if c.is_whitespace() || is_dash(c) || c == '_' {
                continue;
            }
            for lower in c.to_lowercase() {
                // The Kelvin sign lower-cases to an ASCII `k`: kept, as before.
                squashed.push(u8::try_from(lower).ok().filter(u8::is_ascii)?)?;
            }
        }
        Some(squashed)
    }

    fn push(&mut self, b: u8) -> Option<()> {
        *self.bytes.get_mut(self.len)? = b;
        self.len += 1;
        Some(())
    }

    /// The value of the first name this is.
    fn recognise<T: Copy>(&self, names: &[(&str, T)]) -> Option<T> {
        let squashed = &self.bytes[..self.len];
        names
            .iter()
            .find(|(name, _)| name.as_bytes() == squashed)
            .map(|&(_, value)| value)
    }
}

/// The names a source is recognised by, squashed; `SPZA` is AppSource's internal name,
/// which exports also carry.
const SOURCES: &[(&str, Source)] = &[
    ("azuremarketplace", Source::AzureMarketplace),
    ("azureportal", Source::AzurePortal),
    ("appsource(spza)", Source::AppSource),
    ("appsource", Source::AppSource),
    ("spza", Source::AppSource),
    ("(spza)", Source::AppSource),
];

/// The codes an action is recognised by, squashed.
const ACTIONS: &[(&str, Action)] = &[
    ("ins", Action::Install),
    ("plt", Action::PartnerLedTrial),
    ("dnc", Action::DoNotContact),
    ("create", Action::Create),
    ("starttestdrive", Action::StartTestDrive),
];

/// Recognises a source.
fn source_of(text: &str) -> Option<Source> {
    Squashed::of(text)?.recognise(SOURCES)
}

/// Recognises an action by its code.
fn action_of(text: &str) -> Option<Action> {
    Squashed::of(text)?.recognise(ACTIONS)
}

/// A reason message quoting a piece of the input between `before` and `after`: short,
/// and never something that may be contact data (an `@`, or as many digits as a phone
/// number). Built without `format!`: unknown sources and actions are common in exports.
fn quoting(before: &str, text: &str, after: &[&str]) -> String {
    let text = text.trim();
    let mut message = String::with_capacity(
        before.len() + text.len().min(QUOTE_LEN) + 5 + after.iter().map(|a| a.len()).sum::<usize>(),
    );
    message.push_str(before);
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    if text.contains('@') || digits >= 7 {
        message.push_str("(not quoted: it may hold contact data)");
    } else {
        match text.char_indices().nth(QUOTE_LEN) {
            None => push_debug(&mut message, text),
            Some((end, _)) => push_debug(&mut message, &[&text[..end], "…"].concat()),
        }
    }
    message.extend(after.iter().copied());
    message
}

/// Parses a LeadSource string; never fails: every problem becomes a reason.
///
/// ```
/// use leadcheck::lead::source::{parse, Action, Source};
/// let s = parse("AppSource (SPZA)-StartTestDrive | contoso.crm-addon");
/// assert_eq!((s.source, s.action), (Source::AppSource, Action::StartTestDrive));
/// assert_eq!((s.publisher_id.as_str(), s.offer_id.as_str()), ("contoso", "crm-addon"));
/// assert!(s.reasons.is_empty());
/// ```
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
        parsed.reasons.push(Reason::new(
            codes::SOURCE_MISSING,
            "the lead has no LeadSource",
        ));
        return parsed;
    }
    if text.len() > MAX_LEN {
        parsed.reasons.push(Reason::new(
            codes::SOURCE_MALFORMED,
            format!(
                "the LeadSource is {} bytes long, over the {MAX_LEN} any real one fits in",
                text.len()
            ),
        ));
        return parsed;
    }
    // Tabs and line breaks are spacing; other control characters mean a broken export.
    if holds_control(text) {
        parsed.reasons.push(Reason::new(
            codes::SOURCE_MALFORMED,
            "the LeadSource holds control characters",
        ));
        return parsed;
    }

    let (head, offer) = match text.split_once('|') {
        Some((head, offer)) => (head.trim(), Some(offer.trim())),
        None => (text, None),
    };
    let offer = read_source_action(head, offer, &mut parsed);
    read_offer(offer, &mut parsed);
    parsed
}

/// Whether `text` holds a control character other than spacing (tabs, line breaks).
fn holds_control(text: &str) -> bool {
    if text.is_ascii() {
        // Byte by byte, with no decoding: ASCII's controls are 0x00-0x1f and 0x7f, and its
        // spacing among them 0x09-0x0d, as for `char`.
        return text
            .bytes()
            .any(|b| (b < 0x20 && !(b'\t'..=b'\r').contains(&b)) || b == 0x7f);
    }
    text.chars().any(|c| c.is_control() && !c.is_whitespace())
}

/// Reads `Source-Action` into `parsed`; returns the offer text, which is the part after
/// the `|`, or, when the `|` is missing, whatever follows a readable action.
fn read_source_action<'a>(
    head: &'a str,
    offer: Option<&'a str>,
    parsed: &mut LeadSource,
) -> Option<&'a str> {
    if head.is_empty() {
        parsed.reasons.push(Reason::new(
            codes::SOURCE_MALFORMED,
            "nothing before the `|`: no `Source-Action`",
        ));
        return offer;
    }
    let Some(split) = split_source_action(head) else {
        // No hyphen. Keep whatever is recognisable: "AzurePortal", "AppSource PLT".
        let (source, action) = recognise_without_hyphen(head);
        parsed.source = source.unwrap_or(Source::Unspecified);
        parsed.action = action.unwrap_or(Action::Unspecified);
        parsed.reasons.push(Reason::new(
            codes::SOURCE_MALFORMED,
            quoting(
                "",
                head,
                &[" is not `Source-Action`: no hyphen between source and action"],
            ),
        ));
        return offer;
    };

    let mut offer = offer;
    let mut action_text = split.action_text.trim();
    let mut action = split.action;
    if offer.is_none() && action.is_none() {
        // "AzureMarketplace-INS checkpoint.x": the `|` is missing but the action and
        // the offer are both there, separated by spacing.
        if let Some((first, rest)) = action_text.split_once(char::is_whitespace) {
            if let Some(first_action) = action_of(first) {
                parsed.reasons.push(Reason::new(
                    codes::SOURCE_MALFORMED,
                    "no `|` between the action and the offer",
                ));
                action_text = first;
                action = Some(first_action);
                offer = Some(rest.trim());
            }
        }
    }

    let source_text = split.source_text.trim();
    if source_text.is_empty() {
        parsed.reasons.push(Reason::new(
            codes::SOURCE_MALFORMED,
            "no source before the hyphen",
        ));
    } else if let Some(source) = split.source {
        parsed.source = source;
    } else {
        parsed.reasons.push(Reason::new(
            codes::SOURCE_UNKNOWN_SOURCE,
            quoting(
                "unknown source ",
                source_text,
                &[": expected AzureMarketplace, AzurePortal or AppSource (SPZA)"],
            ),
        ));
    }
    if action_text.is_empty() {
        parsed.reasons.push(Reason::new(
            codes::SOURCE_MALFORMED,
            "no action after the hyphen",
        ));
    } else if let Some(action) = action {
        parsed.action = action;
    } else {
        parsed.reasons.push(Reason::new(
            codes::SOURCE_UNKNOWN_ACTION,
            quoting(
                "unknown action ",
                action_text,
                &[": expected INS, PLT, DNC, Create or StartTestDrive"],
            ),
        ));
    }
    offer
}

/// `Source-Action` split at a hyphen, and what each side was recognised as.
struct Split<'a> {
    source_text: &'a str,
    action_text: &'a str,
    source: Option<Source>,
    action: Option<Action>,
}

/// Splits `Source-Action` at the hyphen that makes the most sense of it.
///
/// Sources and actions hold no hyphen, so there is normally one. With more (a hyphen
/// inside a misspelt source, or an offer with hyphens and no `|`), the split where both
/// sides are recognised wins, then one where the action is, then one where the source
/// is, then the first hyphen (a source never holds one). `None` when there is no hyphen.
fn split_source_action(head: &str) -> Option<Split<'_>> {
    let splits = head
        .char_indices()
        .filter(|(_, c)| is_dash(*c))
        .filter_map(|(i, c)| {
            let (source_text, action_text) = (head.get(..i)?, head.get(i + c.len_utf8()..)?);
            Some(Split {
                source_text,
                action_text,
                source: source_of(source_text),
                action: action_of(action_text),
            })
        });
    let score = |split: &Split| match (split.source.is_some(), split.action.is_some()) {
        (true, true) => 3,
        (false, true) => 2,
        (true, false) => 1,
        (false, false) => 0,
    };
    // `max_by_key` keeps the last of equals; iterate in reverse so the first wins.
    splits.rev().max_by_key(score)
}

/// Recognises a source or an action in a head without a hyphen: the whole head, or the
/// head split at a space ("AppSource PLT").
fn recognise_without_hyphen(head: &str) -> (Option<Source>, Option<Action>) {
    if let Some(source) = source_of(head) {
        return (Some(source), None);
    }
    if let Some(action) = action_of(head) {
        return (None, Some(action));
    }
    head.char_indices()
        .filter(|(_, c)| c.is_whitespace())
        .filter_map(|(i, _)| {
            let (s, a) = (head.get(..i)?, head.get(i..)?);
            Some((source_of(s)?, action_of(a)?))
        })
        .map(|(s, a)| (Some(s), Some(a)))
        .next()
        .unwrap_or((None, None))
}

/// Reads `publisherid.offerid` into `parsed`.
fn read_offer(offer: Option<&str>, parsed: &mut LeadSource) {
    let offer = match offer.map(str::trim) {
        None => {
            parsed.reasons.push(Reason::new(
                codes::SOURCE_MISSING_OFFER,
                "no `| publisherid.offerid` after the action",
            ));
            return;
        }
        Some("") => {
            parsed.reasons.push(Reason::new(
                codes::SOURCE_MISSING_OFFER,
                "nothing after the `|`",
            ));
            return;
        }
        Some(offer) => offer,
    };
    let problem = match offer.split_once('.') {
        None => "has no dot",
        Some((publisher, id)) => {
            let (publisher, id) = (publisher.trim(), id.trim());
            if id.contains('|') {
                "holds a second `|`"
            } else if publisher.is_empty() || id.is_empty() {
                "has an empty side"
            } else if publisher.contains(char::is_whitespace) || id.contains(char::is_whitespace) {
                "holds spaces"
            } else {
                parsed.publisher_id = publisher.to_string();
                parsed.offer_id = id.to_string();
                return;
            }
        }
    };
    parsed.reasons.push(Reason::new(
        codes::SOURCE_OFFER_MALFORMED,
        quoting(
            "the offer ",
            offer,
            &[" ", problem, ": expected `publisherid.offerid`"],
        ),
    ));
}

/// The most LeadSource strings a [`Memo`] keeps. An export has a few dozen: one per
/// marketplace, action and offer, on every one of its leads.
pub const MEMO_CAPACITY: usize = 4_096;

/// Parsed LeadSource strings by their text, shared: [`parse`] is pure, and a stream's leads
/// repeat a handful of strings, which would otherwise be parsed again for every lead. A
/// string over [`MAX_LEN`] is answered without work and not kept.
pub struct Memo(quick_cache::sync::Cache<Box<str>, Arc<LeadSource>>);

impl Memo {
    /// An empty memo of at most [`MEMO_CAPACITY`] strings.
    pub fn new() -> Memo {
        Memo(quick_cache::sync::Cache::new(MEMO_CAPACITY))
    }

    /// [`parse`]'s answer for `raw`, parsed once.
    pub fn parse(&self, raw: &str) -> Arc<LeadSource> {
        if let Some(parsed) = self.0.get(raw) {
            return parsed;
        }
        let parsed = Arc::new(parse(raw));
        if raw.len() <= MAX_LEN {
            self.0.insert(raw.into(), parsed.clone());
        }
        parsed
    }

    /// How many strings it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }
}

impl Default for Memo {
    fn default() -> Memo {
        Memo::new()
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
