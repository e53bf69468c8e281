//! Reply classification: what a negative SMTP reply says about the mailbox, and how it
//! is quoted to callers (one line, addresses redacted).

use super::{clip, Outcome, MAX_REPLY_CHARS};

/// Where in the session a negative reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// The greeting or the reply to EHLO.
    Handshake,
    /// The reply to MAIL FROM.
    MailFrom,
    /// The reply to RCPT TO: the only one that can be about the mailbox.
    RcptTo,
}

/// A negative SMTP reply: the three-digit code and the text after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reply {
    pub(super) code: u16,
    pub(super) text: String,
}

/// An RFC 3463 enhanced status code, `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Enhanced {
    pub(super) class: u16,
    pub(super) subject: u16,
    pub(super) detail: u16,
}

impl Reply {
    /// Returns the reply a lettre error carries, when it is a 4xx or 5xx reply.
    pub(super) fn from_error(error: &lettre::transport::smtp::Error) -> Option<Reply> {
        let code = u16::from(error.status()?);
        // lettre keeps the reply's lines, joined, as the error's source.
        let text = std::error::Error::source(error)
            .map(|source| source.to_string())
            .unwrap_or_default();
        Some(Reply { code, text })
    }

    /// A 5xx reply: permanent negative completion (RFC 5321 section 4.2.1).
    pub(super) fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// Returns the enhanced status code of the reply, if it has one that agrees with the
    /// reply code.
    pub(super) fn enhanced(&self) -> Option<Enhanced> {
        // RFC 2034 section 4: the enhanced code starts the reply text. qmail and a few
        // others put it at the end instead, as "(#5.1.1)".
        let leading = self.text.split_whitespace().next().and_then(parse_enhanced);
        let code = leading.or_else(|| {
            self.text.split('#').skip(1).find_map(|rest| {
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                rest.get(..end).and_then(parse_enhanced)
            })
        });
        // RFC 3463 section 2: the class repeats the reply code's first digit; a code
        // that contradicts the reply is not trusted.
        code.filter(|enhanced| enhanced.class == self.code / 100)
    }

    /// Returns the reply as quoted in an outcome: one line, addresses redacted (a reason
    /// never holds a full address), at most [`MAX_REPLY_CHARS`] characters.
    pub(super) fn quoted(&self) -> String {
        let text = redact_text(&self.text);
        let line = if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {text}", self.code)
        };
        clip(&line, MAX_REPLY_CHARS)
    }
}

/// Parses `class.subject.detail` (RFC 3463 section 2: class 2, 4 or 5; subject and
/// detail of one to three digits); trailing punctuation is ignored.
pub(super) fn parse_enhanced(word: &str) -> Option<Enhanced> {
    let word = word.trim_end_matches(['.', ',', ':', ';', ')']);
    let mut parts = word.split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let number = |part: &str| {
        ((1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u16>().ok())
            .flatten()
    };
    let class = match class {
        "2" => 2,
        "4" => 4,
        "5" => 5,
        _ => return None,
    };
    Some(Enhanced {
        class,
        subject: number(subject)?,
        detail: number(detail)?,
    })
}

/// Sorts a negative reply into an outcome, by where in the session it came.
pub(super) fn classify(stage: Stage, reply: &Reply) -> Outcome {
    let quoted = reply.quoted();
    let enhanced = reply.enhanced().map(|e| (e.subject, e.detail));
    // X.2.2, mailbox full, to RCPT TO: the mailbox exists and cannot take mail now,
    // whether the server says so with a 4xx or a 5xx (RFC 3463 section 3.3).
    if stage == Stage::RcptTo && enhanced == Some((2, 2)) {
        return Outcome::FullInbox { reply: quoted };
    }
    if !reply.is_permanent() {
        // RFC 5321 section 4.2.1: 4yz is a transient negative completion; the same
        // command may succeed later, so it says nothing yet.
        return Outcome::Temporary {
            greylisted: is_greylisting(reply),
            reply: quoted,
        };
    }
    match stage {
        // Nothing about the mailbox has been asked before RCPT TO: a 5xx greeting (554,
        // RFC 5321 section 3.1), a refused EHLO or a refused MAIL FROM refuses us.
        Stage::Handshake | Stage::MailFrom => Outcome::Policy { reply: quoted },
        Stage::RcptTo => match read_rcpt_refusal(reply) {
            // X.2.1: the mailbox exists and is disabled, not accepting messages.
            Refusal::Mailbox if enhanced == Some((2, 1)) => Outcome::Disabled { reply: quoted },
            Refusal::Mailbox => Outcome::Rejected { reply: quoted },
            Refusal::Us => Outcome::Policy { reply: quoted },
            Refusal::Transient => Outcome::Temporary {
                reply: quoted,
                greylisted: false,
            },
        },
    }
}

/// What a 5xx reply to RCPT TO refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The mailbox: it does not exist or cannot receive mail. INVALID.
    Mailbox,
    /// Us: our address, name, sender or behaviour. Says nothing about the mailbox.
    Us,
    /// A lasting but not permanent state of the mailbox (full): retry later.
    Transient,
}

/// Reads a 5xx reply to RCPT TO. When in doubt it is not the mailbox's fault: a false
/// INVALID throws a real lead away, a missed one only costs a flag.
pub(super) fn read_rcpt_refusal(reply: &Reply) -> Refusal {
    let text = reply.text.to_lowercase();
    // 1. A reply that names a blocklist, our host, our HELO or our sender refuses us,
    //    whatever its codes say (Postfix, for one, checks the sender at RCPT time and
    //    answers "550 5.1.1 <sender>: Sender address rejected").
    if talks_about_us(&text) {
        return Refusal::Us;
    }
    // 2. The enhanced status code, when present, is the more precise one (RFC 3463).
    match reply.enhanced() {
        // X.7.x security or policy status (section 3.8): "550 5.7.1 blocked".
        Some(Enhanced { subject: 7, .. }) => return Refusal::Us,
        // X.1.7 bad sender's mailbox syntax, X.1.8 bad sender's system address
        // (section 3.2): about our MAIL FROM, not the recipient.
        Some(Enhanced {
            subject: 1,
            detail: 7 | 8,
            ..
        }) => return Refusal::Us,
        // X.1.x addressing status (section 3.2): X.1.1 bad destination mailbox, X.1.2
        // bad destination system, X.1.3 bad mailbox syntax, X.1.6 mailbox moved, X.1.10
        // null MX (RFC 7505).
        Some(Enhanced { subject: 1, .. }) => return Refusal::Mailbox,
        // X.2.1 mailbox disabled, not accepting messages (section 3.3).
        Some(Enhanced {
            subject: 2,
            detail: 1,
            ..
        }) => return Refusal::Mailbox,
        // X.2.2 mailbox full: "a persistent transient failure" (section 3.3); the
        // mailbox exists.
        Some(Enhanced {
            subject: 2,
            detail: 2,
            ..
        }) => return Refusal::Transient,
        // X.3.x mail system, X.5.x protocol, X.6.x content status (sections 3.4, 3.6,
        // 3.7) are about the server or our commands, unless the text says the mailbox
        // is missing (Outlook.com: "550 5.5.0 Requested action not taken: mailbox
        // unavailable").
        Some(Enhanced {
            subject: 3 | 5 | 6, ..
        }) => {
            return if names_missing_mailbox(&text) {
                Refusal::Mailbox
            } else {
                Refusal::Us
            };
        }
        // X.0.0 undefined, X.2.x otherwise, X.4.x network and routing (Microsoft 365
        // answers "550 5.4.1 Recipient address rejected: Access denied" for a mailbox it
        // does not have), none at all: the basic code decides.
        _ => {}
    }
    // 3. The basic reply code (RFC 5321 section 4.2.2).
    match reply.code {
        // 550 mailbox unavailable (not found, no access), 551 user not local, 553
        // mailbox name not allowed: about the mailbox, even when the text is unclear.
        550 | 551 | 553 => Refusal::Mailbox,
        // 556 domain does not accept mail (RFC 7504): no mailbox there can receive it.
        556 => Refusal::Mailbox,
        // 552 to RCPT is to be treated as 452 (RFC 5321 section 4.5.3.1.10).
        552 => Refusal::Transient,
        // 554 transaction failed (in practice relay denial or a blocklist), 500-504
        // our command not understood, anything else: says nothing about the mailbox.
        _ => Refusal::Us,
    }
}

/// Tells whether a (lower-cased) reply text is about us rather than the recipient: a
/// blocklist, our IP or host name, our HELO, our sender, relaying, rate or policy.
pub(super) fn talks_about_us(text: &str) -> bool {
    const PHRASES: &[&str] = &[
        "blocklist",
        "blacklist",
        "denylist",
        "block list",
        "black list",
        "blocked",
        "spamhaus",
        "spamcop",
        "barracuda",
        "sorbs",
        "dnsbl",
        "reputation",
        "client host",
        "your ip",
        "ip address",
        "sender address rejected",
        "sender rejected",
        "sender verify",
        "sender domain",
        "reverse dns",
        "relay access denied",
        "relaying denied",
        "relay denied",
        "relay not permitted",
        "relaying not permitted",
        "not permitted to relay",
        "unable to relay",
        "rate limit",
        "too many",
    ];
    // Short words only count whole, so that "helo" does not match inside another word.
    const WORDS: &[&str] = &["rbl", "helo", "ehlo", "ptr", "rdns", "spam", "policy"];
    PHRASES.iter().any(|phrase| text.contains(phrase))
        || text
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| WORDS.contains(&word))
}

/// Tells whether a (lower-cased) reply text says the mailbox does not exist.
pub(super) fn names_missing_mailbox(text: &str) -> bool {
    const PHRASES: &[&str] = &[
        "user unknown",
        "unknown user",
        "no such user",
        "no such mailbox",
        "no such recipient",
        "unknown recipient",
        "recipient unknown",
        "invalid recipient",
        "mailbox unavailable",
        "mailbox not found",
        "user not found",
        "recipient not found",
        "does not exist",
        "doesn't exist",
    ];
    PHRASES.iter().any(|phrase| text.contains(phrase))
}

/// Tells whether a 4xx reply looks like greylisting: 450/451 with the enhanced code
/// 4.7.1, or a text that says so (Postfix's postgrey: "450 4.2.0 ... Greylisted").
pub(super) fn is_greylisting(reply: &Reply) -> bool {
    let text = reply.text.to_lowercase();
    let says_so = [
        "greylist",
        "graylist",
        "grey-list",
        "gray-list",
        "grey list",
        "gray list",
    ]
    .iter()
    .any(|word| text.contains(word));
    let code_says_so = matches!(reply.code, 450 | 451)
        && reply.enhanced()
            == Some(Enhanced {
                class: 4,
                subject: 7,
                detail: 1,
            });
    says_so || code_says_so
}

/// Makes `text` one line of words with every address's local part replaced by `***`.
pub(super) fn redact_text(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<String> = text.split_whitespace().map(redact_addresses).collect();
    words.join(" ")
}

/// Replaces the local part of any address in `word` with `***`, keeping the domain:
/// servers often echo the recipient (`<john@contoso.com>: Recipient address rejected`).
pub(super) fn redact_addresses(word: &str) -> String {
    let is_delimiter = |c: char| "<>()[]\"',;:=".contains(c);
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while !rest.is_empty() {
        let end = rest.find(is_delimiter).unwrap_or(rest.len());
        let (piece, tail) = rest.split_at(end);
        match piece.rsplit_once('@') {
            Some((_, domain)) => {
                out.push_str("***@");
                out.push_str(domain);
            }
            None => out.push_str(piece),
        }
        let mut chars = tail.chars();
        if let Some(delimiter) = chars.next() {
            out.push(delimiter);
        }
        rest = chars.as_str();
    }
    out
}
