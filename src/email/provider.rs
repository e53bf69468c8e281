//! Mail providers known by their exchangers: which company hosts a domain's mailboxes.
//!
//! A domain's MX hosts say who runs its mail (`*.mail.protection.outlook.com` is Microsoft
//! 365 whatever the domain is called). The rules are data, `data/mail_providers.txt`,
//! each block with its source; they are compiled in and parsed once per process.
//!
//! What a provider changes: the verdict names it (`mail_provider`, reason
//! `provider.<name>`); a provider whose exchangers accept any recipient (Microsoft 365,
//! Yahoo) gets no catch-all question, since the answer is known, and its domains are
//! reported as catch-all; a provider's consumer domains (gmail.com, outlook.com, ...) are
//! free mail whatever the free list says, so `flag.free_provider` agrees with the
//! provider; a provider whose exchangers answer slowly (the gateways) gets its own probe
//! timeouts ([`Timeouts`]).

use std::sync::LazyLock;
use std::time::Duration;

/// The bundled rules.
const RULES: &str = include_str!("../../data/mail_providers.txt");

/// Reason codes of the providers, `provider.<name>`: informational, the verdict stands.
pub mod codes {
    /// Google Workspace or Gmail.
    pub const GOOGLE: &str = "provider.google";
    /// Microsoft 365 or Outlook.com.
    pub const MICROSOFT: &str = "provider.microsoft";
    /// Yahoo Mail or AOL.
    pub const YAHOO: &str = "provider.yahoo";
    /// Zoho Mail.
    pub const ZOHO: &str = "provider.zoho";
    /// Yandex Mail or Yandex 360.
    pub const YANDEX: &str = "provider.yandex";
    /// Mail.ru.
    pub const MAILRU: &str = "provider.mailru";
    /// iCloud Mail.
    pub const ICLOUD: &str = "provider.icloud";
    /// Fastmail.
    pub const FASTMAIL: &str = "provider.fastmail";
    /// Proton Mail.
    pub const PROTON: &str = "provider.proton";
    /// A Proofpoint gateway in front of the domain's mail.
    pub const PROOFPOINT: &str = "provider.proofpoint";
    /// A Mimecast gateway in front of the domain's mail.
    pub const MIMECAST: &str = "provider.mimecast";
    /// A Barracuda gateway in front of the domain's mail.
    pub const BARRACUDA: &str = "provider.barracuda";

    /// Every code above.
    pub const ALL: &[&str] = &[
        GOOGLE, MICROSOFT, YAHOO, ZOHO, YANDEX, MAILRU, ICLOUD, FASTMAIL, PROTON, PROOFPOINT,
        MIMECAST, BARRACUDA,
    ];
}

/// A mail provider of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provider {
    /// The provider's name in the contract (`google`, `microsoft`, ...).
    pub name: &'static str,
    /// Its reason code, `provider.<name>`.
    pub code: &'static str,
    /// Its exchangers answer 250 to any recipient: acceptance proves nothing, and the
    /// catch-all question is not asked.
    pub accepts_any: bool,
}

/// A provider's own waits for its exchangers, each in place of the probe's configured one
/// when set (the `timeout` rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest wait for the TCP connection.
    pub connect: Option<Duration>,
    /// Longest wait for the greeting (the 220 banner).
    pub greeting: Option<Duration>,
    /// Longest wait for each reply after the greeting.
    pub command: Option<Duration>,
}

/// One `mx` rule: a host, or every host under a suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostRule {
    /// The host, or the suffix with its leading dot (`.l.google.com`).
    pattern: String,
    /// `pattern` is a suffix (`*.` in the file).
    wildcard: bool,
    provider: Provider,
}

/// The providers' rules, parsed from the bundled file.
#[derive(Debug, Default)]
pub struct Providers {
    hosts: Vec<HostRule>,
    free: Vec<(String, Provider)>,
    /// Per provider name, its own timeouts.
    timeouts: Vec<(&'static str, Timeouts)>,
}

static BUNDLED: LazyLock<Providers> = LazyLock::new(|| match Providers::parse(RULES) {
    Ok(providers) => providers,
    Err(e) => {
        // A test parses the bundled file strictly; a broken one never ships.
        tracing::error!("data/mail_providers.txt: {e}; no provider is recognised");
        Providers::default()
    }
});

/// The bundled providers.
pub fn bundled() -> &'static Providers {
    &BUNDLED
}

impl Providers {
    /// Parses rules in the format of `data/mail_providers.txt`; `Err` names the first
    /// bad line.
    pub fn parse(text: &str) -> Result<Providers, String> {
        let mut out = Providers::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let at = index + 1;
            let columns: Vec<&str> = line.split_whitespace().collect();
            let [name, kind, value, traits] = columns[..] else {
                return Err(format!("line {at}: expected four columns"));
            };
            let code = codes::ALL
                .iter()
                .find(|code| code.strip_prefix("provider.") == Some(name))
                .ok_or_else(|| format!("line {at}: unknown provider {name}"))?;
            let accepts_any = match traits {
                "-" => false,
                "accepts_any" => true,
                other => return Err(format!("line {at}: unknown trait {other}")),
            };
            let provider = Provider {
                name: &code["provider.".len()..],
                code,
                accepts_any,
            };
            let value = value.to_ascii_lowercase();
            match kind {
                "mx" => {
                    let (pattern, wildcard) = match value.strip_prefix('*') {
                        Some(suffix) if suffix.starts_with('.') => (suffix.to_string(), true),
                        Some(_) => return Err(format!("line {at}: `*` must start `*.`")),
                        None => (value, false),
                    };
                    out.hosts.push(HostRule {
                        pattern,
                        wildcard,
                        provider,
                    });
                }
                "free" => out.free.push((value, provider)),
                "timeout" => {
                    let (which, wait) = value
                        .split_once('=')
                        .ok_or_else(|| format!("line {at}: write a timeout as `greeting=30s`"))?;
                    let wait = humantime::parse_duration(wait)
                        .ok()
                        .filter(|wait| !wait.is_zero())
                        .ok_or_else(|| format!("line {at}: `{wait}` is not a duration"))?;
                    let index = match out.timeouts.iter().position(|(n, _)| *n == provider.name) {
                        Some(index) => index,
                        None => {
                            out.timeouts.push((provider.name, Timeouts::default()));
                            out.timeouts.len() - 1
                        }
                    };
                    let timeouts = &mut out.timeouts[index].1;
                    match which {
                        "connect" => timeouts.connect = Some(wait),
                        "greeting" => timeouts.greeting = Some(wait),
                        "command" => timeouts.command = Some(wait),
                        other => return Err(format!("line {at}: unknown timeout {other}")),
                    }
                }
                other => return Err(format!("line {at}: unknown kind {other}")),
            }
        }
        Ok(out)
    }

    /// Returns the provider of the most preferred exchanger that a rule matches.
    pub fn of_exchangers(&self, mx_hosts: &[String]) -> Option<Provider> {
        mx_hosts.iter().find_map(|host| self.of_host(host))
    }

    /// Returns the provider of one exchanger host.
    pub fn of_host(&self, host: &str) -> Option<Provider> {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        self.hosts
            .iter()
            .find(|rule| {
                if rule.wildcard {
                    host.ends_with(&rule.pattern) && host.len() > rule.pattern.len()
                } else {
                    host == rule.pattern
                }
            })
            .map(|rule| rule.provider)
    }

    /// Returns the provider's own timeouts; none set when it has no `timeout` rule.
    pub fn timeouts(&self, provider: &Provider) -> Timeouts {
        self.timeouts
            .iter()
            .find(|(name, _)| *name == provider.name)
            .map(|(_, timeouts)| *timeouts)
            .unwrap_or_default()
    }

    /// Returns the provider whose consumer (free) domain `domain` is.
    pub fn free_domain(&self, domain: &str) -> Option<Provider> {
        self.free
            .iter()
            .find(|(free, _)| free == domain)
            .map(|(_, provider)| *provider)
    }

    /// The consumer domains of every provider.
    pub fn free_domains(&self) -> impl Iterator<Item = &str> {
        self.free.iter().map(|(domain, _)| domain.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> Vec<String> {
        list.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn the_bundled_file_parses_and_names_every_provider() {
        let providers = Providers::parse(RULES).expect("data/mail_providers.txt parses");
        for code in codes::ALL {
            assert!(
                providers
                    .hosts
                    .iter()
                    .any(|rule| rule.provider.code == *code),
                "no exchanger rule for {code}"
            );
        }
    }

    #[test]
    fn each_provider_is_known_by_its_exchangers() {
        let p = bundled();
        let cases = [
            ("aspmx.l.google.com", "google"),
            ("alt1.aspmx.l.google.com.", "google"),
            ("gmail-smtp-in.l.google.com", "google"),
            ("aspmx2.googlemail.com", "google"),
            ("contoso-com.mail.protection.outlook.com", "microsoft"),
            ("hotmail-com.olc.protection.outlook.com", "microsoft"),
            ("contoso-com.o-v1.mx.microsoft", "microsoft"),
            ("mta5.am0.yahoodns.net", "yahoo"),
            ("mx.zoho.com", "zoho"),
            ("mx2.zoho.eu", "zoho"),
            ("mx.yandex.net", "yandex"),
            ("mxs.mail.ru", "mailru"),
            ("mx01.mail.icloud.com", "icloud"),
            ("in1-smtp.messagingengine.com", "fastmail"),
            ("mail.protonmail.ch", "proton"),
            ("mx0a-001b2d01.pphosted.com", "proofpoint"),
            ("mx1-us1.ppe-hosted.com", "proofpoint"),
            ("eu-smtp-inbound-1.mimecast.com", "mimecast"),
            ("d123456a.ess.barracudanetworks.com", "barracuda"),
        ];
        for (host, name) in cases {
            assert_eq!(p.of_host(host).map(|p| p.name), Some(name), "{host}");
        }
        for host in [
            "mail.contoso.com",
            "l.google.com.evil.test",
            "notgoogle.com",
            "mail.ru",
            "protection.outlook.com",
        ] {
            assert_eq!(p.of_host(host), None, "{host}");
        }
    }

    #[test]
    fn the_most_preferred_known_exchanger_decides() {
        let p = bundled();
        let mx = hosts(&[
            "mx.contoso.com",
            "eu-smtp-inbound-1.mimecast.com",
            "aspmx.l.google.com",
        ]);
        assert_eq!(p.of_exchangers(&mx).map(|p| p.name), Some("mimecast"));
        assert_eq!(p.of_exchangers(&hosts(&["mx.contoso.com"])), None);
    }

    #[test]
    fn only_providers_known_to_accept_anything_skip_the_catch_all_question() {
        let p = bundled();
        let accepts = |host: &str| p.of_host(host).map(|p| p.accepts_any);
        assert_eq!(
            accepts("contoso-com.mail.protection.outlook.com"),
            Some(true)
        );
        assert_eq!(accepts("mta5.am0.yahoodns.net"), Some(true));
        assert_eq!(accepts("aspmx.l.google.com"), Some(false));
        assert_eq!(accepts("eu-smtp-inbound-1.mimecast.com"), Some(false));
    }

    #[test]
    fn every_consumer_domain_is_on_the_free_list_and_no_gateway_has_one() {
        let free = include_str!("../../data/free_domains.txt");
        let p = bundled();
        for domain in p.free_domains() {
            assert!(
                free.lines().any(|line| line.trim() == domain),
                "{domain} is missing from data/free_domains.txt"
            );
        }
        assert_eq!(p.free_domain("gmail.com").map(|p| p.name), Some("google"));
        assert_eq!(p.free_domain("contoso.com"), None);
        for gateway in ["proofpoint", "mimecast", "barracuda"] {
            assert!(p.free.iter().all(|(_, provider)| provider.name != gateway));
        }
    }

    #[test]
    fn the_gateways_get_their_own_timeouts_and_others_none() {
        let p = bundled();
        let of = |host: &str| p.of_host(host).map(|provider| p.timeouts(&provider));
        let gateway = Timeouts {
            connect: None,
            greeting: Some(Duration::from_secs(30)),
            command: Some(Duration::from_secs(30)),
        };
        for host in [
            "mx0a-001b2d01.pphosted.com",
            "eu-smtp-inbound-1.mimecast.com",
            "d123456a.ess.barracudanetworks.com",
        ] {
            assert_eq!(of(host), Some(gateway), "{host}");
        }
        assert_eq!(of("aspmx.l.google.com"), Some(Timeouts::default()));
        let parsed =
            Providers::parse("zoho timeout connect=2s -\nzoho mx mx.zoho.com -\n").unwrap();
        let zoho = parsed.of_host("mx.zoho.com").unwrap();
        assert_eq!(parsed.timeouts(&zoho).connect, Some(Duration::from_secs(2)));
    }

    #[test]
    fn bad_lines_are_refused_with_their_number() {
        for (text, needle) in [
            ("google mx\n", "line 1"),
            ("# c\nacme mx mx.acme.com -\n", "line 2: unknown provider"),
            ("google mx *google.com -\n", "`*`"),
            ("google mx a.b -x\n", "unknown trait"),
            ("google mail a.b -\n", "unknown kind"),
            ("google timeout greeting -\n", "`greeting=30s`"),
            ("google timeout greeting=soon -\n", "not a duration"),
            ("google timeout greeting=0s -\n", "not a duration"),
            ("google timeout banner=5s -\n", "unknown timeout"),
        ] {
            let err = Providers::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
