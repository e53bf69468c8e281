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
