//! ValidatePhone over gRPC.

use leadcheck::pb;
use leadcheck::testkit::DnsServer;

use crate::support::Server;

#[tokio::test]
async fn phone_verdicts_over_grpc() {
    let dns = DnsServer::start().await.unwrap();
    let server = Server::start(dns.addr(), &[]);
    let client = server.client().await;
    let check = |phone: &str, country: &str| {
        let request = pb::ValidatePhoneRequest {
            phone: phone.to_string(),
            country: country.to_string(),
            ..Default::default()
        };
        let mut client = client.clone();
        async move { client.validate_phone(request).await.unwrap().into_inner() }
    };
    let v = check("020 7946 0018", "United Kingdom").await;
    // Ofcom's drama range 020 7946 0xxx is fictional: INVALID with its own reason.
    assert_eq!(v.validity(), pb::PhoneValidity::Invalid, "{v:?}");
    assert!(
        v.reasons.iter().any(|r| r.code.starts_with("fake.")),
        "{v:?}"
    );

    let v = check("+44 20 7183 8750", "").await;
    assert_eq!(v.validity(), pb::PhoneValidity::Valid, "{v:?}");
    assert_eq!(v.e164, "+442071838750");
    assert_eq!(v.region, "GB");
    assert_eq!(v.country_code, 44);
    assert_eq!(v.number_type(), pb::PhoneNumberType::FixedLine);

    let v = check("030 123456789", "").await;
    assert_eq!(v.validity(), pb::PhoneValidity::Unknown, "{v:?}");
    assert!(
        v.reasons.iter().any(|r| r.code == "parse.no_region"),
        "{v:?}"
    );

    let v = check("", "US").await;
    assert_eq!(v.validity(), pb::PhoneValidity::Unknown);
    assert!(v.reasons.iter().any(|r| r.code == "missing"), "{v:?}");

    let v = check("1234567890", "US").await;
    assert_eq!(v.validity(), pb::PhoneValidity::Invalid, "{v:?}");

    // The metadata version is in the start-up log, and no number a client sent is.
    let logs = server.logs();
    assert!(
        logs.contains(leadcheck::phone::metadata_version()),
        "{logs}"
    );
    assert!(!logs.contains("7183"), "{logs}");
}

/// A valid number's time zones, place and carrier, in the language asked; a language
/// that is not a tag is refused, naming the field.
#[tokio::test]
async fn phone_places_over_grpc() {
    let dns = DnsServer::start().await.unwrap();
    let server = Server::start(dns.addr(), &[]);
    let client = server.client().await;
    let ask = |phone: &str, language: &str| {
        let request = pb::ValidatePhoneRequest {
            phone: phone.to_string(),
            language: language.to_string(),
            ..Default::default()
        };
        let mut client = client.clone();
        async move { client.validate_phone(request).await }
    };
    let check = |phone: &'static str, language: &'static str| {
        let answer = ask(phone, language);
        async move { answer.await.unwrap().into_inner() }
    };

    let v = check("+7 495 739-22-11", "").await;
    assert_eq!(v.validity(), pb::PhoneValidity::Valid, "{v:?}");
    assert_eq!(v.time_zones, ["Europe/Moscow"]);
    assert_eq!(v.location, "Moscow");
    assert_eq!(
        check("+7 495 739-22-11", "ru-RU").await.location,
        "Московская обл."
    );

    // A US number: its area's zone and city.
    let v = check("+1 212 736 5000", "es").await;
    assert_eq!(v.time_zones, ["America/New_York"], "{v:?}");
    assert_eq!(v.location, "New York, NY");

    // A British mobile: the country, in Portuguese, and the carrier its range was given to.
    let v = check("+44 7400 918273", "pt").await;
    assert_eq!(v.validity(), pb::PhoneValidity::Valid, "{v:?}");
    assert_eq!(v.location, "Reino Unido");
    assert_eq!(v.carrier, "Three");
    assert_eq!(
        v.time_zones.len(),
        4,
        "London and the Crown Dependencies: {v:?}"
    );

    // An invalid number (Ofcom's drama range) has none.
    let v = check("+44 20 7946 0018", "").await;
    assert_eq!(v.validity(), pb::PhoneValidity::Invalid, "{v:?}");
    assert!(v.time_zones.is_empty() && v.location.is_empty() && v.carrier.is_empty());

    let err = ask("+7 495 739-22-11", "not a language")
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("`language`"), "{}", err.message());
    assert!(!err.message().contains("495"), "{}", err.message());
}

/// A lead with a valid phone gets its call window: one zone, its local time, and the
/// reason the sales team reads; its location is in the lead's country's language. The
/// server's clock decides the time of day, so the test holds the form, not the hour (the
/// unit tests hold the hours at fixed moments).
#[tokio::test]
async fn a_lead_with_a_valid_phone_gets_its_call_window() {
    let dns = DnsServer::start().await.unwrap();
    let server = Server::start(dns.addr(), &[]);
    let mut client = server.client().await;
    let assess = |phone: &str, country: &str| pb::AssessLeadRequest {
        request_id: "w".into(),
        lead: Some(pb::Lead {
            phone: phone.into(),
            country: country.into(),
            ..Default::default()
        }),
        // Friday 2026-11-20 17:05 UTC: 14:05 in São Paulo (UTC-3 all year).
        as_of: Some(pbjson_types::Timestamp {
            seconds: 1_795_194_300,
            nanos: 0,
        }),
    };
    let a = client
        .assess_lead(assess("(11) 96158-2043", "Brazil"))
        .await
        .unwrap()
        .into_inner();
    let phone = a.phone.expect("a phone verdict");
    assert_eq!(phone.validity(), pb::PhoneValidity::Valid, "{phone:?}");
    assert_eq!(phone.location, "São Paulo");
    let window = a.call_window.expect("a call window");
    assert_eq!(window.time_zone, "America/Sao_Paulo");
    let reason = window.reason.clone().expect("a reason");
    assert_eq!(reason.code, "phone.local_time");
    assert!(
        reason
            .message
            .starts_with(&format!("{} in America/Sao_Paulo, ", window.local_time)),
        "{reason:?}"
    );
    // The window is computed at the request's `as_of`, not the server's clock.
    assert_eq!(window.local_time, "14:05", "{window:?}");
    assert!(window.business_hours, "{window:?}");
    assert_eq!(
        reason.message, "14:05 in America/Sao_Paulo, business hours",
        "{reason:?}"
    );

    // Several zones are said, not guessed.
    let a = client
        .assess_lead(assess("+7 912 408-52-17", "Russia"))
        .await
        .unwrap()
        .into_inner();
    let window = a.call_window.expect("a call window");
    assert_eq!(window.time_zone, "");
    assert_eq!(
        window.reason.expect("a reason").code,
        "phone.several_time_zones"
    );

    // No valid phone, no window.
    let a = client
        .assess_lead(assess("12345", "Brazil"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.call_window, None);
}
