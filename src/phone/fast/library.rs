//! libphonenumber (rlibphonenumber) on our copy of its metadata, one instance per thread.
//!
//! Two costs of rlibphonenumber's own global instance are why this module exists (part
//! of the phone engine's fast path, see [`quick`](super::quick)):
//!
//! - **Unicode `\d`.** The metadata's patterns write a digit as `\d`, which the `regex`
//!   crate compiles as Unicode's decimal digits: about 60 ranges, repeated for every
//!   `\d{7}`, which makes the compiled patterns of the warm regions ten times larger.
//!   Every text libphonenumber matches against these patterns is ASCII digits by then (it
//!   normalises the number first), where `\d` and `[0-9]` match the same, and `[0-9]`
//!   compiles smaller and faster and matches a little faster.
//! - **Sharing one instance across threads.** Each match takes a cache from the
//!   pattern's pool: the first thread that used the pattern takes it on a fast path, any
//!   other through a mutex (regex-automata's `Pool::get_slow`). With the patterns warmed
//!   on the main thread, both worker threads took the slow path for every match. An
//!   instance per thread makes every thread the first user of its own patterns.
//!
//! The metadata is `data/phone_metadata.bin`, copied from the rlibphonenumber release in
//! Cargo.lock by `data/update-phone-metadata.sh`; a test checks that it answers as
//! rlibphonenumber's built-in copy does.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use prost::Message;
use rlibphonenumber::{NumberFormat, PhoneMetadata, PhoneMetadataCollection, PhoneNumberUtil};

/// libphonenumber's metadata, in rlibphonenumber's protobuf form.
const METADATA: &[u8] = include_bytes!("../../../data/phone_metadata.bin");

/// The metadata with its patterns' digits made ASCII; decoded once, cloned per thread.
pub(super) fn metadata() -> &'static PhoneMetadataCollection {
    static DECODED: OnceLock<PhoneMetadataCollection> = OnceLock::new();
    DECODED.get_or_init(|| {
        // Compiled-in data: a test decodes it, so this cannot fail at run time.
        let mut collection = PhoneMetadataCollection::decode(METADATA)
            .unwrap_or_else(|e| panic!("data/phone_metadata.bin: {e}"));
        for region in &mut collection.metadata {
            ascii_digits_in(region);
        }
        collection
    })
}

/// The metadata rlibphonenumber formats a calling code's numbers with: its main region's
/// (the one marked main for the code, else the first listed), or the non-geographic
/// entity's (`001`, for +800 and the like). None for a code no region has.
pub(crate) fn main_metadata(country_code: i32) -> Option<&'static PhoneMetadata> {
    static MAIN: OnceLock<HashMap<i32, usize>> = OnceLock::new();
    let main = MAIN.get_or_init(|| {
        let mut main = HashMap::new();
        for (i, region) in metadata().metadata.iter().enumerate() {
            let Some(code) = region.country_code else {
                continue;
            };
            // rlibphonenumber lists a code's regions with the main one pushed to the
            // front, and takes the first: the last marked main, else the first listed.
            if region.main_country_for_code() || !main.contains_key(&code) {
                main.insert(code, i);
            }
        }
        main
    });
    main.get(&country_code)
        .and_then(|&i| metadata().metadata.get(i))
}

thread_local! {
    /// This thread's instance, made on its first use.
    static INSTANCE: PhoneNumberUtil = PhoneNumberUtil::new_for_metadata(metadata().clone())
        // The same data a test builds an instance from.
        .unwrap_or_else(|e| panic!("data/phone_metadata.bin: {e}"));
}

/// Runs `f` with this thread's libphonenumber, made on first use (each pattern then
/// compiles on its first match).
pub(crate) fn with<R>(f: impl FnOnce(&PhoneNumberUtil) -> R) -> R {
    INSTANCE.with(f)
}

/// Decodes the metadata now, so that no thread's first number pays for it.
pub(crate) fn load() {
    let _ = metadata();
}

/// Rewrites `\d` as `[0-9]` in every regular expression of one region's metadata. The
/// other strings (formats, transform rules, prefixes to dial) are not patterns.
///
/// rlibphonenumber marks the number descriptions deprecated: its own wrapper moves them
/// out when it builds an instance. In the decoded collection, before that, they hold the
/// data.
#[allow(deprecated)]
fn ascii_digits_in(region: &mut PhoneMetadata) {
    let descriptions = [
        &mut region.general_desc,
        &mut region.fixed_line,
        &mut region.mobile,
        &mut region.toll_free,
        &mut region.premium_rate,
        &mut region.shared_cost,
        &mut region.personal_number,
        &mut region.voip,
        &mut region.pager,
        &mut region.uan,
        &mut region.emergency,
        &mut region.voicemail,
        &mut region.short_code,
        &mut region.standard_rate,
        &mut region.carrier_specific,
        &mut region.sms_services,
        &mut region.no_international_dialling,
    ];
    for description in descriptions.into_iter().flatten() {
        rewrite(&mut description.national_number_pattern);
    }
    rewrite(&mut region.international_prefix);
    rewrite(&mut region.national_prefix_for_parsing);
    rewrite(&mut region.leading_digits);
    let formats = region.number_format.iter_mut();
    for format in formats.chain(region.intl_number_format.iter_mut()) {
        rewrite_format(format);
    }
}

#[allow(deprecated)] // as in ascii_digits_in
fn rewrite_format(format: &mut NumberFormat) {
    format.pattern = ascii_digit_classes(&format.pattern);
    for pattern in &mut format.leading_digits_pattern {
        *pattern = ascii_digit_classes(pattern);
    }
}

fn rewrite(pattern: &mut Option<String>) {
    if let Some(pattern) = pattern {
        *pattern = ascii_digit_classes(pattern);
    }
}

/// The pattern with each `\d` written `[0-9]` (`0-9` inside a class); every other escape
/// and character as it was.
fn ascii_digit_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') if in_class => out.push_str("0-9"),
                Some('d') => out.push_str("[0-9]"),
                Some(escaped) => {
                    out.push('\\');
                    out.push(escaped);
                }
                None => out.push('\\'),
            },
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Warms the libphonenumber instance of every worker thread of the current tokio runtime
/// with `warm`, each on its own thread; returns how many threads it warmed.
///
/// tokio cannot be asked to run a task on a given worker, so each warming task, once done,
/// holds its thread until all have started: then no two ran on the same thread. The hold
/// is a blocking wait, at start-up only, and ends after `timeout` in any case (a worker
/// busy elsewhere): a thread that was not warmed compiles its patterns on first use.
pub async fn warm_workers(warm: fn() -> usize, timeout: Duration) -> usize {
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let gate = Arc::new(Gate::new(workers, Instant::now() + timeout));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let gate = gate.clone();
            tokio::spawn(async move {
                let warmed = warm_this_thread(warm);
                gate.arrive_and_wait();
                warmed
            })
        })
        .collect();
    let mut warmed = 0;
    for task in tasks {
        if matches!(task.await, Ok(true)) {
            warmed += 1;
        }
    }
    warmed
}

thread_local! {
    /// Whether this thread's instance was warmed already.
    static WARMED: Cell<bool> = const { Cell::new(false) };
}

/// Warms this thread's instance unless it was; says whether this call warmed it.
fn warm_this_thread(warm: fn() -> usize) -> bool {
    if WARMED.with(Cell::get) {
        return false;
    }
    warm();
    WARMED.with(|w| w.set(true));
    true
}

/// A barrier for `parties` threads that gives up at a deadline.
struct Gate {
    arrived: Mutex<usize>,
    all_in: Condvar,
    parties: usize,
    deadline: Instant,
}

impl Gate {
    fn new(parties: usize, deadline: Instant) -> Gate {
        Gate {
            arrived: Mutex::new(0),
            all_in: Condvar::new(),
            parties,
            deadline,
        }
    }

    /// Waits until every party has arrived, or the deadline.
    fn arrive_and_wait(&self) {
        let Ok(mut arrived) = self.arrived.lock() else {
            return;
        };
        *arrived += 1;
        if *arrived >= self.parties {
            self.all_in.notify_all();
            return;
        }
        while *arrived < self.parties {
            let Some(left) = self.deadline.checked_duration_since(Instant::now()) else {
                return;
            };
            match self.all_in.wait_timeout(arrived, left) {
                Ok((guard, _)) => arrived = guard,
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_become_ascii_and_nothing_else_changes() {
        assert_eq!(ascii_digit_classes(r"[2-9]\d{9}"), "[2-9][0-9]{9}");
        assert_eq!(
            ascii_digit_classes(r"(\d{3})(\d{4})"),
            "([0-9]{3})([0-9]{4})"
        );
        assert_eq!(ascii_digit_classes(r"[1-5\d]\d"), "[1-50-9][0-9]");
        assert_eq!(ascii_digit_classes(r"0(?:1\d|[2-9])"), "0(?:1[0-9]|[2-9])");
        assert_eq!(ascii_digit_classes(r"\+|\s|\\d"), r"\+|\s|\\d");
        assert_eq!(ascii_digit_classes(""), "");
    }

    /// Every pattern of the shipped metadata compiles after the rewrite, none keeps a
    /// Unicode `\d`, and the rewrite did reach them.
    #[test]
    #[allow(deprecated)] // the number descriptions: see ascii_digits_in
    fn the_shipped_metadata_has_ascii_patterns_only() {
        let original = PhoneMetadataCollection::decode(METADATA).expect("decodes");
        let original_digits = original
            .metadata
            .iter()
            .filter(|m| {
                m.fixed_line
                    .as_ref()
                    .and_then(|d| d.national_number_pattern.as_deref())
                    .is_some_and(|p| p.contains(r"\d"))
            })
            .count();
        assert!(original_digits > 200, "{original_digits} regions with \\d");
        let mut patterns = 0;
        for region in &metadata().metadata {
            let mut all: Vec<&str> = Vec::new();
            for format in region
                .number_format
                .iter()
                .chain(&region.intl_number_format)
            {
                all.push(&format.pattern);
                all.extend(format.leading_digits_pattern.iter().map(String::as_str));
            }
            let descriptions = [&region.general_desc, &region.fixed_line, &region.mobile];
            all.extend(
                descriptions
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.national_number_pattern.as_deref()),
            );
            all.extend(region.national_prefix_for_parsing.as_deref());
            all.extend(region.international_prefix.as_deref());
            for pattern in all {
                assert!(!pattern.contains(r"\d"), "{}: {pattern}", region.id);
                regex::Regex::new(pattern)
                    .unwrap_or_else(|e| panic!("{}: {pattern}: {e}", region.id));
                patterns += 1;
            }
        }
        assert!(patterns > 2000, "only {patterns} patterns");
    }

    /// Our copy of the metadata, its digits made ASCII, answers as rlibphonenumber's own
    /// built-in copy: every example number of every region and type, each also one digit
    /// shorter, one longer and with its last digit changed, nationally and with `+`, and
    /// every input of the oracle fixture. A metadata file left behind by an rlibphonenumber
    /// update, or a rewrite that changed a pattern's meaning, fails here.
    #[test]
    fn our_metadata_answers_as_rlibphonenumbers_own() {
        use rlibphonenumber::{PhoneNumberFormat as F, Region, PHONE_NUMBER_UTIL};
        let theirs: &PhoneNumberUtil = &PHONE_NUMBER_UTIL;
        let mut inputs: Vec<(String, Option<Region>)> = Vec::new();
        let regions: Vec<Region> = theirs.get_supported_regions().collect();
        with(|ours| {
            let mut our_regions: Vec<Region> = ours.get_supported_regions().collect();
            let mut their_regions = regions.clone();
            our_regions.sort_by_key(|r| r.as_region_str().to_string());
            their_regions.sort_by_key(|r| r.as_region_str().to_string());
            assert_eq!(our_regions, their_regions, "the same regions");
        });
        for region in &regions {
            for t in crate::phone::all_types() {
                let Ok(example) = theirs.get_example_number_for_type_and_region(*region, t) else {
                    continue;
                };
                let e164 = theirs.format(&example, F::E164).into_owned();
                let national = example.national_number.to_string();
                let last = e164
                    .chars()
                    .last()
                    .map_or('0', |c| if c == '9' { '0' } else { '9' });
                let changed = format!("{}{last}", &e164[..e164.len() - 1]);
                for text in [
                    e164.clone(),
                    format!("{e164}5"),
                    e164[..e164.len() - 1].to_string(),
                    changed,
                ] {
                    inputs.push((text, None));
                }
                let formatted = theirs.format(&example, F::National).into_owned();
                inputs.push((formatted, Some(*region)));
                inputs.push((national, Some(*region)));
            }
        }
        for code in theirs.get_supported_global_network_calling_codes() {
            if let Ok(example) = theirs.get_example_number_for_non_geo_entity(code) {
                inputs.push((theirs.format(&example, F::E164).into_owned(), None));
            }
        }
        // Numbers of every length each region has, digits drawn at random (a fixed seed):
        // most are invalid, all are formatted, by whichever rule their digits choose.
        let mut seed: u64 = 0x5eed;
        let mut digit = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            char::from(b'0' + u8::try_from((seed >> 33) % 10).unwrap_or(0))
        };
        #[allow(deprecated)] // the number descriptions: see ascii_digits_in
        for region in &metadata().metadata {
            let (Some(code), Some(general)) = (region.country_code, &region.general_desc) else {
                continue;
            };
            for &len in &general.possible_length {
                for _ in 0..24 {
                    let nsn: String = (0..len).map(|_| digit()).collect();
                    inputs.push((format!("+{code}{nsn}"), None));
                }
            }
        }
        let fixture = include_str!("../../../tests/data/phone_oracle.tsv");
        for line in fixture.lines().filter(|l| !l.starts_with('#')) {
            let mut cols = line.split('\t');
            if let (Some(input), Some(hint)) = (cols.next(), cols.next()) {
                inputs.push((input.to_string(), Region::from_code(hint).ok()));
            }
        }
        /// rlibphonenumber's answers; with `ours`, the number, forms, E.164, region and
        /// type as the verdict has them (`quick`, `format`).
        fn answer(
            util: &PhoneNumberUtil,
            text: &str,
            region: Option<Region>,
            ours: bool,
        ) -> String {
            let quick = ours
                .then(|| {
                    let international = crate::phone::is_international(text);
                    crate::phone::fast::quick::parse(text, international, region)
                })
                .flatten();
            let Some(n) = quick.or_else(|| util.parse(text, region).ok()) else {
                return format!("{:?}", util.parse(text, region));
            };
            let (forms, e164, (number_region, number_type)) = if ours {
                let nsn = n.get_national_significant_number();
                (
                    crate::phone::fast::format::forms(util, &n, &nsn),
                    crate::phone::e164(n.country_code, &nsn),
                    crate::phone::fast::quick::classify(n.country_code, &nsn),
                )
            } else {
                let forms = crate::phone::fast::format::Forms {
                    international: util.format(&n, F::International).into_owned(),
                    national: util.format(&n, F::National).into_owned(),
                };
                let e164 = util.format(&n, F::E164).into_owned();
                (
                    forms,
                    e164,
                    (util.get_region_for_number(&n), util.get_number_type(&n)),
                )
            };
            format!(
                "{n:?} | {e164} | {forms:?} | {number_type:?} | {number_region:?} | {:?} | {}",
                util.is_possible_number_with_reason(&n),
                util.get_length_of_national_destination_code(&n),
            )
        }
        let (mut valid, mut invalid) = (0, 0);
        with(|ours| {
            for (text, region) in &inputs {
                let expected = answer(theirs, text, *region, false);
                assert_eq!(
                    answer(ours, text, *region, true),
                    expected,
                    "{text} in {region:?}"
                );
                if expected.contains(" | Unknown | ") {
                    invalid += 1;
                } else {
                    valid += 1;
                }
            }
        });
        assert!(inputs.len() > 25_000, "only {} inputs", inputs.len());
        assert!(
            valid > 8_000 && invalid > 10_000,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn each_thread_has_its_own_instance() {
        fn address() -> usize {
            with(|util| std::ptr::from_ref(util) as usize)
        }
        let here = address();
        assert_eq!(address(), here, "the same instance on the same thread");
        let there = std::thread::spawn(address).join().expect("thread");
        assert_ne!(there, here, "another thread, another instance");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_worker_is_warmed_once() {
        fn warm() -> usize {
            with(|_| 1)
        }
        assert_eq!(warm_workers(warm, Duration::from_secs(10)).await, 2);
        // Warmed already: a second round warms no thread again.
        assert_eq!(warm_workers(warm, Duration::from_secs(10)).await, 0);
    }

    #[test]
    fn a_gate_gives_up_at_its_deadline() {
        let gate = Gate::new(2, Instant::now() + Duration::from_millis(50));
        let started = Instant::now();
        gate.arrive_and_wait();
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
