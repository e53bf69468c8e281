//! Typo suggestions: the popular mail domain an address was likely meant to have.
//!
//! A wrong suggestion on a real domain is worse than a missed one, so the rule is narrow.
//! The domain is split at its first dot into a name and a suffix (`gmial` + `com`), and a
//! popular domain is suggested when both parts are near it:
//!
//! - the name is the popular name, or one typo away from it: two neighbours swapped
//!   (`gmial`), a letter dropped (`hotmal`, or a doubled letter: `yaho`, `outlok`), a
//!   letter doubled or a neighbouring key slipped in (`gmaill`), or, for names of six
//!   letters or more, one letter replaced by a neighbouring key (`hotmaul`). The first
//!   letter must be right and the popular name at least five letters long: most real
//!   domains one letter away from `live` or `mail` are real, and so is `cloud.com`;
//! - the suffix is the popular suffix, or not a real top-level domain at all and within
//!   two edits of it (`gmail.con`, `gmail.cmo`, `yahoo.co.ul`); or, when the name is
//!   exactly a popular name of five letters or more, the popular suffix with one letter
//!   dropped (`gmail.co`, `gmail.om`), since nobody's mail is at gmail.co.
//!
//! A domain that is itself popular never gets a suggestion, nor does any domain whose
//! suffix is a different real TLD (`outlook.de`, `gmail.de`, `verizon.com` are real).
//! Among several candidates the fewest edits win, then the earlier popular domain. The
//! popular list itself (data/popular_domains.txt) leaves out providers whose names are
//! ordinary words, whose one-letter neighbours are often real domains.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

/// The delegated top-level domains (see data/README.md for origin and licence).
const TLDS: &str = include_str!("../../data/tlds.txt");

/// The popular name must be at least this long for any edit of the name to count.
const MIN_NAME_FOR_EDITS: usize = 5;
/// The popular name must be at least this long for a replaced letter to count.
const MIN_NAME_FOR_REPLACEMENT: usize = 6;
/// The most edits a made-up suffix may be from the popular one.
const MAX_SUFFIX_EDITS: usize = 2;

static REAL_TLDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    TLDS.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|tld| !tld.is_empty())
        .collect()
});

/// Suggests the popular domain `domain` was likely meant to be, if it looks mistyped.
///
/// `domain` is the ASCII (IDNA) form; `popular` is ordered most used first.
///
/// ```
/// # use leadcheck::email::suggest::suggest;
/// let popular = vec!["gmail.com".to_string(), "hotmail.com".to_string()];
/// assert_eq!(suggest("gmial.com", &popular).as_deref(), Some("gmail.com"));
/// assert_eq!(suggest("gmail.con", &popular).as_deref(), Some("gmail.com"));
/// assert_eq!(suggest("gmail.com", &popular), None);
/// assert_eq!(suggest("contoso.com", &popular), None);
/// ```
pub fn suggest(domain: &str, popular: &[String]) -> Option<String> {
    let domain = domain.trim_end_matches('.');
    // Called for every address: copy only a domain that is not lower-case already.
    let domain: Cow<'_, str> = if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(domain.to_ascii_lowercase())
    } else {
        Cow::Borrowed(domain)
    };
    if !domain.is_ascii() || popular.iter().any(|p| *p == *domain) {
        return None;
    }
    let (name, suffix) = split_at_dot(&domain)?;
    let first = name.as_bytes().first();
    let mut best: Option<(usize, &String)> = None;
    for target in popular {
        // Every candidate, exact or typo, starts with the same letter.
        if target.as_bytes().first() != first {
            continue;
        }
        let Some((target_name, target_suffix)) = split_at_dot(target) else {
            continue;
        };
        let name_edits = if name == target_name {
            0
        } else if is_name_typo(name.as_bytes(), target_name.as_bytes()) {
            1
        } else {
            continue;
        };
        let brand = name_edits == 0 && target_name.len() >= MIN_NAME_FOR_EDITS;
        let Some(suffix_edits) = suffix_edits(suffix, target_suffix, brand) else {
            continue;
        };
        let edits = name_edits + suffix_edits;
        if edits > 0 && best.is_none_or(|(fewest, _)| edits < fewest) {
            best = Some((edits, target));
        }
    }
    best.map(|(_, target)| target.clone())
}

/// Splits a domain at its first dot, as `split_once('.')` does, by a plain byte scan:
/// it runs for every candidate of every address, and on strings this short the scan
/// is cheaper than setting up `str`'s searcher.
fn split_at_dot(domain: &str) -> Option<(&str, &str)> {
    let dot = domain.bytes().position(|b| b == b'.')?;
    Some((domain.get(..dot)?, domain.get(dot + 1..)?))
}

/// Whether `typed` is one plausible typo away from the popular name `target`.
fn is_name_typo(typed: &[u8], target: &[u8]) -> bool {
    if target.len() < MIN_NAME_FOR_EDITS || typed.first() != target.first() || typed == target {
        return false;
    }
    // Where the two first differ: past the first letter, which is equal.
    let at = typed.iter().zip(target).take_while(|(a, b)| a == b).count();
    if at == 0 {
        return false;
    }
    let byte = |s: &[u8], i: usize| s.get(i).copied();
    if typed.len() == target.len() {
        // Two neighbours swapped: "gmial".
        let swapped = byte(typed, at) == byte(target, at + 1)
            && byte(typed, at + 1) == byte(target, at)
            && typed.get(at + 2..) == target.get(at + 2..);
        // One letter replaced by a neighbouring key, in a long enough name: "hotmaul".
        let replaced = target.len() >= MIN_NAME_FOR_REPLACEMENT
            && typed.get(at + 1..) == target.get(at + 1..)
            && matches!((byte(typed, at), byte(target, at)), (Some(a), Some(b)) if keys_touch(a, b));
        swapped || replaced
    } else if typed.len() + 1 == target.len() {
        // One letter dropped: "hotmal"; from a double letter: "yaho", "outlok".
        let dropped = byte(target, at);
        let doubled = dropped.is_some()
            && (byte(target, at - 1) == dropped || byte(target, at + 1) == dropped);
        // Dropping the second letter of a short name leaves too many real names ("gail").
        let plausible = doubled || at >= 2 || typed.len() >= MIN_NAME_FOR_EDITS;
        typed.get(at..) == target.get(at + 1..) && plausible
    } else if typed.len() == target.len() + 1 {
        // One letter slipped in: doubled ("gmaill") or a neighbouring key ("gmaikl").
        let Some(extra) = byte(typed, at) else {
            return false;
        };
        let neighbours = [byte(typed, at - 1), byte(typed, at + 1)];
        let slipped = neighbours
            .iter()
            .flatten()
            .any(|&n| n == extra || keys_touch(n, extra));
        typed.get(at + 1..) == target.get(at..) && slipped
    } else {
        false
    }
}

/// How many edits turn the typed suffix into the popular one, if it counts as a typo.
fn suffix_edits(typed: &str, target: &str, brand: bool) -> Option<usize> {
    if typed == target {
        return Some(0);
    }
    if !is_real_suffix(typed) {
        let edits = edit_distance(typed.as_bytes(), target.as_bytes());
        return (edits <= MAX_SUFFIX_EDITS).then_some(edits);
    }
    // A real but typo-prone TLD after an exact popular name: "gmail.co", "gmail.om".
    let dropped_one = typed.len() + 1 == target.len()
        && (0..target.len()).any(|i| {
            target
                .get(..i)
                .zip(target.get(i + 1..))
                .is_some_and(|(head, tail)| {
                    typed.len() == head.len() + tail.len()
                        && typed.starts_with(head)
                        && typed.ends_with(tail)
                })
        });
    (brand && dropped_one).then_some(1)
}

/// Whether the suffix ends in a delegated top-level domain.
fn is_real_suffix(suffix: &str) -> bool {
    let tld = suffix.rsplit('.').next().unwrap_or(suffix);
    REAL_TLDS.contains(tld)
}

/// Optimal string alignment distance: insertions, deletions, replacements and swaps of
/// neighbours each count one.
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    if a.len().abs_diff(b.len()) > MAX_SUFFIX_EDITS || a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in d.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for (i, &ca) in a.iter().enumerate() {
        for (j, &cb) in b.iter().enumerate() {
            let (row, prev) = ((i + 1) * width, i * width);
            let cost = usize::from(ca != cb);
            let mut best = (d[prev + j + 1] + 1)
                .min(d[row + j] + 1)
                .min(d[prev + j] + cost);
            if i > 0 && j > 0 && a.get(i - 1) == Some(&cb) && b.get(j - 1) == Some(&ca) {
                best = best.min(d[(i - 1) * width + j - 1] + 1);
            }
            d[row + j + 1] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// Whether two letter keys touch on a US QWERTY keyboard. Digits are left out: a digit
/// in a mail domain is nearly always meant (y7mail.com is Yahoo's, not a slip of ymail).
fn keys_touch(a: u8, b: u8) -> bool {
    match (key_position(a), key_position(b)) {
        (Some((row_a, x_a)), Some((row_b, x_b))) => {
            (row_a == row_b && x_a.abs_diff(x_b) == 4)
                || (row_a.abs_diff(row_b) == 1 && x_a.abs_diff(x_b) <= 3)
        }
        _ => false,
    }
}

/// A key's row and horizontal position in quarter-key units (rows are staggered).
fn key_position(key: u8) -> Option<(usize, usize)> {
    const ROWS: [(&[u8], usize); 3] = [(b"qwertyuiop", 0), (b"asdfghjkl", 1), (b"zxcvbnm", 3)];
    ROWS.iter().enumerate().find_map(|(row, (keys, offset))| {
        keys.iter()
            .position(|&k| k == key.to_ascii_lowercase())
            .map(|col| (row, col * 4 + offset))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::lists::Lists;
    use proptest::prelude::*;

    fn popular() -> Vec<String> {
        Lists::bundled().popular_domains().to_vec()
    }

    fn suggested(domain: &str) -> Option<String> {
        suggest(domain, &popular())
    }

    proptest! {
        #[test]
        fn the_dot_split_is_split_once(domain in "[a-zé.]{0,12}") {
            prop_assert_eq!(split_at_dot(&domain), domain.split_once('.'));
        }
    }

    #[test]
    fn the_issue_examples_get_their_suggestion() {
        assert_eq!(suggested("gmial.com").as_deref(), Some("gmail.com"));
        assert_eq!(suggested("hotmial.com").as_deref(), Some("hotmail.com"));
        assert_eq!(suggested("yaho.com").as_deref(), Some("yahoo.com"));
        assert_eq!(suggested("outlok.com").as_deref(), Some("outlook.com"));
        assert_eq!(suggested("gmail.con").as_deref(), Some("gmail.com"));
    }

    #[test]
    fn other_common_slips_get_a_suggestion() {
        for (typed, meant) in [
            ("gmaill.com", "gmail.com"),
            ("gmai.com", "gmail.com"),
            ("gmal.com", "gmail.com"),
            ("gmail.cmo", "gmail.com"),
            ("gmail.comm", "gmail.com"),
            ("gmail.co", "gmail.com"),
            ("gmail.om", "gmail.com"),
            ("gmial.con", "gmail.com"),
            ("hotmal.com", "hotmail.com"),
            ("hotmaul.com", "hotmail.com"),
            ("hotmail.co.ul", "hotmail.co.uk"),
            ("yahooo.com", "yahoo.com"),
            ("yahoo.cm", "yahoo.com"),
            ("yahoo.fe", "yahoo.fr"),
            ("outllok.com", "outlook.com"),
            ("iclod.com", "icloud.com"),
            ("comcats.net", "comcast.net"),
            ("verizon.ne", "verizon.net"),
            ("GMIAL.COM", "gmail.com"),
            ("hitmail.com", "hotmail.com"),
            ("googlemial.com", "googlemail.com"),
        ] {
            assert_eq!(suggested(typed).as_deref(), Some(meant), "{typed}");
        }
    }

    #[test]
    fn popular_and_real_domains_get_none() {
        for domain in [
            "gmail.com",
            "contoso.com",
            "mail.com",
            "gmx.de",
            "ymail.com",
            "live.com",
            "email.com",
            "gail.com",
            "cloud.com",
            "love.com",
            "olive.com",
            "web.com",
            "mail.de",
            "orange.com",
            "att.com",
            "verizon.com",
            "comcast.com",
            "gmail.de",
            "yahoo.ro",
            "aol.de",
            "mailchimp.com",
            "google.com",
            "microsoft.com",
            "wahoo.com",
            "y7mail.com",
            "me.co",
            "live.co",
            "hotmail.co.jp",
            "outlook.office365.com",
            "gmail.com.br",
            "mail.gmail.com",
        ] {
            assert_eq!(suggested(domain), None, "{domain}");
        }
    }

    #[test]
    fn no_popular_domain_is_suggested_for_itself() {
        let popular = popular();
        for domain in &popular {
            assert_eq!(suggest(domain, &popular), None, "{domain}");
        }
    }

    /// The conservativeness check on real data: every free provider of the bundled list
    /// is a real mail domain, so none may be "corrected", except the few listed here,
    /// which are typo-squatting domains the free list carries (checked by hand).
    #[test]
    fn no_real_free_provider_gets_a_suggestion() {
        let lists = Lists::bundled();
        let popular = lists.popular_domains();
        let known_typo_domains = [
            "hitmail.com",
            "hotmail.co",
            "sbcglbal.net",
            "yaho.com",
            "yahoo.co",
        ];
        let wrong: Vec<String> = lists
            .free_domains()
            .filter(|domain| !known_typo_domains.contains(domain))
            .filter_map(|domain| suggest(domain, popular).map(|s| format!("{domain} -> {s}")))
            .collect();
        assert!(
            wrong.is_empty(),
            "{} real domains corrected:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance(b"com", b"com"), 0);
        assert_eq!(edit_distance(b"cmo", b"com"), 1);
        assert_eq!(edit_distance(b"con", b"com"), 1);
        assert_eq!(edit_distance(b"c", b"com"), 2);
        assert_eq!(edit_distance(b"co.ul", b"co.uk"), 1);
        assert_eq!(edit_distance(b"abcdef", b"com"), usize::MAX);
    }

    #[test]
    fn keyboard_neighbours() {
        assert!(keys_touch(b'u', b'i'));
        assert!(keys_touch(b'g', b'y'));
        assert!(keys_touch(b'a', b'z'));
        assert!(keys_touch(b'm', b'k'));
        assert!(!keys_touch(b'y', b'w'));
        assert!(!keys_touch(b'a', b'x'));
        assert!(!keys_touch(b'.', b'm'));
        assert!(!keys_touch(b'7', b'y'));
    }

    proptest! {
        #[test]
        fn a_suggestion_is_always_another_popular_domain(domain in "[a-z0-9.\\-]{0,30}") {
            let popular = popular();
            if let Some(s) = suggest(&domain, &popular) {
                prop_assert!(popular.contains(&s));
                prop_assert_ne!(s, domain);
            }
        }

        #[test]
        fn any_input_is_answered(domain in "\\PC{0,40}") {
            let _ = suggest(&domain, &popular());
        }
    }
}
