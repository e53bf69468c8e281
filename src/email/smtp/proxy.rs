//! The probe through a SOCKS5 proxy: port 25 outbound is blocked on most clouds, so the
//! sessions can leave through a proxy on a host that may send mail (`smtp.proxy`), or
//! through a proxy of their own for the exchangers of one provider
//! (`smtp.provider_proxies`).
//!
//! The SSRF guard holds through the proxy: the probe resolves each exchanger itself,
//! checks every address with the guard, and asks the proxy to CONNECT to that address,
//! never to a name the proxy would resolve (so no `socks5h://`). A proxy that cannot be
//! reached, refuses, turns down our credentials or breaks off makes the exchanger
//! unreachable with words that say so; every wait is bounded by the connect timeout.
//!
//! A proxy may want a user name and password (RFC 1929): `socks5://user:pass@host:port`,
//! or `socks5://user@host:port` with the password in `smtp.proxy_password_file`. The
//! password is never shown: [`fmt::Display`] and [`fmt::Debug`] write `user:***`, and no
//! parse error quotes it.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_socks::tcp::Socks5Stream;

use super::session::{Broke, Failure};
use crate::email::provider;

/// Longest user name or password RFC 1929 can carry, in bytes.
const MAX_CREDENTIAL_BYTES: usize = 255;

/// A SOCKS5 proxy, `socks5://[user[:password]@]host:port`, that the probe's sessions go
/// through.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SocksProxy {
    /// The proxy's host: a name (resolved by the system when connecting) or an address.
    host: String,
    port: u16,
    /// The user name of RFC 1929 authentication; none: no authentication offered.
    user: Option<String>,
    /// The password that goes with `user`; none until the password file gives it.
    password: Option<String>,
}

impl SocksProxy {
    /// Parses `socks5://host:port` (`[v6]:port` for an IPv6 address), with `user:pass@`
    /// or `user@` before the host when the proxy wants credentials (taken as written, no
    /// percent-decoding); `Err` says what is wrong, never quoting the password.
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
        // The password may hold `@` and `:`; the host holds neither `@` nor the user.
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((userinfo, rest)) => (Some(userinfo), rest),
            None => (None, rest),
        };
        let (user, password) = match userinfo.map(|u| match u.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (u, None),
        }) {
            None => (None, None),
            Some((user, password)) => {
                if user.is_empty() || user.len() > MAX_CREDENTIAL_BYTES {
                    return Err(format!(
                        "the proxy's user name must have 1 to {MAX_CREDENTIAL_BYTES} bytes"
                    ));
                }
                if password.is_some_and(|p| p.is_empty() || p.len() > MAX_CREDENTIAL_BYTES) {
                    return Err(format!(
                        "the proxy's password must have 1 to {MAX_CREDENTIAL_BYTES} bytes"
                    ));
                }
                (Some(user.to_string()), password.map(str::to_string))
            }
        };
        let (host, port) = match rest.parse::<SocketAddr>() {
            Ok(addr) => (addr.ip().to_string(), addr.port()),
            Err(_) => {
                let (host, port) = rest
                    .rsplit_once(':')
                    .ok_or_else(|| "the proxy URL needs a port: socks5://host:port".to_string())?;
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("`{port}` is not a port"))?;
                (host.to_string(), port)
            }
        };
        let mut proxy = SocksProxy::new(host, port)?;
        proxy.user = user;
        proxy.password = password;
        Ok(proxy)
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
        Ok(SocksProxy {
            host,
            port,
            user: None,
            password: None,
        })
    }

    /// Tells whether the URL names a user and no password: the password file must give it.
    pub fn wants_password(&self) -> bool {
        self.user.is_some() && self.password.is_none()
    }

    /// Gives the password to a proxy whose URL names a user and no password.
    pub fn fill_password(&mut self, password: &str) {
        if self.wants_password() {
            self.password = Some(password.to_string());
        }
    }

    /// Connects to `target` through the proxy: a TCP connection to the proxy, then a
    /// CONNECT to the address (after the user name and password when set), each within
    /// `wait`. The stream returned is the proxy's, relaying to `target`.
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
        let handshake = async {
            match (&self.user, &self.password) {
                (Some(user), Some(password)) => {
                    Socks5Stream::connect_with_password_and_socket(tcp, target, user, password)
                        .await
                }
                // A user without a password is refused at load; offering no credentials
                // lets the proxy say whether it wants some.
                _ => Socks5Stream::connect_with_socket(tcp, target).await,
            }
        };
        match timeout(wait, handshake).await {
            Err(_) => Err(Broke::new(
                Failure::ProxyTimeout,
                "no CONNECT reply in time",
            )),
            Ok(Err(e)) => Err(Broke::new(failure_of(&e), e)),
            Ok(Ok(stream)) => Ok(stream.into_inner()),
        }
    }

    /// The URL with the password in it, for serde alone.
    fn full_url(&self) -> String {
        self.write(true)
    }

    /// The URL, the password as `***` unless `password` says to write it.
    fn write(&self, password: bool) -> String {
        let userinfo = match (&self.user, &self.password) {
            (None, _) => String::new(),
            (Some(user), None) => format!("{user}@"),
            (Some(user), Some(_)) if !password => format!("{user}:***@"),
            (Some(user), Some(secret)) => format!("{user}:{secret}@"),
        };
        if self.host.contains(':') {
            format!("socks5://{userinfo}[{}]:{}", self.host, self.port)
        } else {
            format!("socks5://{userinfo}{}:{}", self.host, self.port)
        }
    }
}

/// Reads the proxies' password from the first line of `path`; `Err` names the file,
/// never its content.
pub fn read_password_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("smtp.proxy_password_file {}: {e}", path.display()))?;
    let password = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    if password.is_empty() || password.len() > MAX_CREDENTIAL_BYTES {
        return Err(format!(
            "smtp.proxy_password_file {}: the first line must be the password, 1 to \
             {MAX_CREDENTIAL_BYTES} bytes",
            path.display()
        ));
    }
    Ok(password.to_string())
}

/// Where the sessions with one provider's exchangers go: `provider=socks5://host:port`
/// through that proxy, `provider=direct` straight to the exchanger (`smtp.provider_proxies`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProviderProxy {
    /// The provider's name in the contract (`google`, `microsoft`, ...).
    pub provider: String,
    /// Its proxy; none: direct.
    pub proxy: Option<SocksProxy>,
}

impl ProviderProxy {
    /// Parses `provider=socks5://...` or `provider=direct`; `Err` says what is wrong.
    pub fn parse(text: &str) -> Result<ProviderProxy, String> {
        let (name, route) = text
            .trim()
            .split_once('=')
            .ok_or_else(|| "write provider=socks5://host:port or provider=direct".to_string())?;
        let name = name.trim().to_ascii_lowercase();
        let provider = provider::codes::ALL
            .iter()
            .any(|code| code.strip_prefix("provider.") == Some(name.as_str()))
            .then_some(name)
            .ok_or_else(|| {
                "not a provider: write one of google, microsoft, yahoo, zoho, \
                            yandex, mailru, icloud, fastmail, proton, proofpoint, mimecast, \
                            barracuda"
                    .to_string()
            })?;
        let route = route.trim();
        let proxy = if route.eq_ignore_ascii_case("direct") {
            None
        } else {
            Some(SocksProxy::parse(route).map_err(|e| format!("{provider}: {e}"))?)
        };
        Ok(ProviderProxy { provider, proxy })
    }

    /// The entry, the password as `***` unless `password` says to write it.
    fn write(&self, password: bool) -> String {
        match &self.proxy {
            Some(proxy) => format!("{}={}", self.provider, proxy.write(password)),
            None => format!("{}=direct", self.provider),
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
        // The proxy turned down our user name and password, or wants some we lack.
        E::PasswordAuthFailure(_)
        | E::NoAcceptableAuthMethods
        | E::AuthorizationRequired
        | E::InvalidAuthValues(_) => Failure::ProxyAuth,
        // The proxy would not (or could not) connect for us.
        E::ConnectionNotAllowedByRuleset
        | E::GeneralSocksServerFailure
        | E::CommandNotSupported
        | E::AddressTypeNotSupported => Failure::ProxyRefused,
        // Broke off, or spoke something else than SOCKS5.
        _ => Failure::ProxyFailed,
    }
}

impl fmt::Display for SocksProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.write(false))
    }
}

impl fmt::Debug for SocksProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SocksProxy({})", self.write(false))
    }
}

impl fmt::Display for ProviderProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.write(false))
    }
}

impl TryFrom<String> for SocksProxy {
    type Error = String;

    fn try_from(text: String) -> Result<SocksProxy, String> {
        SocksProxy::parse(&text)
    }
}

/// The URL with its password, so that a configuration read back is the same: only serde
/// uses it; what is shown goes through [`fmt::Display`].
impl From<SocksProxy> for String {
    fn from(proxy: SocksProxy) -> String {
        proxy.full_url()
    }
}

impl std::str::FromStr for SocksProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<SocksProxy, String> {
        SocksProxy::parse(text)
    }
}

impl TryFrom<String> for ProviderProxy {
    type Error = String;

    fn try_from(text: String) -> Result<ProviderProxy, String> {
        ProviderProxy::parse(&text)
    }
}

/// The entry with its password, for serde alone (as for [`SocksProxy`]).
impl From<ProviderProxy> for String {
    fn from(entry: ProviderProxy) -> String {
        entry.write(true)
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
            ("socks5://:secret@127.0.0.1:1080", "user name"),
            ("socks5://user:@127.0.0.1:1080", "password"),
            ("socks5://127.0.0.1", "needs a port"),
            ("socks5://127.0.0.1:99999", "not a port"),
            ("socks5://127.0.0.1:0", "cannot be 0"),
            ("socks5://:1080", "not a proxy host"),
            ("socks5://a b:1080", "not a proxy host"),
            ("socks5://u:secret@127.0.0.1", "needs a port"),
            ("socks5://u:secret@a b:1080", "not a proxy host"),
        ] {
            let err = SocksProxy::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn credentials_are_kept_and_the_password_never_shown() {
        let proxy = SocksProxy::parse("socks5://probe:s3cr:et@x@10.0.0.9:1080").unwrap();
        assert_eq!(proxy.user.as_deref(), Some("probe"));
        assert_eq!(proxy.password.as_deref(), Some("s3cr:et@x"));
        assert_eq!(proxy.to_string(), "socks5://probe:***@10.0.0.9:1080");
        let debug = format!("{proxy:?}");
        assert!(!debug.contains("s3cr"), "{debug}");
        assert!(debug.contains("probe:***@"), "{debug}");
        // serde keeps it, so that a configuration read back is the same.
        assert_eq!(
            SocksProxy::parse(&String::from(proxy.clone())).unwrap(),
            proxy
        );
        assert!(!proxy.wants_password());
    }

    #[test]
    fn a_user_without_a_password_takes_the_file_s() {
        let mut proxy = SocksProxy::parse("socks5://probe@[::1]:1080").unwrap();
        assert!(proxy.wants_password());
        assert_eq!(proxy.to_string(), "socks5://probe@[::1]:1080");
        proxy.fill_password("from-file");
        assert_eq!(proxy.password.as_deref(), Some("from-file"));
        assert_eq!(proxy.to_string(), "socks5://probe:***@[::1]:1080");
        // A password in the URL is kept.
        let mut inline = SocksProxy::parse("socks5://probe:own@[::1]:1080").unwrap();
        inline.fill_password("from-file");
        assert_eq!(inline.password.as_deref(), Some("own"));
    }

    #[test]
    fn the_password_file_s_first_line_is_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "hunter2\nignored\n").unwrap();
        assert_eq!(read_password_file(&path).unwrap(), "hunter2");
        std::fs::write(&path, "\nhunter2\n").unwrap();
        let err = read_password_file(&path).unwrap_err();
        assert!(err.contains("first line"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = read_password_file(&dir.path().join("none")).unwrap_err();
        assert!(err.contains("smtp.proxy_password_file"), "{err}");
    }

    #[test]
    fn provider_proxies_name_a_provider_and_a_proxy_or_direct() {
        let google = ProviderProxy::parse(" Google = socks5://u:pw@10.0.0.1:1080 ").unwrap();
        assert_eq!(google.provider, "google");
        assert_eq!(google.to_string(), "google=socks5://u:***@10.0.0.1:1080");
        let direct = ProviderProxy::parse("microsoft=DIRECT").unwrap();
        assert_eq!(direct.proxy, None);
        assert_eq!(direct.to_string(), "microsoft=direct");
        for (text, needle) in [
            ("google", "provider=direct"),
            ("gmail=direct", "not a provider"),
            ("=direct", "not a provider"),
            ("google=socks5h://10.0.0.1:1080", "google: socks5h://"),
            ("google=socks5://u:pw@10.0.0.1", "needs a port"),
        ] {
            let err = ProviderProxy::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(!err.contains("pw@"), "{err}");
        }
    }
}
