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
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.request_id, "after");
}
