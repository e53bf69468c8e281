//! The probe through a SOCKS5 proxy: port 25 outbound is blocked on most clouds, so the
//! sessions can leave through a proxy on a host that may send mail (`smtp.proxy`).
//!
//! The SSRF guard holds through the proxy: the probe resolves each exchanger itself,
//! checks every address with the guard, and asks the proxy to CONNECT to that address,
//! never to a name the proxy would resolve (so no `socks5h://`). A proxy that cannot be
//! reached, refuses or breaks off makes the exchanger unreachable with words that say so;
//! every wait is bounded by the connect timeout.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_socks::tcp::Socks5Stream;

use super::session::{Broke, Failure};

/// A SOCKS5 proxy, `socks5://host:port`, that the probe's sessions go through.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SocksProxy {
    /// The proxy's host: a name (resolved by the system when connecting) or an address.
    host: String,
    port: u16,
}

impl SocksProxy {
    /// Parses `socks5://host:port` (`[v6]:port` for an IPv6 address); `Err` says what is
    /// wrong.
    pub fn parse(text: &str) -> Result<SocksProxy, String> {
        let text = text.trim();
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| "not a proxy URL: write socks5://host:port".to_string())?;
        match scheme.to_ascii_lowercase().as_str() {
            "socks5" => {}
            "socks5h" => {
                return Err(
                    "socks5h:// lets the proxy resolve names, which would bypass the \
                            probe's address checks: write socks5://host:port"
                        .to_string(),
                )
            }
            other => {
                return Err(format!(
                    "`{other}://` is not supported: write socks5://host:port"
                ))
            }
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('@') {
            return Err(
                "proxy credentials are not supported: allow the probe's host by \
                        address at the proxy"
                    .to_string(),
            );
        }
        if let Ok(addr) = rest.parse::<SocketAddr>() {
            return SocksProxy::new(addr.ip().to_string(), addr.port());
        }
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| "the proxy URL needs a port: socks5://host:port".to_string())?;
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("`{port}` is not a port"))?;
        SocksProxy::new(host.to_string(), port)
    }

    fn new(host: String, port: u16) -> Result<SocksProxy, String> {
        let valid = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
        if !valid {
            return Err(format!("`{host}` is not a proxy host"));
        }
        if port == 0 {
            return Err("the proxy's port cannot be 0".to_string());
        }
        Ok(SocksProxy { host, port })
    }

    /// Connects to `target` through the proxy: a TCP connection to the proxy, then a
    /// CONNECT to the address, each within `wait`. The stream returned is the proxy's,
    /// relaying to `target`.
    pub(super) async fn connect(
        &self,
        target: SocketAddr,
        wait: Duration,
    ) -> Result<TcpStream, Broke> {
        let tcp = match timeout(wait, TcpStream::connect((self.host.as_str(), self.port))).await {
            Err(_) => {
                return Err(Broke::new(
                    Failure::ProxyUnreachable,
                    "proxy connect timed out",
                ))
            }
            Ok(Err(e)) => return Err(Broke::new(Failure::ProxyUnreachable, e)),
            Ok(Ok(tcp)) => tcp,
        };
        // A `SocketAddr` target is sent as an address (ATYP 1 or 4), never as a name.
        match timeout(wait, Socks5Stream::connect_with_socket(tcp, target)).await {
            Err(_) => Err(Broke::new(
                Failure::ProxyTimeout,
                "no CONNECT reply in time",
            )),
            Ok(Err(e)) => Err(Broke::new(failure_of(&e), e)),
            Ok(Ok(stream)) => Ok(stream.into_inner()),
        }
    }
}

/// What a SOCKS5 error means for the session.
fn failure_of(error: &tokio_socks::Error) -> Failure {
    use tokio_socks::Error as E;
    match error {
        // The proxy tried and the exchanger did not take the connection.
        E::ConnectionRefused => Failure::Refused,
        E::NetworkUnreachable | E::HostUnreachable | E::TtlExpired => Failure::ConnectFailed,
        // The proxy would not (or could not) connect for us.
        E::ConnectionNotAllowedByRuleset
        | E::GeneralSocksServerFailure
        | E::CommandNotSupported
        | E::AddressTypeNotSupported
        | E::NoAcceptableAuthMethods
        | E::AuthorizationRequired => Failure::ProxyRefused,
        // Broke off, or spoke something else than SOCKS5.
        _ => Failure::ProxyFailed,
    }
}

impl fmt::Display for SocksProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "socks5://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "socks5://{}:{}", self.host, self.port)
        }
    }
}

impl TryFrom<String> for SocksProxy {
    type Error = String;

    fn try_from(text: String) -> Result<SocksProxy, String> {
        SocksProxy::parse(&text)
    }
}

impl From<SocksProxy> for String {
    fn from(proxy: SocksProxy) -> String {
        proxy.to_string()
    }
}

impl std::str::FromStr for SocksProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<SocksProxy, String> {
        SocksProxy::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_parse_and_print_back() {
        for (text, shown) in [
            ("socks5://127.0.0.1:1080", "socks5://127.0.0.1:1080"),
            (
                " SOCKS5://proxy.internal:1080/ ",
                "socks5://proxy.internal:1080",
            ),
            ("socks5://[::1]:9050", "socks5://[::1]:9050"),
        ] {
            let proxy = SocksProxy::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(proxy.to_string(), shown);
            assert_eq!(SocksProxy::parse(shown), Ok(proxy));
        }
    }

    #[test]
    fn bad_proxy_urls_say_what_is_wrong() {
        for (text, needle) in [
            ("127.0.0.1:1080", "not a proxy URL"),
            ("http://127.0.0.1:3128", "not supported"),
            ("socks5h://127.0.0.1:1080", "resolve names"),
            ("socks5://user:secret@127.0.0.1:1080", "credentials"),
            ("socks5://127.0.0.1", "needs a port"),
            ("socks5://127.0.0.1:99999", "not a port"),
            ("socks5://127.0.0.1:0", "cannot be 0"),
            ("socks5://:1080", "not a proxy host"),
            ("socks5://a b:1080", "not a proxy host"),
        ] {
            let err = SocksProxy::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }
}
