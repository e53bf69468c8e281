//! The international and national forms of a parsed number, written as rlibphonenumber's
//! `format` writes them, for a fraction of its cost.
//!
//! rlibphonenumber writes each form on its own: it chooses the number's formatting rule
//! (a regex on the leading digits, another on the whole number), rewrites the rule with a
//! regex for the national form, and applies it with a regex `replace_all`, for each of
//! the two forms of every lead's number. Part of the phone engine's fast path (see
//! [`quick`](super::quick)). Here, from the same metadata
//! ([`library`](super::library)'s copy):
//!
//! - the rule is chosen once for both forms where the region has one list of rules for
//!   both (most regions; the others get a second choice from their international list);
//! - each rule is prepared once per thread: the national form's rewrite done, its format
//!   split into text and groups;
//! - a rule whose pattern is groups of digits only (`([0-9]{3})([0-9]{3,4})`, every rule
//!   of metadata 9.0.42) is matched and applied by length, as the regex would split the
//!   digits (greedy, left to right); any other goes through the same regexes as
//!   rlibphonenumber's.
//!
//! A test compares both forms with rlibphonenumber's own on every region's numbers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::rc::Rc;
use std::sync::OnceLock;

use regex::Regex;
use rlibphonenumber::{NumberFormat, PhoneNumber, PhoneNumberFormat, PhoneNumberUtil};

use super::dfa::Prefix;
use super::library;

/// A number's international (`+44 20 7183 8750`) and national (`020 7183 8750`) forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forms {
    /// As `format(number, International)`.
    pub(crate) international: String,
    /// As `format(number, National)`.
    pub(crate) national: String,
}

/// Both forms of a number `util` parsed, whose national significant number is `nsn`:
/// written here, or by rlibphonenumber itself for the numbers this module leaves to it
/// (one with an extension, or of national number 0).
pub(crate) fn forms(util: &PhoneNumberUtil, number: &PhoneNumber, nsn: &str) -> Forms {
    written(number, nsn).unwrap_or_else(|| Forms {
        international: util
            .format(number, PhoneNumberFormat::International)
            .into_owned(),
        national: util
            .format(number, PhoneNumberFormat::National)
            .into_owned(),
    })
}

/// Both forms of `number`, or None for the numbers [`forms`] leaves to rlibphonenumber.
fn written(number: &PhoneNumber, nsn: &str) -> Option<Forms> {
    if number.extension.as_deref().is_some_and(|e| !e.is_empty()) || number.national_number == 0 {
        return None;
    }
    let Some(rules) = rules_for(number.country_code) else {
        // No metadata for the calling code: rlibphonenumber writes the bare digits.
        return Some(Forms {
            international: nsn.to_string(),
            national: nsn.to_string(),
        });
    };
    let national_rule = choose(&rules.national, nsn);
    let international_rule = match &rules.international {
        Some(list) => choose(list, nsn),
        None => national_rule,
    };
    let mut code = itoa::Buffer::new();
    let code = code.format(number.country_code);
    // Each form written once, into a string of about its final length.
    let mut international = String::with_capacity(code.len() + nsn.len() + 8);
    international.push('+');
    international.push_str(code);
    international.push(' ');
    match international_rule {
        Some(rule) => rule.write(nsn, false, &mut international),
        None => international.push_str(nsn),
    }
    let mut national = String::with_capacity(nsn.len() + 8);
    match national_rule {
        Some(rule) => rule.write(nsn, true, &mut national),
        None => national.push_str(nsn),
    }
    Some(Forms {
        international,
        national,
    })
}

/// The first rule whose leading digits and pattern match, as rlibphonenumber's
/// `choose_formatting_pattern_for_number` picks it.
fn choose<'a>(rules: &'a [Rule], nsn: &str) -> Option<&'a Rule> {
    // The same conjunction, its cheapest test first: most rules of a region are ruled
    // out by the number's length before their leading-digits regex runs.
    rules.iter().find(|rule| {
        rule.lengths.contains(&nsn.len())
            && rule
                .leading
                .as_ref()
                .is_none_or(|leading| leading.is_match(nsn))
            && rule.matches(nsn)
    })
}

/// One region's rules, prepared for this thread.
struct Rules {
    /// `number_format`: the national form's, and the international form's too when
    /// `international` is None.
    national: Vec<Rule>,
    /// `intl_number_format`, when the region has one.
    international: Option<Vec<Rule>>,
}

/// One formatting rule (libphonenumber's `NumberFormat`).
struct Rule {
    /// The last (most detailed) leading-digits pattern, anchored at the start.
    leading: Option<Prefix>,
    /// The lengths of national significant number the pattern can match: the sums of
    /// its groups' bounds for a [`Shape::Groups`], any length for a [`Shape::Regex`].
    lengths: RangeInclusive<usize>,
    /// How the rule matches and writes the national significant number.
    shape: Shape,
}

/// How a rule matches and writes a number, with its format for each form: as given for
/// the international form, with the national prefix rule in it for the national one.
enum Shape {
    /// A pattern of groups of digits only, each `(min, max)` long, and formats of text
    /// and `$n` groups: matched and split by length.
    Groups {
        groups: Vec<(usize, usize)>,
        international: Vec<Piece>,
        national: Vec<Piece>,
    },
    /// Anything else: the whole-number regex, and the unanchored one rlibphonenumber
    /// replaces with, with the formats for the regex's own interpolation.
    Regex {
        full: Regex,
        unanchored: Regex,
        international: String,
        national: String,
    },
}

enum Piece {
    Text(String),
    Group(usize),
}

impl Rule {
    fn new(format: &NumberFormat) -> Rule {
        let pattern = pattern_of(format);
        let national_prefix_rule = format.national_prefix_formatting_rule();
        let national = if national_prefix_rule.is_empty() {
            format.format.clone()
        } else {
            first_group()
                .replace(&format.format, national_prefix_rule)
                .into_owned()
        };
        let groups = digit_groups(&pattern).filter(|groups| groups.len() <= MAX_GROUPS);
        let shape = match (groups, pieces(&format.format), pieces(&national)) {
            (Some(groups), Some(international), Some(national)) => Shape::Groups {
                groups,
                international,
                national,
            },
            _ => Shape::Regex {
                full: compile(anchored_full(&pattern)),
                unanchored: compile(unanchored(&pattern)),
                international: format.format.clone(),
                national,
            },
        };
        let leading = leading_of(format).map(|base| Prefix::new(anchored_start(&base)));
        let lengths = match &shape {
            Shape::Groups { groups, .. } => {
                groups.iter().map(|g| g.0).sum()..=groups.iter().map(|g| g.1).sum()
            }
            Shape::Regex { .. } => 0..=usize::MAX,
        };
        Rule {
            leading,
            lengths,
            shape,
        }
    }

    /// Whether the pattern matches the whole national significant number (all digits),
    /// once [`Rule::lengths`] holds its length: for groups of digits that is the whole
    /// test.
    fn matches(&self, nsn: &str) -> bool {
        match &self.shape {
            Shape::Groups { .. } => true,
            Shape::Regex { full, .. } => full.is_match(nsn),
        }
    }

    /// Writes the national significant number in the national form, or the
    /// international one, at the end of `out`.
    fn write(&self, nsn: &str, national_form: bool, out: &mut String) {
        match &self.shape {
            Shape::Groups {
                groups,
                international,
                national,
            } => {
                let mut spans = [(0, 0); MAX_GROUPS];
                split(groups, nsn.len(), &mut spans);
                let pieces = if national_form {
                    national
                } else {
                    international
                };
                for piece in pieces {
                    match piece {
                        Piece::Text(text) => out.push_str(text),
                        Piece::Group(0) => out.push_str(nsn),
                        Piece::Group(i) => {
                            if let Some(&(start, end)) = spans.get(i - 1) {
                                out.push_str(nsn.get(start..end).unwrap_or(""));
                            }
                        }
                    }
                }
            }
            Shape::Regex {
                unanchored,
                international,
                national,
                ..
            } => {
                let format = if national_form {
                    national
                } else {
                    international
                };
                out.push_str(&unanchored.replace_all(nsn, format.as_str()));
            }
        }
    }
}

/// The most groups a rule of [`Shape::Groups`] has: their spans are kept on the stack.
/// A rule with more (none has, a test checks) goes through its regex.
const MAX_GROUPS: usize = 8;

/// Where each group of digits starts and ends in a number of `len` digits, as a regex of
/// greedy groups splits it: each group takes as many digits as it can while the groups
/// after it can still match. `len` is within the groups' total bounds; `spans` has room
/// for every group.
fn split(groups: &[(usize, usize)], len: usize, spans: &mut [(usize, usize)]) {
    let mut at = 0;
    for (i, (&(min, max), span)) in groups.iter().zip(spans).enumerate() {
        let rest_min: usize = groups[i + 1..].iter().map(|g| g.0).sum();
        let take = max.min(len.saturating_sub(at + rest_min)).max(min);
        *span = (at, at + take);
        at += take;
    }
}

/// The pattern's groups when it is `^(?:` then groups of digits only (`([0-9]{3})`,
/// `([0-9]{2,4})`, `([0-9])`) then `)$`.
fn digit_groups(base: &str) -> Option<Vec<(usize, usize)>> {
    let mut body = base.strip_prefix("^(?:")?.strip_suffix(")$")?;
    let mut groups = Vec::new();
    while !body.is_empty() {
        body = body.strip_prefix("([0-9]")?;
        let (bounds, rest) = match body.strip_prefix(')') {
            Some(rest) => ((1, 1), rest),
            None => {
                let (inner, rest) = body.strip_prefix('{')?.split_once("})")?;
                let bounds = match inner.split_once(',') {
                    Some((min, max)) => (min.parse().ok()?, max.parse().ok()?),
                    None => {
                        let n = inner.parse().ok()?;
                        (n, n)
                    }
                };
                (bounds, rest)
            }
        };
        if bounds.0 > bounds.1 {
            return None;
        }
        groups.push(bounds);
        body = rest;
    }
    (!groups.is_empty()).then_some(groups)
}

/// A format as text and `$n` groups; None for anything the regex crate would read
/// otherwise (`$$`, `${name}`, `$1a`).
fn pieces(format: &str) -> Option<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = format;
    while let Some(at) = rest.find('$') {
        text.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let next = after.as_bytes().get(digits);
        if digits == 0 || next.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            return None;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(Piece::Group(after[..digits].parse().ok()?));
        rest = &after[digits..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Some(pieces)
}

/// `(\$\d)`: the first group of a format, which the national prefix rule wraps.
fn first_group() -> &'static Regex {
    static FIRST_GROUP: OnceLock<Regex> = OnceLock::new();
    FIRST_GROUP.get_or_init(|| compile(r"(\$\d)"))
}

#[allow(deprecated)] // the pattern fields: see library::ascii_digits_in
fn pattern_of(format: &NumberFormat) -> String {
    format.pattern.clone()
}

#[allow(deprecated)] // as pattern_of
fn leading_of(format: &NumberFormat) -> Option<String> {
    format.leading_digits_pattern.last().cloned()
}

/// rlibphonenumber's `anchor_start` of a wrapped `^(?:...)$` pattern: without the `$`.
pub(super) fn anchored_start(base: &str) -> &str {
    if base.len() >= 6 {
        &base[..base.len() - 1]
    } else {
        ""
    }
}

/// rlibphonenumber's `anchor_full` of a wrapped pattern: itself.
pub(super) fn anchored_full(base: &str) -> &str {
    if base.len() >= 6 {
        base
    } else {
        ""
    }
}

/// rlibphonenumber's `original` of a wrapped pattern: without `^` and `$`.
fn unanchored(base: &str) -> &str {
    if base.len() >= 6 {
        &base[1..base.len() - 1]
    } else {
        ""
    }
}

/// Compiles a metadata pattern; a test compiles every one, so this cannot fail at run time.
pub(super) fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("phone metadata pattern {pattern}: {e}"))
}

thread_local! {
    /// The rules of each calling code this thread has formatted; None: no metadata.
    static PREPARED: RefCell<HashMap<i32, Option<Rc<Rules>>, foldhash::fast::FixedState>> =
        RefCell::new(HashMap::default());
}

/// This thread's rules for a calling code, prepared on first use.
#[allow(deprecated)] // the format lists: see library::ascii_digits_in
fn rules_for(country_code: i32) -> Option<Rc<Rules>> {
    PREPARED.with(|prepared| {
        if let Some(rules) = prepared.borrow().get(&country_code) {
            return rules.clone();
        }
        let rules = library::main_metadata(country_code).map(|metadata| {
            let list = |formats: &[NumberFormat]| formats.iter().map(Rule::new).collect();
            Rc::new(Rules {
                national: list(&metadata.number_format),
                international: (!metadata.intl_number_format.is_empty())
                    .then(|| list(&metadata.intl_number_format)),
            })
        });
        prepared.borrow_mut().insert(country_code, rules.clone());
        rules
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_read_from_patterns_of_digits_only() {
        assert_eq!(
            digit_groups(r"^(?:([0-9]{3})([0-9]{3,4}))$"),
            Some(vec![(3, 3), (3, 4)])
        );
        assert_eq!(
            digit_groups(r"^(?:([0-9])([0-9]{4}))$"),
            Some(vec![(1, 1), (4, 4)])
        );
        for other in [
            r"^(?:(\d{3})(\d{4}))$",
            r"^(?:([0-9]{3})9([0-9]{4}))$",
            r"^(?:([0-9]{3}|[0-9]{5}))$",
            r"^(?:([0-9]{4,2}))$",
            r"([0-9]{3})",
            r"^(?:)$",
        ] {
            assert!(digit_groups(other).is_none(), "{other}");
        }
    }

    #[test]
    #[allow(deprecated)] // the format lists: see library::ascii_digits_in
    fn every_rule_of_groups_keeps_its_spans_on_the_stack() {
        let formats = library::metadata()
            .metadata
            .iter()
            .flat_map(|m| m.number_format.iter().chain(&m.intl_number_format));
        let most = formats
            .filter_map(|f| digit_groups(&pattern_of(f)))
            .map(|groups| groups.len())
            .max();
        assert!(
            most.is_some_and(|most| (2..=MAX_GROUPS).contains(&most)),
            "{most:?}"
        );
    }

    #[test]
    fn greedy_groups_split_as_the_regex_does() {
        let groups = [(2, 3), (2, 2)];
        let regex = compile(r"^(?:([0-9]{2,3})([0-9]{2}))$");
        for digits in ["1234", "12345"] {
            let caps = regex.captures(digits).expect("matches");
            let spans: Vec<_> = (1..=2)
                .map(|i| caps.get(i).map(|m| (m.start(), m.end())).expect("group"))
                .collect();
            let mut split_here = [(0, 0); 2];
            split(&groups, digits.len(), &mut split_here);
            assert_eq!(split_here.to_vec(), spans, "{digits}");
        }
    }

    #[test]
    fn formats_become_text_and_groups_unless_the_regex_reads_them_otherwise() {
        let text = |p: &[Piece]| {
            p.iter()
                .map(|p| match p {
                    Piece::Text(t) => t.clone(),
                    Piece::Group(i) => format!("<{i}>"),
                })
                .collect::<String>()
        };
        assert_eq!(
            text(&pieces("($1) $2-$3").expect("pieces")),
            "(<1>) <2>-<3>"
        );
        assert_eq!(
            text(&pieces("$2 15-$3-$4").expect("pieces")),
            "<2> 15-<3>-<4>"
        );
        for other in ["$$1", "${1}", "$1a", "$ 1", "$"] {
            assert!(pieces(other).is_none(), "{other}");
        }
    }
}
