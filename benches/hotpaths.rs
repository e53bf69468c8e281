//! The CPU hot paths of one assessment, each alone: email syntax, the spam/disposable and
//! free-provider lists, the typo suggestion, the warm DNS cache, LeadSource parsing and
//! scoring; then a whole lead's assessment with warm caches, as a warm unary call does it
//! without gRPC around it; then the encoding of its answer, ours against prost's.
//!
//! `cargo bench --bench hotpaths`; criterion reports elements per second.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use leadcheck::email::dns::{DnsConfig, MailRoutes, Route};
use leadcheck::email::{lists::Lists, suggest, syntax};
use leadcheck::lead::score::{EmailClass, Model, PhoneClass, Quality, Signals};
use leadcheck::lead::source::{self, Action};
use leadcheck::lead::Lead;
use leadcheck::rpc::{assessment_to_pb, EncodedAssessment};
use prost::Message;

/// Addresses as leads type them: plain, tagged, IDN, role, typo, broken.
const EMAILS: &[&str] = &[
    "jane.doe@contoso.com",
    "Jane.Doe+crm@Gmail.com",
    "info@fabrikam.co.uk",
    "jürgen@bücher.de",
    "ana.garcia@hotmial.com",
    "sales@gmail.con",
    "user@mailinator.com",
    "x@sub.guerrillamail.com",
    "\"quoted local\"@example.org",
    "no-at-sign.example.com",
    "a..b@example.com",
    "user@[192.0.2.1]",
    "very.long.local.part.of.an.address.that.goes.on@long-subdomain.example-company.com",
    "ivan@почта.рф",
    "someone@outlook.de",
    "noreply@verizon.com",
];

const SOURCES: &[&str] = &[
    "AzureMarketplace-INS | checkpoint.check-point-r77-10sg-byol",
    "AppSource (SPZA)-StartTestDrive | contoso.crm-addon",
    "AzurePortal-Create | bitnami.openedxcypress",
    "appsource - plt|docusign.3701c77e",
    "AppSource (SPZA)-DNC | contoso.crm-addon",
    "garbage",
    "",
    "Bing-Buy | a.b",
];

fn domains() -> Vec<&'static str> {
    EMAILS
        .iter()
        .filter_map(|e| e.rsplit_once('@').map(|(_, d)| d))
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("hotpaths");
    group.measurement_time(Duration::from_secs(4));

    group.throughput(Throughput::Elements(EMAILS.len() as u64));
    group.bench_function("email_syntax", |b| {
        b.iter(|| {
            for email in EMAILS {
                let _ = black_box(syntax::parse(black_box(email)));
            }
        })
    });

    let lists = Lists::bundled();
    let domains = domains();
    group.throughput(Throughput::Elements(domains.len() as u64));
    group.bench_function("lists_lookup", |b| {
        b.iter(|| {
            for domain in &domains {
                black_box(lists.spam_match(black_box(domain)));
                black_box(lists.is_free_provider(black_box(domain)));
            }
        })
    });

    let popular = lists.popular_domains();
    group.bench_function("typo_suggestion", |b| {
        b.iter(|| {
            for domain in &domains {
                black_box(suggest::suggest(black_box(domain), popular));
            }
        })
    });

    // The warm DNS cache: nearly every lead's read, nearly always a hit. 300 domains, as
    // the load benchmark's, answered once by a DNS server on loopback.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dns = runtime
        .block_on(leadcheck::testkit::dns_server::DnsServer::start())
        .expect("the loopback DNS server");
    let names: Vec<String> = (0..300).map(|i| format!("company-{i}.test")).collect();
    for name in &names {
        dns.mx(name, &[(10, &format!("mx.{name}"))]);
    }
    let routes = MailRoutes::new(DnsConfig {
        servers: vec![dns.addr()],
        allow_suffixes: vec!["test".into()],
        ..DnsConfig::default()
    })
    .expect("the resolver");
    runtime.block_on(async {
        for name in &names {
            let route = routes.route(name).await;
            assert!(matches!(route, Route::Mx { .. }), "{name}: {route:?}");
        }
    });
    group.throughput(Throughput::Elements(names.len() as u64));
    group.bench_function("dns_cache_hit", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for name in &names {
                    black_box(routes.route(black_box(name)).await);
                }
            })
        })
    });

    group.throughput(Throughput::Elements(SOURCES.len() as u64));
    group.bench_function("lead_source_parse", |b| {
        b.iter(|| {
            for raw in SOURCES {
                black_box(source::parse(black_box(raw)));
            }
        })
    });

    let model = Model::bundled();
    let now = SystemTime::now();
    let signals = [
        Signals {
            action: Action::StartTestDrive,
            source_malformed: false,
            email: EmailClass::Valid,
            free_provider: false,
            role_account: false,
            disposable: false,
            phone: PhoneClass::Valid,
            phone_mobile: true,
            phone_toll_free_or_premium: false,
            first_name: "Ana",
            last_name: "García",
            company: "Contoso",
            title: "Directora de Ventas",
            created_at: Some(now - Duration::from_secs(3600)),
            ..Signals::default()
        },
        Signals {
            action: Action::PartnerLedTrial,
            source_malformed: true,
            email: EmailClass::Invalid,
            free_provider: true,
            role_account: true,
            disposable: false,
            phone: PhoneClass::Missing,
            phone_mobile: false,
            phone_toll_free_or_premium: false,
            first_name: "asdf",
            last_name: "qwerty",
            company: "",
            title: "Генеральный директор",
            created_at: None,
            ..Signals::default()
        },
    ];
    group.throughput(Throughput::Elements(signals.len() as u64));
    group.bench_function("scoring", |b| {
        b.iter(|| {
            for s in &signals {
                black_box(model.score(black_box(s), now));
            }
        })
    });

    // A whole lead, caches warm: 1,000 leads over the 300 domains above, each assessed
    // once before the measurement, so their domains and phones are cached as in the load
    // benchmark's unary run.
    let engines = leadcheck::server::build_engines(
        &leadcheck::config::Config {
            dns: leadcheck::config::Dns {
                servers: vec![dns.addr()],
                allow_suffixes: vec!["test".into()],
                ..Default::default()
            },
            ..Default::default()
        },
        std::sync::Arc::new(leadcheck::lead::SystemClock),
    )
    .expect("the engines");
    let leads: Vec<Lead> = (0..1_000).map(|n| lead(&names, n)).collect();
    // Kept for the encoding benchmarks below.
    let assessments: Vec<_> = runtime.block_on(async {
        let mut all = Vec::with_capacity(leads.len());
        for lead in &leads {
            let assessment = engines.assessor.assess(lead).await;
            assert_eq!(assessment.score.quality, Quality::High, "{lead:?}");
            all.push(assessment);
        }
        all
    });
    group.throughput(Throughput::Elements(leads.len() as u64));
    group.bench_function("whole_lead_warm", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for lead in &leads {
                    black_box(engines.assessor.assess(black_box(lead)).await);
                }
            })
        })
    });

    // The answer's encoding, the server's way against prost's: the same bytes (a test in
    // src/rpc/wire_tests.rs holds them together), each routine given its own copy of the
    // assessments and freeing what it made, as the server does.
    group.throughput(Throughput::Elements(assessments.len() as u64));
    group.bench_function("encode_answer_wire", |b| {
        b.iter_batched(
            || assessments.clone(),
            |assessments| {
                for a in assessments {
                    black_box(EncodedAssessment::new("42", &a));
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("encode_answer_prost", |b| {
        b.iter_batched(
            || assessments.clone(),
            |assessments| {
                for a in assessments {
                    black_box(assessment_to_pb("42".into(), a).encode_to_vec());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Lead `n`, as a form fills it in: a company address, a Spanish mobile, a trial.
fn lead(domains: &[String], n: usize) -> Lead {
    Lead {
        first_name: "Ana".into(),
        last_name: "García".into(),
        email: format!("ana.garcia.{n}@{}", domains[n % domains.len()]),
        phone: format!(
            "6{:02} {:03} {:03}",
            10 + n % 90,
            n / 90 % 1000,
            100 + n % 900
        ),
        country: "ES".into(),
        company: format!("Company {}", n % 97),
        title: "Directora de Ventas".into(),
        lead_source: SOURCES[n % 2].into(),
        created_at: None,
        ..Lead::default()
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
