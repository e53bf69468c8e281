//! AssessLead and the AssessLeads stream.

use leadcheck::pb;
use leadcheck::testkit::DnsServer;

use crate::support::Server;

fn lead(i: usize) -> pb::Lead {
    pb::Lead {
        first_name: "Ana".into(),
        last_name: "García".into(),
        email: format!("ana.garcia{i}@contoso.test"),
        phone: "+44 20 7183 8750".into(),
        country: "GB".into(),
        company: "Contoso".into(),
        title: "Directora de Ventas".into(),
        lead_source: "AzureMarketplace-INS | contoso.crm-addon".into(),
        created_at: None,
        ..Default::default()
    }
}

#[tokio::test]
async fn assess_lead_explains_its_score() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let server = Server::start(dns.addr(), &[]);
    let mut client = server.client().await;
    let a = client
        .assess_lead(pb::AssessLeadRequest {
            request_id: "req-1".into(),
            lead: Some(lead(1)),
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.request_id, "req-1");
    assert_eq!(
        a.email.as_ref().unwrap().validity(),
        pb::EmailValidity::Valid
    );
    assert_eq!(
        a.phone.as_ref().unwrap().validity(),
        pb::PhoneValidity::Valid
    );
    let source = a.source.as_ref().unwrap();
    assert_eq!(source.source(), pb::Source::AzureMarketplace);
    assert_eq!(source.action(), pb::Action::Install);
    assert_eq!(source.publisher_id, "contoso");
    assert_eq!(source.offer_id, "crm-addon");
    assert!(!a.factors.is_empty());
    assert!(!a.model_version.is_empty());
    assert_eq!(a.dedup_key, "email:ana.garcia1@contoso.test");
    assert!(a.score <= 100);
    assert_eq!(a.quality(), pb::LeadQuality::High, "{a:?}");

    // Do-not-contact is always LOW, whatever else the lead has.
    let mut dnc = lead(2);
    dnc.lead_source = "AppSource (SPZA)-DNC | contoso.crm-addon".into();
    let a = client
        .assess_lead(pb::AssessLeadRequest {
            request_id: "req-2".into(),
            lead: Some(dnc),
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.quality(), pb::LeadQuality::Low, "{a:?}");
}

#[tokio::test]
async fn the_stream_answers_every_lead_in_order_and_survives_bad_ones() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let server = Server::start(dns.addr(), &["--stream-in-flight", "8"]);
    let mut client = server.client().await;
    let requests: Vec<pb::AssessLeadRequest> = (0..500)
        .map(|i| {
            let mut lead = lead(i);
            if i % 50 == 7 {
                // Over the field limit: its own verdict, the stream goes on.
                lead.company = "x".repeat(10_000);
            }
            if i % 50 == 9 {
                lead.email = "not an email".into();
                lead.lead_source = "garbage".into();
            }
            pb::AssessLeadRequest {
                request_id: format!("r{i}"),
                lead: Some(lead),
                as_of: None,
            }
        })
        .collect();
    let mut stream = client
        .assess_leads(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut answers = Vec::new();
    while let Some(answer) = stream.message().await.unwrap() {
        answers.push(answer);
    }
    assert_eq!(answers.len(), 500);
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a.request_id, format!("r{i}"));
        if i % 50 == 7 {
            assert_eq!(a.reasons[0].code, "request.field_too_long");
            assert!(a.reasons[0].message.contains("lead.company"));
            assert_eq!(a.quality(), pb::LeadQuality::Low);
        } else if i % 50 == 9 {
            assert_eq!(
                a.email.as_ref().unwrap().validity(),
                pb::EmailValidity::Invalid
            );
        } else {
            assert_eq!(
                a.email.as_ref().unwrap().validity(),
                pb::EmailValidity::Valid
            );
        }
    }
}

/// AssessLeads validates several leads at once, never more than `stream_in_flight`, and a
/// cancelled stream stops its work. Every lead's domain is one the DNS server never
/// answers, so a lead stays in flight for the whole DNS timeout and the DNS server's
/// query log shows which leads were started.
#[tokio::test]
async fn the_stream_is_concurrent_bounded_and_stops_when_cancelled() {
    use leadcheck::testkit::Behaviour;
    use std::time::Duration;

    let dns = DnsServer::start().await.unwrap();
    let domains: Vec<String> = (0..100).map(|i| format!("slow{i}.test")).collect();
    for domain in &domains {
        dns.behave(domain, Behaviour::Silent);
    }
    let server = Server::start(
        dns.addr(),
        &[
            "--stream-in-flight",
            "4",
            "--dns-timeout-ms",
            "2000",
            "--dns-attempts",
            "1",
        ],
    );
    let started = || domains.iter().filter(|d| dns.queries_for(d) > 0).count();
    let mut client = server.client().await;
    // Every request is sent at once: they wait in the server's HTTP/2 window.
    let requests: Vec<pb::AssessLeadRequest> = domains
        .iter()
        .enumerate()
        .map(|(i, domain)| {
            let mut lead = lead(i);
            lead.email = format!("ana@{domain}");
            pb::AssessLeadRequest {
                request_id: format!("r{i}"),
                lead: Some(lead),
                as_of: None,
            }
        })
        .collect();
    let stream = client
        .assess_leads(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();

    // Concurrent: four leads start together, not one after another.
    let waited = std::time::Instant::now();
    while started() < 4 && waited.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(started(), 4, "four leads in flight at once");
    // Bounded: while those four wait on DNS, no fifth lead starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(started(), 4, "no more than stream_in_flight leads at once");

    // Cancelled: dropping the stream drops the leads in flight, and the 96 requests
    // still waiting are never started, though the first four's DNS waits have ended.
    drop(stream);
    drop(client);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(started(), 4, "a cancelled stream started no more leads");
    // The server is unharmed.
    let mut client = server.client().await;
    let a = client
        .assess_lead(pb::AssessLeadRequest {
            request_id: "after".into(),
            lead: Some(lead(1)),
            as_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.request_id, "after");
}

/// A fixed moment, 2027-01-15 08:00 UTC: every test here measures recency from it.
fn as_of() -> pbjson_types::Timestamp {
    pbjson_types::Timestamp {
        seconds: 1_800_000_000,
        nanos: 0,
    }
}

/// `as_of()` minus `secs`.
fn before_as_of(secs: i64) -> Option<pbjson_types::Timestamp> {
    Some(pbjson_types::Timestamp {
        seconds: 1_800_000_000 - secs,
        nanos: 0,
    })
}

const DAY: i64 = 86_400;

/// The recency factor of an assessment, and whether the archived rule caught it.
fn recency_of(a: &pb::LeadAssessment) -> (&str, bool) {
    let code = a
        .factors
        .iter()
        .map(|f| f.code.as_str())
        .find(|c| c.starts_with("recency."))
        .unwrap_or("");
    (code, a.factors.iter().any(|f| f.code == "rule.archived"))
}

/// The lead's type and call to action reach the model from the wire, in any of the seeds'
/// languages, and set its windows: a 30-day-old Free trial lead is available (and HIGH);
/// a Contact me lead of the same age has expired; an offer lead 200 days old is archived,
/// LOW by the hard rule. All measured from `as_of`, the server's clock unused.
#[tokio::test]
async fn windows_follow_the_leads_kind_from_as_of() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let server = Server::start(dns.addr(), &[]);
    let client = server.client().await;
    let assess = |lead: pb::Lead| {
        let mut client = client.clone();
        async move {
            client
                .assess_lead(pb::AssessLeadRequest {
                    request_id: "kind".into(),
                    lead: Some(lead),
                    as_of: Some(as_of()),
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let free_trial = pb::Lead {
        created_at: before_as_of(30 * DAY),
        lead_type: pb::LeadType::Offer.into(),
        call_to_action: "Evaluación gratuita".into(),
        ..lead(1)
    };
    let a = assess(free_trial.clone()).await;
    assert_eq!(recency_of(&a), ("recency.available", false), "{a:?}");
    assert_eq!(a.quality(), pb::LeadQuality::High, "{a:?}");
    assert_eq!(a.assessed_at, Some(as_of()));
    // Grade and top reasons come with every assessment: INS, a VALID email, ...
    assert!(["A", "B"].contains(&a.grade.as_str()), "{a:?}");
    assert_eq!(a.top_reasons.len(), 3);
    assert_eq!(a.top_reasons[0].code, "action.active");
    assert!(a.top_reasons.iter().all(|t| a.factors.contains(t)));

    let contact_me = pb::Lead {
        call_to_action: "Связаться со мной".into(),
        ..free_trial.clone()
    };
    assert_eq!(
        recency_of(&assess(contact_me).await),
        ("recency.expired", false)
    );
    let profile = pb::Lead {
        lead_type: pb::LeadType::Profile.into(),
        call_to_action: String::new(),
        ..free_trial.clone()
    };
    assert_eq!(
        recency_of(&assess(profile).await),
        ("recency.expired", false)
    );

    // Inferred: INS is Get it now, an offer lead.
    let archived = pb::Lead {
        created_at: before_as_of(200 * DAY),
        ..lead(2)
    };
    let a = assess(archived).await;
    assert_eq!(recency_of(&a), ("recency.archived", true), "{a:?}");
    assert_eq!(a.quality(), pb::LeadQuality::Low, "{a:?}");
    assert!(["C", "D"].contains(&a.grade.as_str()), "{a:?}");
    assert!(
        a.top_reasons
            .iter()
            .any(|t| t.code == "rule.archived" && t.points < 0),
        "{a:?}"
    );
    // PLT is Contact me: a referral, expired rather than archived.
    let plt = pb::Lead {
        created_at: before_as_of(200 * DAY),
        lead_source: "AppSource (SPZA)-PLT | contoso.crm-addon".into(),
        ..lead(3)
    };
    assert_eq!(recency_of(&assess(plt).await), ("recency.expired", false));
}

/// The same request with the same `as_of` gets byte-identical assessments from two
/// servers started at different times; without `as_of`, each server's clock is echoed.
#[tokio::test]
async fn as_of_makes_assessments_identical_across_servers_and_days() {
    use prost::Message;

    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let request = |as_of| pb::AssessLeadRequest {
        request_id: "same".into(),
        lead: Some(pb::Lead {
            created_at: before_as_of(2 * DAY),
            ..lead(1)
        }),
        as_of,
    };
    let first = Server::start(dns.addr(), &[]);
    let a = first
        .client()
        .await
        .assess_lead(request(Some(as_of())))
        .await
        .unwrap()
        .into_inner();
    drop(first);
    // A second apart at least, so the two servers' clocks cannot read the same second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = Server::start(dns.addr(), &[]);
    let mut client = second.client().await;
    let b = client
        .assess_lead(request(Some(as_of())))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.encode_to_vec(), b.encode_to_vec());
    assert_eq!(a.assessed_at, Some(as_of()));
    assert_eq!(recency_of(&a), ("recency.72h", false));

    // Unset: now, by the server's clock; the lead is then years old.
    let now = client
        .assess_lead(request(None))
        .await
        .unwrap()
        .into_inner();
    let assessed_at = now.assessed_at.expect("assessed_at is always set");
    assert!(assessed_at.seconds > a.assessed_at.unwrap().seconds - 10 * 366 * DAY);
    assert_ne!(now.assessed_at, a.assessed_at);
    assert_ne!(recency_of(&now).0, "recency.72h");

    // An invalid as_of is refused, naming the field.
    let bad = pbjson_types::Timestamp {
        seconds: i64::MAX,
        nanos: 0,
    };
    let err = client.assess_lead(request(Some(bad))).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("as_of"), "{}", err.message());
}

/// In a stream each request carries its own `as_of`: the same lead at two moments gets
/// two recency windows, each echoed.
#[tokio::test]
async fn each_streamed_request_has_its_own_as_of() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let server = Server::start(dns.addr(), &[]);
    let mut client = server.client().await;
    let moments = [0, 2 * DAY, 300 * DAY];
    let requests: Vec<pb::AssessLeadRequest> = moments
        .iter()
        .map(|later| pb::AssessLeadRequest {
            request_id: later.to_string(),
            lead: Some(pb::Lead {
                created_at: Some(as_of()),
                ..lead(1)
            }),
            as_of: Some(pbjson_types::Timestamp {
                seconds: as_of().seconds + later,
                nanos: 0,
            }),
        })
        .chain([pb::AssessLeadRequest {
            request_id: "bad".into(),
            lead: Some(lead(1)),
            as_of: Some(pbjson_types::Timestamp {
                seconds: 0,
                nanos: -1,
            }),
        }])
        .collect();
    let mut stream = client
        .assess_leads(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut answers = Vec::new();
    while let Some(answer) = stream.message().await.unwrap() {
        answers.push(answer);
    }
    assert_eq!(answers.len(), 4);
    let codes: Vec<(&str, bool)> = answers[..3].iter().map(recency_of).collect();
    assert_eq!(
        codes,
        [
            ("recency.24h", false),
            ("recency.72h", false),
            ("recency.archived", true)
        ]
    );
    for (a, later) in answers.iter().zip(moments) {
        assert_eq!(
            a.assessed_at.as_ref().unwrap().seconds,
            as_of().seconds + later
        );
    }
    assert_eq!(answers[3].reasons[0].code, "request.invalid_time");
    assert!(answers[3].reasons[0].message.contains("as_of"));
    assert_eq!(answers[3].quality(), pb::LeadQuality::Low);
}
