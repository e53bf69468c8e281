//! A DNS server on loopback with a few demo records, for trying leadcheck on a machine
//! without network access (and for the README's grpcurl example):
//!
//! ```sh
//! cargo run --release --example demo_dns            # prints "demo DNS on 127.0.0.1:PORT"
//! cargo run --release -- serve --dns-server 127.0.0.1:PORT
//! ```

use std::net::Ipv4Addr;

use leadcheck::testkit::DnsServer;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let dns = DnsServer::start().await?;
    dns.mx(
        "contoso.com",
        &[(10, "mx1.contoso.com"), (20, "mx2.contoso.com")],
    );
    dns.mx("gmail.com", &[(5, "gmail-smtp-in.l.google.com")]);
    dns.mx("mailinator.com", &[(10, "mail.mailinator.com")]);
    dns.null_mx("nomail.contoso.com");
    dns.a("fabrikam.com", &[Ipv4Addr::new(192, 0, 2, 10)]);
    println!("demo DNS on {}", dns.addr());
    println!("records: contoso.com MX, gmail.com MX (their exchangers at 192.0.2.1), fabrikam.com A only, nomail.contoso.com null MX; every other name is NXDOMAIN");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
