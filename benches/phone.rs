//! Throughput of phone validation over the oracle fixture's mix of numbers (every region
//! and type; E.164, international and national forms; invalid and one-digit-off
//! variants): uncached on one thread and on every core, cached, and rlibphonenumber alone.
//!
//! `cargo bench --bench phone`; criterion reports elements (numbers) per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use leadcheck::phone::{self, geo};
use rlibphonenumber::{PhoneNumberFormat, Region, PHONE_NUMBER_UTIL};

const FIXTURE: &str = include_str!("../tests/data/phone_oracle.tsv");

/// The fixture's (input, country) pairs.
fn inputs() -> Vec<(&'static str, &'static str)> {
    FIXTURE
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut cols = line.split('\t');
            Some((cols.next()?, cols.next()?))
        })
        .collect()
}

fn validate_all(inputs: &[(&str, &str)]) {
    for (phone, country) in inputs {
        black_box(phone::validate(black_box(phone), black_box(country)));
    }
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    // Start-up work (metadata, patterns) is done before measuring, as the server does it.
    let engine = phone::Engine::new(inputs.len() as u64 * 2);
    let mut group = c.benchmark_group("phone");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.measurement_time(Duration::from_secs(8));

    group.bench_function("validate_uncached", |b| b.iter(|| validate_all(&inputs)));

    // Long-lived threads, as the server's workers are: each keeps its own libphonenumber
    // (src/phone/fast/library.rs), made and warmed by its first pass, before any is timed.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (passes_tx, passes_rx) = std::sync::mpsc::channel::<u64>();
            let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
            let inputs = inputs.clone();
            std::thread::spawn(move || {
                validate_all(&inputs);
                for passes in passes_rx {
                    (0..passes).for_each(|_| validate_all(&inputs));
                    if done_tx.send(()).is_err() {
                        break;
                    }
                }
            });
            (passes_tx, done_rx)
        })
        .collect();
    group.bench_function(format!("validate_uncached_{threads}_threads"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            // Each thread does its share of the passes.
            for (t, (passes, _)) in workers.iter().enumerate() {
                let share = iters / threads as u64 + u64::from((t as u64) < iters % threads as u64);
                passes.send(share).expect("worker thread");
            }
            for (_, done) in &workers {
                done.recv().expect("worker thread");
            }
            start.elapsed()
        })
    });

    // The cache admits a number on its second sighting.
    for _ in 0..2 {
        for (phone, country) in &inputs {
            engine.validate(phone, country);
        }
    }
    group.bench_function("engine_cached", |b| {
        b.iter(|| {
            for (phone, country) in &inputs {
                black_box(engine.validate(black_box(phone), black_box(country)));
            }
        })
    });

    // The library alone: parse, validity, type and E.164, no guards or fake rules.
    group.bench_function("rlibphonenumber_only", |b| {
        b.iter(|| {
            for (phone, country) in &inputs {
                let region = Region::from_code(country).ok();
                if let Ok(number) = PHONE_NUMBER_UTIL.parse(black_box(phone), region) {
                    black_box((
                        number.is_valid(),
                        number.get_type(),
                        number.format_as(PhoneNumberFormat::E164).len(),
                    ));
                }
            }
        })
    });
    group.finish();

    // The offline mappers alone (time zones, English and Spanish place, carrier), for the
    // fixture's valid numbers: their share of a validation.
    let valid: Vec<(u32, String, phone::NumberType)> = inputs
        .iter()
        .map(|(phone, country)| phone::validate(phone, country))
        .filter(|v| v.validity == phone::Validity::Valid)
        .filter_map(|v| {
            let digits = v.e164.strip_prefix('+')?;
            let national = digits.strip_prefix(&v.country_code.to_string())?;
            Some((v.country_code, national.to_string(), v.number_type?))
        })
        .collect();
    geo::load_all();
    let mut lookups = c.benchmark_group("phone_geo");
    lookups.throughput(Throughput::Elements(valid.len() as u64));
    lookups.bench_function("time_zones_location_carrier", |b| {
        b.iter(|| {
            for (country_code, national, number_type) in &valid {
                let number = geo::Number {
                    country_code: *country_code,
                    national,
                    number_type: *number_type,
                };
                black_box(geo::time_zones(black_box(&number)));
                black_box(geo::location(&number, geo::Language::En, || None::<&str>));
                black_box(geo::location(&number, geo::Language::Es, || None::<&str>));
                black_box(geo::carrier(&number));
            }
        })
    });
    lookups.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
