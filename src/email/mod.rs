//! Email validation: syntax, spam and disposable lists, DNS, optional SMTP probe.
//!
//! Each check lives in its own module and returns its own small result; [`Validator::validate`]
//! composes them into one [`Verdict`], in the order docs/verdicts.md lists the rules.

pub mod codes;
pub mod dns;
pub mod lists;
pub mod provider;
pub mod smtp;
pub mod suggest;
pub mod suppress;
pub mod syntax;
mod upstream;

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use crate::reason::Reason;
use dns::{Failure, MailRoutes, Reach, Route, Via};
use lists::ListStore;
use smtp::{CatchAll, Outcome, Prober};

/// The verdict on an email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Validity {
    /// The address can receive mail as far as the checks can tell.
    Valid,
    /// A fake address: bad syntax, no mail route, or a mailbox the server rejected.
    Invalid,
    /// The address or its domain is known to generate spam, or is disposable.
    Spam,
    /// The checks could not decide.
    Unknown,
}

/// The result of validating one address, with the reasons that explain it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The verdict.
    pub validity: Validity,
    /// Local part as given, domain in lower-case ASCII; empty when syntax failed.
    pub normalized: String,
    /// The domain in ASCII (IDNA) form; empty when syntax failed.
    pub domain: String,
    /// The exchangers, most preferred first.
    pub mx_hosts: Vec<String>,
    /// The domain is a disposable-mail provider.
    pub disposable: bool,
    /// The domain is a free mail provider.
    pub free_provider: bool,
    /// The local part names a role, not a person.
    pub role_account: bool,
    /// The SMTP probe found the domain accepts any mailbox (`catch_all_state.is_yes()`).
    pub catch_all: bool,
    /// Whether the catch-all question was asked, and its answer.
    pub catch_all_state: CatchAll,
    /// The provider that hosts the domain's mail (`google`, `microsoft`, ...), known
    /// from its exchangers; empty when unknown.
    pub mail_provider: &'static str,
    /// How far the checks went: what the verdict proves.
    pub depth: Depth,
    /// When asking again is worthwhile (greylisting, a temporary failure, a full inbox,
    /// a busy probe): at the earliest after this long.
    pub retry_after: Option<std::time::Duration>,
    /// The SMTP probe ran and the server accepted the mailbox.
    pub smtp_accepted: bool,
    /// The domain the address was likely meant to have.
    pub suggestion: Option<String>,
    /// Why the verdict is what it is, in the order the checks ran.
    pub reasons: Vec<Reason>,
    /// The canonical mailbox (dedup material), when the syntax is valid.
    pub canonical: Option<String>,
}

/// How far the checks of an address went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Depth {
    /// Nothing was checked: the address was missing.
    None,
    /// The syntax and the lists only; the mail route was not established.
    Syntax,
    /// DNS answered: a VALID verdict proves a mail route to the domain, not the mailbox.
    Domain,
    /// The SMTP probe answered about this mailbox: accepted while a random one was
    /// refused, or rejected.
    Mailbox,
}

impl Verdict {
    fn empty(validity: Validity, depth: Depth, reason: Reason) -> Verdict {
        Verdict {
            validity,
            normalized: String::new(),
            domain: String::new(),
            mx_hosts: Vec::new(),
            disposable: false,
            free_provider: false,
            role_account: false,
            catch_all: false,
            catch_all_state: CatchAll::NotChecked,
            mail_provider: "",
            depth,
            retry_after: None,
            smtp_accepted: false,
            suggestion: None,
            reasons: vec![reason],
            canonical: None,
        }
    }
}

/// Validates email addresses: one per process, shared by every request.
pub struct Validator {
    lists: Arc<ListStore>,
    routes: Arc<MailRoutes>,
    prober: Option<Prober>,
}

impl Validator {
    /// Makes a validator from its lists, its DNS layer and, when probing is on, a prober.
    pub fn new(lists: Arc<ListStore>, routes: Arc<MailRoutes>, prober: Option<Prober>) -> Self {
        Validator {
            lists,
            routes,
            prober,
        }
    }

    /// Returns the DNS layer, for the SMTP prober's host lookups.
    pub fn routes(&self) -> &Arc<MailRoutes> {
        &self.routes
    }

    /// Validates one address by the rules of docs/verdicts.md, first match wins.
    pub async fn validate(&self, input: &str) -> Verdict {
        // 1. empty: UNKNOWN.
        let input = input.trim();
        if input.is_empty() {
            return Verdict::empty(
                Validity::Unknown,
                Depth::None,
                Reason::new(codes::MISSING, "no email address given"),
            );
        }
        // 2. syntax: INVALID.
        let address = match syntax::parse(input) {
            Ok(address) => address,
            Err(reason) => return Verdict::empty(Validity::Invalid, Depth::Syntax, reason),
        };
        let lists = self.lists.current();
        let suppressed = lists.is_suppressed(&address);
        let facts = lists.domain_facts(&address.domain);
        let providers = provider::bundled();
        // A provider's consumer domain is free mail even if the free list lacks it.
        let free_provider = facts.free_provider || providers.free_domain(&address.domain).is_some();
        let mut verdict = Verdict {
            validity: Validity::Valid,
            free_provider,
            role_account: lists.is_role_account(&address.local),
            suggestion: facts.suggestion,
            normalized: address.normalized,
            domain: address.domain,
            canonical: Some(address.canonical),
            mx_hosts: Vec::new(),
            disposable: false,
            catch_all: false,
            catch_all_state: CatchAll::NotChecked,
            mail_provider: "",
            depth: Depth::Syntax,
            retry_after: None,
            smtp_accepted: false,
            reasons: Vec::new(),
        };
        // 3. the address on the suppression list: SPAM.
        if suppressed {
            return verdict.decided(
                Validity::Spam,
                Reason::new(
                    codes::LIST_SUPPRESSED,
                    "the address is on the suppression list",
                ),
            );
        }
        // 3. spam or disposable domain, or a parent of it: SPAM.
        if let Some(hit) = facts.spam {
            verdict.disposable = hit.disposable;
            verdict.validity = Validity::Spam;
            verdict.reasons.push(if hit.disposable {
                Reason::new(
                    codes::LIST_DISPOSABLE,
                    format!("{} is a disposable-mail domain", hit.domain),
                )
            } else {
                Reason::new(
                    codes::LIST_SPAM,
                    format!("{} is known to generate spam", hit.domain),
                )
            });
            verdict.add_flags();
            return verdict;
        }
        // 4. DNS: a special-use name, no mail route or exchangers without an address are
        // INVALID; a failure to ask is UNKNOWN.
        let route = self.routes.route(&verdict.domain).await;
        // DNS answered about the domain (a failure to ask, or a name never looked up,
        // proves nothing about it).
        if !matches!(
            route,
            Route::Failed(_)
                | Route::SpecialUse(_)
                | Route::Mx {
                    reach: Reach::Failed(_),
                    ..
                }
        ) {
            verdict.depth = Depth::Domain;
        }
        match route {
            Route::Mx { hosts, reach } => {
                let mut buffer = itoa::Buffer::new();
                let count = buffer.format(hosts.len());
                verdict.mx_hosts = hosts;
                match reach {
                    Reach::Reached { via, private } => {
                        verdict.reasons.push(Reason::new(
                            codes::DNS_MX,
                            [count, " mail exchanger(s) found"].concat(),
                        ));
                        match via {
                            Via::Name => {}
                            Via::Cname => verdict.reasons.push(Reason::new(
                                codes::DNS_MX_CNAME,
                                "the mail exchanger is an alias (CNAME), which RFC 2181 forbids; mail often flows",
                            )),
                            Via::IpLiteral => verdict.reasons.push(Reason::new(
                                codes::DNS_MX_IP_LITERAL,
                                "the mail exchanger is an IP address, not a host name (RFC 5321); mail often flows",
                            )),
                        }
                        if private {
                            verdict.reasons.push(private_reason());
                        }
                    }
                    Reach::Dangling => {
                        return verdict.decided(
                            Validity::Invalid,
                            Reason::new(
                                codes::DNS_MX_DANGLING,
                                [
                                    "none of the ",
                                    count,
                                    " mail exchanger(s) has an address: mail to the domain bounces",
                                ]
                                .concat(),
                            ),
                        )
                    }
                    Reach::Failed(failure) => {
                        return verdict.decided(
                            Validity::Unknown,
                            failure_reason(failure, " for the mail exchangers"),
                        )
                    }
                }
            }
            Route::Implicit { host, private } => {
                verdict.reasons.push(Reason::new(
                    codes::DNS_IMPLICIT_MX,
                    "no MX record, but an A/AAAA record: the domain receives mail itself (RFC 5321 5.1)",
                ));
                if private {
                    verdict.reasons.push(private_reason());
                }
                verdict.mx_hosts = vec![host];
            }
            Route::NullMx => {
                return verdict.decided(
                    Validity::Invalid,
                    Reason::new(
                        codes::DNS_NULL_MX,
                        "the domain publishes a null MX: it accepts no mail (RFC 7505)",
                    ),
                )
            }
            Route::NoDomain => {
                return verdict.decided(
                    Validity::Invalid,
                    Reason::new(codes::DNS_NXDOMAIN, "the domain does not exist (NXDOMAIN)"),
                )
            }
            Route::NoMailRoute => {
                return verdict.decided(
                    Validity::Invalid,
                    Reason::new(
                        codes::DNS_NO_MAIL_ROUTE,
                        "the domain has no MX and no A/AAAA record: no mail route",
                    ),
                )
            }
            Route::Failed(failure) => {
                return verdict.decided(Validity::Unknown, failure_reason(failure, ""));
            }
            Route::SpecialUse(dns::Suffix(suffix)) => {
                return verdict.decided(
                    Validity::Invalid,
                    Reason::new(
                        codes::DNS_SPECIAL_USE,
                        [
                            "the domain is under .",
                            suffix,
                            ", a special-use or internal name no mail from the internet reaches: not looked up",
                        ]
                        .concat(),
                    ),
                );
            }
        }
        // A domain whose mail goes to a disposable service's exchangers is disposable,
        // whatever its own name.
        let disposable_exchanger = verdict
            .mx_hosts
            .iter()
            .find_map(|host| lists.spam_match(host).filter(|hit| hit.disposable));
        if let Some(hit) = disposable_exchanger {
            verdict.disposable = true;
            return verdict.decided(
                Validity::Spam,
                Reason::new(
                    codes::LIST_DISPOSABLE,
                    format!(
                        "the domain's mail goes to the exchangers of {}, a disposable-mail service",
                        hit.domain
                    ),
                ),
            );
        }
        // The provider, from the most preferred exchanger a rule knows.
        let provider = providers.of_exchangers(&verdict.mx_hosts);
        if let Some(provider) = provider {
            verdict.mail_provider = provider.name;
            verdict.reasons.push(Reason::new(
                provider.code,
                ["the domain's mail is hosted by ", provider.name].concat(),
            ));
        }
        // 5. optional SMTP probe: only a permanent mailbox rejection is INVALID.
        if let Some(prober) = &self.prober {
            // Boxed: a probe's future is large, and most calls never make one.
            let result =
                Box::pin(prober.probe(&verdict.normalized, &verdict.domain, &verdict.mx_hosts))
                    .await;
            ::metrics::counter!(crate::metrics::SMTP_PROBES, "outcome" => probe_label(&result.outcome))
                .increment(1);
            let state = result.catch_all_state;
            verdict.catch_all = state.is_yes();
            verdict.catch_all_state = state;
            verdict.smtp_accepted = matches!(result.outcome, Outcome::Accepted);
            verdict.reasons.push(probe_reason(&result.outcome));
            match state {
                CatchAll::Yes => verdict.reasons.push(Reason::new(
                    codes::SMTP_CATCH_ALL,
                    "the domain accepts any mailbox: acceptance proves little",
                )),
                CatchAll::Known => verdict.reasons.push(Reason::new(
                    codes::SMTP_CATCH_ALL,
                    "the domain's mail provider accepts any mailbox: acceptance proves \
                     little, and no random mailbox was asked",
                )),
                CatchAll::NotChecked | CatchAll::No | CatchAll::Inconclusive => {}
            }
            verdict.retry_after = prober.retry_after(&result.outcome);
            let about_mailbox = match result.outcome {
                Outcome::Accepted => state == CatchAll::No,
                ref outcome => outcome.refuses_mailbox(),
            };
            if about_mailbox {
                verdict.depth = Depth::Mailbox;
            }
            if result.outcome.refuses_mailbox() {
                verdict.validity = Validity::Invalid;
                verdict.add_flags();
                return verdict;
            }
        }
        // 6. otherwise VALID, with flags, and a warning when it is a risky one.
        verdict.add_flags();
        verdict.add_risk();
        verdict
    }
}

impl Verdict {
    /// Sets the validity, records why, and adds the flags that still hold.
    fn decided(mut self, validity: Validity, reason: Reason) -> Verdict {
        self.validity = validity;
        self.reasons.push(reason);
        self.add_flags();
        self
    }

    /// Adds the reasons of the informational flags, after the deciding reasons.
    fn add_flags(&mut self) {
        if self.free_provider {
            self.reasons.push(Reason::new(
                codes::FLAG_FREE_PROVIDER,
                "the domain is a free mail provider",
            ));
        }
        if self.role_account {
            self.reasons.push(Reason::new(
                codes::FLAG_ROLE_ACCOUNT,
                "the local part names a role, not a person",
            ));
        }
        if let Some(suggestion) = &self.suggestion {
            self.reasons.push(Reason::new(
                codes::SUGGEST_TYPO,
                format!("the domain looks like a misspelling of {suggestion}"),
            ));
        }
    }
}

impl Verdict {
    /// Says why a VALID verdict is a risky one: a catch-all domain (acceptance proves
    /// little), a role account (nobody in particular reads it), free mail (a sales lead
    /// with a private address).
    fn add_risk(&mut self) {
        let mut risks = Vec::new();
        if self.catch_all {
            risks.push("the domain accepts any mailbox");
        }
        if self.role_account {
            risks.push("a role account");
        }
        if self.free_provider {
            risks.push("a free mail address");
        }
        if !risks.is_empty() {
            self.reasons.push(Reason::new(
                codes::VALID_RISKY,
                ["valid, but risky: ", &risks.join("; ")].concat(),
            ));
        }
    }
}

/// Explains a failure to ask DNS: UNKNOWN, never INVALID.
fn failure_reason(failure: Failure, what: &str) -> Reason {
    let (code, message) = match failure {
        Failure::ServFail => (codes::DNS_SERVFAIL, "the DNS server answered SERVFAIL"),
        Failure::Refused => (codes::DNS_REFUSED, "the DNS server refused the query"),
        Failure::Timeout => (codes::DNS_TIMEOUT, "the DNS lookup timed out"),
        Failure::Other => (codes::DNS_ERROR, "the DNS lookup failed"),
    };
    Reason::new(code, [message, what].concat())
}

/// Says that the exchanger's addresses are private or loopback (the verdict stands).
fn private_reason() -> Reason {
    Reason::new(
        codes::DNS_MX_PRIVATE,
        "the mail exchanger's address is private or loopback: mail from the internet cannot reach it",
    )
}

/// The metric label of a probe outcome.
fn probe_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Accepted => "accepted",
        Outcome::Rejected { .. } => "rejected",
        Outcome::Disabled { .. } => "disabled",
        Outcome::FullInbox { .. } => "full_inbox",
        Outcome::Policy { .. } => "policy",
        Outcome::Temporary {
            greylisted: true, ..
        } => "greylisted",
        Outcome::Temporary { .. } => "temporary",
        Outcome::Unreachable { .. } => "unreachable",
        Outcome::SkippedPrivate => "skipped_private",
        Outcome::Busy { .. } => "busy",
    }
}

/// Explains the probe's outcome; the server's reply is quoted, never our address.
fn probe_reason(outcome: &Outcome) -> Reason {
    let message = match outcome {
        Outcome::Accepted => "the mail server accepted the mailbox".to_string(),
        Outcome::Rejected { reply } => format!("the mail server rejected the mailbox: {reply}"),
        Outcome::Disabled { reply } => {
            format!("the mailbox is disabled and accepts no mail: {reply}")
        }
        Outcome::FullInbox { reply } => {
            format!("the mailbox exists but is full; retry later: {reply}")
        }
        Outcome::Policy { reply } => {
            format!("the mail server refused the probe itself, not the mailbox: {reply}")
        }
        Outcome::Temporary { reply, .. } => format!("temporary failure, retry later: {reply}"),
        Outcome::Unreachable { detail } => {
            format!("no mail exchanger could be reached: {detail}")
        }
        Outcome::SkippedPrivate => {
            "every exchanger resolves to a private or loopback address: not probed".to_string()
        }
        Outcome::Busy { limit } => {
            let with = match limit {
                smtp::Limit::Domain => "with this domain",
                smtp::Limit::Address => "with its mail exchanger",
                smtp::Limit::Process => "in this service",
            };
            format!("not probed: too many SMTP sessions in progress {with}; retry later")
        }
    };
    Reason::new(outcome.code(), message)
}

impl smtp::HostResolver for MailRoutes {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = Vec<IpAddr>> + Send + 'a>> {
        Box::pin(self.host_ips(host))
    }
}

/// Redacts an address for logs: the first character of the local part and the domain
/// (`j***@contoso.com`); never the full address.
pub fn redact(address: &str) -> String {
    let address = address.trim();
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_keeps_only_the_first_letter_and_the_domain() {
        assert_eq!(redact("john.smith@contoso.com"), "j***@contoso.com");
        assert_eq!(redact("not-an-address"), "***");
        assert_eq!(redact("ä@x.de"), "ä***@x.de");
    }
}

#[cfg(test)]
#[path = "validator_tests.rs"]
mod validator_tests;
