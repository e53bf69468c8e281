//! Bearer-token auth and TLS / mutual TLS, with certificates made at test time.

use leadcheck::pb;
use leadcheck::pb::lead_check_client::LeadCheckClient;
use leadcheck::testkit::DnsServer;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::support::Server;

fn email_request(token: Option<&str>) -> tonic::Request<pb::ValidateEmailRequest> {
    let mut request = tonic::Request::new(pb::ValidateEmailRequest {
        email: "bad".into(),
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_unauthenticated_and_health_stays_open() {
    let dns = DnsServer::start().await.unwrap();
    let tokens = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tokens.path(), "# ops\ns3cret-one\ns3cret-two\n").unwrap();
    let server = Server::start(
        dns.addr(),
        &["--auth-tokens-file", tokens.path().to_str().unwrap()],
    );
    let mut client = server.client().await;
    for token in [None, Some("wrong"), Some("s3cret-on")] {
        let err = client
            .validate_email(email_request(token))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated, "{token:?}");
    }
    for token in ["s3cret-one", "s3cret-two"] {
        let verdict = client
            .validate_email(email_request(Some(token)))
            .await
            .unwrap();
        assert_eq!(verdict.get_ref().validity(), pb::EmailValidity::Invalid);
    }
    let mut health = HealthClient::new(server.channel().await);
    assert!(health
        .check(HealthCheckRequest {
            service: String::new()
        })
        .await
        .is_ok());
}

/// A CA, a server certificate for localhost and 127.0.0.1, and a client certificate, made
/// at test time.
pub(crate) struct Pki {
    pub(crate) ca: String,
    pub(crate) server_cert: String,
    pub(crate) server_key: String,
    pub(crate) client_cert: String,
    pub(crate) client_key: String,
}

impl Pki {
    /// Writes the server's certificate, its key and the CA into `dir`; their paths.
    pub(crate) fn server_files(&self, dir: &std::path::Path) -> (String, String, String) {
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        (
            write("server.pem", &self.server_cert),
            write("server.key", &self.server_key),
            write("ca.pem", &self.ca),
        )
    }
}

pub(crate) fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_cert, client_key) = leaf(vec!["client.leadcheck.test".into()]);
    Pki {
        ca: ca.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

async fn tls_channel(
    addr: std::net::SocketAddr,
    tls: ClientTlsConfig,
) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls.domain_name("localhost"))?
        .connect()
        .await
}

#[tokio::test]
async fn mutual_tls_serves_a_certified_client_and_refuses_one_without_a_certificate() {
    let dns = DnsServer::start().await.unwrap();
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = pki.server_files(dir.path());
    let server = Server::start(
        dns.addr(),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca,
        ],
    );
    let trust = || ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&pki.ca));

    let channel = tls_channel(
        server.addr,
        trust().identity(Identity::from_pem(&pki.client_cert, &pki.client_key)),
    )
    .await
    .expect("a client with a certificate connects");
    let verdict = LeadCheckClient::new(channel)
        .validate_email(email_request(None))
        .await
        .expect("served over mTLS");
    assert_eq!(verdict.get_ref().validity(), pb::EmailValidity::Invalid);

    // No client certificate: the handshake or the first call fails.
    let refused = match tls_channel(server.addr, trust()).await {
        Err(_) => true,
        Ok(channel) => LeadCheckClient::new(channel)
            .validate_email(email_request(None))
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate was served");

    // Plain text to a TLS port is refused too.
    let plain = LeadCheckClient::connect(format!("http://{}", server.addr)).await;
    let refused = match plain {
        Err(_) => true,
        Ok(mut client) => client.validate_email(email_request(None)).await.is_err(),
    };
    assert!(refused);
}
