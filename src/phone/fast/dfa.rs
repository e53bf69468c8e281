//! The metadata's patterns matched at the start of a number, walked on a lazy DFA of
//! this thread's, one byte at a time.
//!
//! Every match here is anchored, on a handful of ASCII digits: the leading digits that
//! pick a formatting rule or a region, the prefixes that start a number, and a region's
//! type patterns, all of them at once. The regex crate's searches carry machinery these
//! do not need (its cache pool, prefilters, the unanchored and overlapping search loops):
//! walking ten digits costs a fraction of a `RegexSet` over a region's types or of a
//! leading-digits `is_match`. Part of the phone engine's fast path (see
//! [`quick`](super::quick)).
//!
//! Each matcher is regex-automata's lazy DFA, the engine the regex crate itself runs
//! these patterns on, so the answers are the same; a test holds them to the regex crate's
//! on every pattern of the metadata. Should the DFA fail a search (it gives up only on
//! a quit byte, which these patterns do not have), the regex crate answers instead.

use std::cell::{OnceCell, RefCell};

use regex::{Regex, RegexSet};
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::{Anchored, Input, MatchKind};

/// One pattern, matched at the start of a text: the regex crate's `is_match` of a
/// pattern that begins with `^`.
pub(super) struct Prefix {
    dfa: DFA,
    cache: RefCell<Cache>,
    pattern: String,
    fallback: OnceCell<Regex>,
}

impl Prefix {
    /// Compiles a pattern of the shipped metadata; a test compiles every one, so this
    /// cannot fail at run time.
    pub(super) fn new(pattern: &str) -> Prefix {
        let dfa = DFA::new(pattern).unwrap_or_else(|e| panic!("phone pattern {pattern}: {e}"));
        Prefix {
            cache: RefCell::new(dfa.create_cache()),
            dfa,
            pattern: pattern.to_string(),
            fallback: OnceCell::new(),
        }
    }

    /// The pattern as given.
    pub(super) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether the pattern matches at the start of `text`.
    pub(super) fn is_match(&self, text: &str) -> bool {
        let walked = {
            let mut cache = self.cache.borrow_mut();
            walk_prefix(&self.dfa, &mut cache, text.as_bytes())
        };
        walked.unwrap_or_else(|| {
            self.fallback
                .get_or_init(|| super::format::compile(&self.pattern))
                .is_match(text)
        })
    }
}

/// Walks the DFA until it matches, dies or reaches the end; None when it gave up.
fn walk_prefix(dfa: &DFA, cache: &mut Cache, text: &[u8]) -> Option<bool> {
    let input = Input::new(text).anchored(Anchored::Yes);
    let mut state = dfa.start_state_forward(cache, &input).ok()?;
    for &byte in text {
        state = dfa.next_state(cache, state, byte).ok()?;
        if state.is_tagged() {
            // Matches show one byte late: this one ended before `byte`.
            if state.is_match() {
                return Some(true);
            }
            if state.is_dead() {
                return Some(false);
            }
            if state.is_quit() {
                return None;
            }
        }
    }
    let state = dfa.next_eoi_state(cache, state).ok()?;
    quit_to_none(state).map(|state| state.is_match())
}

fn quit_to_none(state: LazyStateID) -> Option<LazyStateID> {
    (!state.is_quit()).then_some(state)
}

/// Patterns anchored at both ends, matched together: which of them match the whole of a
/// text, as the regex crate's `RegexSet::matches` says.
pub(super) struct FullSet {
    dfa: DFA,
    cache: RefCell<Cache>,
    patterns: Vec<String>,
    fallback: OnceCell<RegexSet>,
}

/// The most patterns a [`FullSet`] holds: its answer is a bit each.
pub(super) const MAX_SET: usize = 64;

impl FullSet {
    /// Compiles patterns of the shipped metadata, each `^(?:…)$`, at most [`MAX_SET`];
    /// a test compiles every region's, so this cannot fail at run time.
    pub(super) fn new(patterns: &[&str]) -> FullSet {
        assert!(patterns.len() <= MAX_SET, "{} patterns", patterns.len());
        let dfa = DFA::builder()
            .configure(DFA::config().match_kind(MatchKind::All))
            .build_many(patterns)
            .unwrap_or_else(|e| panic!("phone patterns {patterns:?}: {e}"));
        FullSet {
            cache: RefCell::new(dfa.create_cache()),
            dfa,
            patterns: patterns.iter().map(|p| p.to_string()).collect(),
            fallback: OnceCell::new(),
        }
    }

    /// The patterns that match the whole of `text`: bit `i` for the `i`th.
    pub(super) fn matches(&self, text: &str) -> u64 {
        let walked = {
            let mut cache = self.cache.borrow_mut();
            walk_full(&self.dfa, &mut cache, text.as_bytes())
        };
        walked.unwrap_or_else(|| {
            let set = self.fallback.get_or_init(|| {
                RegexSet::new(&self.patterns)
                    .unwrap_or_else(|e| panic!("phone patterns {:?}: {e}", self.patterns))
            });
            set.matches(text).iter().fold(0, |bits, i| bits | 1 << i)
        })
    }
}

/// Walks the DFA over the whole text; the patterns matching at its end, or None when it
/// gave up.
fn walk_full(dfa: &DFA, cache: &mut Cache, text: &[u8]) -> Option<u64> {
    let input = Input::new(text).anchored(Anchored::Yes);
    let mut state = dfa.start_state_forward(cache, &input).ok()?;
    for &byte in text {
        state = dfa.next_state(cache, state, byte).ok()?;
        if state.is_tagged() {
            if state.is_dead() {
                return Some(0);
            }
            if state.is_quit() {
                return None;
            }
        }
    }
    let state = quit_to_none(dfa.next_eoi_state(cache, state).ok()?)?;
    if !state.is_match() {
        return Some(0);
    }
    let mut bits = 0u64;
    for i in 0..dfa.match_len(cache, state) {
        bits |= 1 << dfa.match_pattern(cache, state, i).as_usize();
    }
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern of the metadata a `Prefix` or a `FullSet` matches, against the regex
    /// crate's answers, on the example numbers' digits and on every prefix of digits up to
    /// three long and some longer ones: the DFA walk must say what the regex says, and never
    /// give up.
    #[test]
    #[allow(deprecated)] // the number descriptions: see library::ascii_digits_in
    fn walks_answer_as_the_regex_crate() {
        use super::super::format::{anchored_full, anchored_start};
        let mut texts: Vec<String> = vec![String::new()];
        for len in 1..=3 {
            let mut next = Vec::new();
            for text in texts.iter().filter(|t| t.len() == len - 1) {
                for d in '0'..='9' {
                    next.push(format!("{text}{d}"));
                }
            }
            texts.extend(next);
        }
        let mut checked = 0;
        for region in &super::super::library::metadata().metadata {
            let descs = [
                &region.general_desc,
                &region.fixed_line,
                &region.mobile,
                &region.toll_free,
                &region.premium_rate,
                &region.voip,
            ];
            let mut own = texts.clone();
            for d in descs.iter().copied().flatten() {
                if let Some(example) = &d.example_number {
                    for end in 0..=example.len() {
                        own.push(example[..end].to_string());
                    }
                    own.push(format!("{example}0"));
                }
            }
            let full: Vec<&str> = descs
                .iter()
                .copied()
                .flatten()
                .filter_map(|d| d.national_number_pattern.as_deref())
                .map(anchored_full)
                .filter(|p| !p.is_empty())
                .collect();
            let set = FullSet::new(&full);
            let regexes = RegexSet::new(&full).expect("compiles");
            for text in &own {
                let expected = regexes.matches(text).iter().fold(0, |b, i| b | 1 << i);
                // The walk itself, not `matches`: a walk that gave up would be
                // answered by the regex crate there, and pass.
                let walked = walk_full(&set.dfa, &mut set.cache.borrow_mut(), text.as_bytes());
                assert_eq!(walked, Some(expected), "{} {text:?}", region.id);
                checked += 1;
            }
            let starts = [
                &region.leading_digits,
                &region.national_prefix_for_parsing,
                &region.international_prefix,
            ];
            let formats = region
                .number_format
                .iter()
                .chain(&region.intl_number_format);
            let leading = formats.filter_map(|f| f.leading_digits_pattern.last());
            for base in starts.into_iter().flatten().chain(leading) {
                let pattern = anchored_start(base);
                let prefix = Prefix::new(pattern);
                let regex = Regex::new(pattern).expect("compiles");
                for text in &own {
                    let walked =
                        walk_prefix(&prefix.dfa, &mut prefix.cache.borrow_mut(), text.as_bytes());
                    assert_eq!(walked, Some(regex.is_match(text)), "{pattern} {text:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 500_000, "only {checked} checks");
    }

    #[test]
    fn an_empty_pattern_matches_everything_as_the_regex_crate_says() {
        let prefix = Prefix::new("");
        assert!(prefix.is_match(""));
        assert!(prefix.is_match("123"));
        let set = FullSet::new(&["^(?:12)$", "^(?:1[0-9])$", "^(?:3)$"]);
        assert_eq!(set.matches("12"), 0b011);
        assert_eq!(set.matches("13"), 0b010);
        assert_eq!(set.matches("3"), 0b100);
        assert_eq!(set.matches("123"), 0);
        assert_eq!(set.matches(""), 0);
    }
}
