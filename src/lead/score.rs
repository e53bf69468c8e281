//! The scoring model: points per signal, a threshold, and two hard rules.
//!
//! Transparent by construction: the score is the model's base plus the points of every
//! factor listed in the result, clamped to 0..=100, so anyone can recompute it.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use super::codes;
use super::source::Action;

/// The email's verdict as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailClass {
    /// VALID.
    Valid,
    /// INVALID.
    Invalid,
    /// SPAM (or disposable).
    Spam,
    /// UNKNOWN: could not be checked.
    Unknown,
    /// The lead has no email.
    Missing,
}

/// The phone's verdict as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneClass {
    /// VALID.
    Valid,
    /// INVALID.
    Invalid,
    /// UNKNOWN: could not be checked.
    Unknown,
    /// The lead has no phone.
    Missing,
}

/// The facts the model reads, drawn from the lead and its validation.
#[derive(Debug, Clone)]
pub struct Signals<'a> {
    /// The LeadSource action.
    pub action: Action,
    /// The LeadSource could not be parsed.
    pub source_malformed: bool,
    /// The email verdict.
    pub email: EmailClass,
    /// The email is at a free provider.
    pub free_provider: bool,
    /// The email is a role account.
    pub role_account: bool,
    /// The email domain is disposable.
    pub disposable: bool,
    /// The phone verdict.
    pub phone: PhoneClass,
    /// The phone is mobile (or fixed-or-mobile).
    pub phone_mobile: bool,
    /// The phone is toll-free, premium-rate or shared-cost.
    pub phone_toll_free_or_premium: bool,
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
    /// Company.
    pub company: &'a str,
    /// Job title.
    pub title: &'a str,
    /// When the lead was created.
    pub created_at: Option<SystemTime>,
}

/// The tier of a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Quality {
    /// At or above the threshold.
    High,
    /// Below the threshold, or caught by a hard rule.
    Low,
}

/// One signal that moved the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Factor {
    /// The factor's code (see [`codes`]).
    pub code: &'static str,
    /// Points added (or taken away).
    pub points: i32,
    /// A human explanation; never the email or phone itself.
    pub detail: String,
}

/// A lead's score and the factors that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// HIGH or LOW.
    pub quality: Quality,
    /// 0..=100.
    pub score: u32,
    /// The factors, in the order applied.
    pub factors: Vec<Factor>,
}

/// Why a model file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("cannot read scoring model {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid model; the message names the line.
    #[error("scoring model {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with its line and column.
        message: String,
    },
}

fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = i32::deserialize(d)?;
    if !(0..=100).contains(&v) {
        return Err(serde::de::Error::custom(format!("{v} is outside 0..=100")));
    }
    Ok(v)
}

fn points<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = i32::deserialize(d)?;
    if !(-100..=100).contains(&v) {
        return Err(serde::de::Error::custom(format!("{v} points is outside -100..=100")));
    }
    Ok(v)
}

/// Points per factor code, as written in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Points {
    #[serde(rename = "action.active", deserialize_with = "points")]
    action_active: i32,
    #[serde(rename = "action.initial", deserialize_with = "points")]
    action_initial: i32,
    #[serde(rename = "action.do_not_contact", deserialize_with = "points")]
    action_do_not_contact: i32,
    #[serde(rename = "action.unknown", deserialize_with = "points")]
    action_unknown: i32,
    #[serde(rename = "source.unparsed", deserialize_with = "points")]
    source_unparsed: i32,
    #[serde(rename = "email.valid", deserialize_with = "points")]
    email_valid: i32,
    #[serde(rename = "email.invalid", deserialize_with = "points")]
    email_invalid: i32,
    #[serde(rename = "email.spam", deserialize_with = "points")]
    email_spam: i32,
    #[serde(rename = "email.unknown", deserialize_with = "points")]
    email_unknown: i32,
    #[serde(rename = "email.missing", deserialize_with = "points")]
    email_missing: i32,
    #[serde(rename = "email.corporate", deserialize_with = "points")]
    email_corporate: i32,
    #[serde(rename = "email.free_provider", deserialize_with = "points")]
    email_free_provider: i32,
    #[serde(rename = "email.role_account", deserialize_with = "points")]
    email_role_account: i32,
    #[serde(rename = "phone.valid_mobile", deserialize_with = "points")]
    phone_valid_mobile: i32,
    #[serde(rename = "phone.valid", deserialize_with = "points")]
    phone_valid: i32,
    #[serde(rename = "phone.service_number", deserialize_with = "points")]
    phone_service_number: i32,
    #[serde(rename = "phone.invalid", deserialize_with = "points")]
    phone_invalid: i32,
    #[serde(rename = "phone.unknown", deserialize_with = "points")]
    phone_unknown: i32,
    #[serde(rename = "phone.missing", deserialize_with = "points")]
    phone_missing: i32,
    #[serde(rename = "complete.company", deserialize_with = "points")]
    complete_company: i32,
    #[serde(rename = "complete.title", deserialize_with = "points")]
    complete_title: i32,
    #[serde(rename = "title.executive", deserialize_with = "points")]
    title_executive: i32,
    #[serde(rename = "title.senior", deserialize_with = "points")]
    title_senior: i32,
    #[serde(rename = "name.fake", deserialize_with = "points")]
    name_fake: i32,
    #[serde(rename = "recency.24h", deserialize_with = "points")]
    recency_24h: i32,
    #[serde(rename = "recency.72h", deserialize_with = "points")]
    recency_72h: i32,
    #[serde(rename = "recency.14d", deserialize_with = "points")]
    recency_14d: i32,
    #[serde(rename = "recency.expired", deserialize_with = "points")]
    recency_expired: i32,
}

/// The model file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    name: String,
    #[serde(deserialize_with = "percent")]
    base: i32,
    #[serde(deserialize_with = "percent")]
    threshold: i32,
    points: Points,
}

/// A scoring model: base, threshold, points per factor, and its version.
#[derive(Debug, Clone)]
pub struct Model {
    file: ModelFile,
    version: String,
}

/// The bundled default model.
const BUNDLED: &str = include_str!("../../data/scoring.toml");

impl Model {
    /// Returns the bundled model (`data/scoring.toml`).
    pub fn bundled() -> Model {
        // The bundled file is checked by a test; a broken one is a build defect.
        Model::from_toml(BUNDLED).unwrap_or_else(|e| panic!("bundled scoring model: {e}"))
    }

    /// Parses a model, refusing unknown or missing keys and out-of-range values with a
    /// message naming the line.
    pub fn from_toml(text: &str) -> Result<Model, ModelError> {
        Model::parse(text, "(inline)")
    }

    fn parse(text: &str, path: &str) -> Result<Model, ModelError> {
        let file: ModelFile = toml::from_str(text).map_err(|e| ModelError::Invalid {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        if file.name.trim().is_empty() || file.name.chars().any(char::is_whitespace) {
            return Err(ModelError::Invalid {
                path: path.to_string(),
                message: "`name` must be a non-empty word".to_string(),
            });
        }
        // The version hashes the effective content: comments and layout do not change
        // it, any point does.
        let canonical = serde_json::to_string(&file).unwrap_or_default();
        let digest = Sha256::digest(canonical.as_bytes());
        let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let version = format!("{}@{hex}", file.name);
        Ok(Model { file, version })
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Model::parse(&text, &path.display().to_string())
    }

    /// Returns `name@hash`: the model's name and 8 hex digits of its content's SHA-256.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Returns the threshold of HIGH.
    pub fn threshold(&self) -> u32 {
        self.file.threshold.unsigned_abs()
    }

    /// Scores a lead at time `now`.
    pub fn score(&self, s: &Signals<'_>, now: SystemTime) -> Score {
        let p = &self.file.points;
        let mut factors = Vec::new();
        let mut add = |code: &'static str, points: i32, detail: &str| {
            factors.push(Factor {
                code,
                points,
                detail: detail.to_string(),
            });
        };

        match s.action {
            Action::Install | Action::Create | Action::StartTestDrive => add(
                codes::ACTION_ACTIVE,
                p.action_active,
                "active interest: install, portal purchase or test drive",
            ),
            Action::PartnerLedTrial => add(
                codes::ACTION_INITIAL,
                p.action_initial,
                "initial interest: the customer asked to be contacted",
            ),
            Action::DoNotContact => add(
                codes::ACTION_DO_NOT_CONTACT,
                p.action_do_not_contact,
                "do not contact: a cross-listing notice",
            ),
            Action::Unspecified => add(codes::ACTION_UNKNOWN, p.action_unknown, "no usable action"),
        }
        if s.source_malformed {
            add(codes::SOURCE_UNPARSED, p.source_unparsed, "the LeadSource could not be read");
        }

        match s.email {
            EmailClass::Valid => add(codes::EMAIL_VALID, p.email_valid, "the email can receive mail"),
            EmailClass::Invalid => add(codes::EMAIL_INVALID, p.email_invalid, "the email is invalid"),
            EmailClass::Spam => add(
                codes::EMAIL_SPAM,
                p.email_spam,
                if s.disposable {
                    "the email is at a disposable-mail domain"
                } else {
                    "the email domain is known for spam"
                },
            ),
            EmailClass::Unknown => add(codes::EMAIL_UNKNOWN, p.email_unknown, "the email could not be checked"),
            EmailClass::Missing => add(codes::EMAIL_MISSING, p.email_missing, "no email"),
        }
        if matches!(s.email, EmailClass::Valid | EmailClass::Unknown) {
            if s.free_provider {
                add(codes::EMAIL_FREE_PROVIDER, p.email_free_provider, "a free-mail address");
            } else {
                add(codes::EMAIL_CORPORATE, p.email_corporate, "a corporate email domain");
            }
            if s.role_account {
                add(codes::EMAIL_ROLE_ACCOUNT, p.email_role_account, "a role address, not a person");
            }
        }

        match s.phone {
            PhoneClass::Valid if s.phone_toll_free_or_premium => add(
                codes::PHONE_SERVICE_NUMBER,
                p.phone_service_number,
                "a toll-free, premium or shared-cost number",
            ),
            PhoneClass::Valid if s.phone_mobile => {
                add(codes::PHONE_VALID_MOBILE, p.phone_valid_mobile, "a valid mobile number")
            }
            PhoneClass::Valid => add(codes::PHONE_VALID, p.phone_valid, "a valid phone number"),
            PhoneClass::Invalid => add(codes::PHONE_INVALID, p.phone_invalid, "the phone is invalid"),
            PhoneClass::Unknown => add(codes::PHONE_UNKNOWN, p.phone_unknown, "the phone could not be checked"),
            PhoneClass::Missing => add(codes::PHONE_MISSING, p.phone_missing, "no phone"),
        }

        if !s.company.trim().is_empty() {
            add(codes::COMPLETE_COMPANY, p.complete_company, "names a company");
        }
        if !s.title.trim().is_empty() {
            add(codes::COMPLETE_TITLE, p.complete_title, "gives a job title");
        }
        match seniority(s.title) {
            Some(Seniority::Executive) => add(
                codes::TITLE_EXECUTIVE,
                p.title_executive,
                "an executive title: C-level, president, owner or founder",
            ),
            Some(Seniority::Senior) => add(
                codes::TITLE_SENIOR,
                p.title_senior,
                "a senior title: VP, director or head",
            ),
            None => {}
        }
        if looks_fake(s.first_name) || looks_fake(s.last_name) {
            add(codes::NAME_FAKE, p.name_fake, "the name looks made up");
        }

        if let Some(created) = s.created_at {
            // A creation time in the future is clock skew: count it as just now.
            let age = now.duration_since(created).unwrap_or(Duration::ZERO);
            let hours = age.as_secs() / 3600;
            let (code, points, detail) = match hours {
                0..24 => (codes::RECENCY_24H, p.recency_24h, "created within 24 hours"),
                24..72 => (codes::RECENCY_72H, p.recency_72h, "created within 72 hours"),
                72..336 => (codes::RECENCY_14D, p.recency_14d, "created within 14 days"),
                _ => (
                    codes::RECENCY_EXPIRED,
                    p.recency_expired,
                    "older than the 14-day response window",
                ),
            };
            add(code, points, detail);
        }

        let total = self.file.base + factors.iter().map(|f| f.points).sum::<i32>();
        let mut score = total.clamp(0, 100);
        // Hard rules: LOW whatever the points. The rule's factor carries the points that
        // bring the score under the threshold, so score and tier never disagree.
        let rule = if s.action == Action::DoNotContact {
            Some((codes::RULE_DO_NOT_CONTACT, "do not contact: always LOW"))
        } else if s.email == EmailClass::Spam {
            Some((codes::RULE_SPAM_EMAIL, "a spam or disposable email: always LOW"))
        } else {
            None
        };
        if let Some((code, detail)) = rule {
            let cap = (self.file.threshold - 1).max(0);
            let points = if total > cap { cap - total } else { 0 };
            factors.push(Factor {
                code,
                points,
                detail: detail.to_string(),
            });
            score = score.min(cap);
        }
        let quality = if rule.is_none() && score >= self.file.threshold {
            Quality::High
        } else {
            Quality::Low
        };
        Score {
            quality,
            score: score.unsigned_abs(),
            factors,
        }
    }
}

/// How senior a title is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seniority {
    Executive,
    Senior,
}

/// Words of executive titles, in English, Spanish, Portuguese and Russian.
const EXECUTIVE_WORDS: &[&str] = &[
    "ceo", "cto", "cfo", "coo", "cio", "cmo", "cso", "cro", "cpo", "cdo", "chief", "president",
    "presidente", "presidenta", "owner", "founder", "cofounder", "fundador", "fundadora",
    "dueño", "dueña", "propietario", "propietaria", "proprietário", "proprietária", "sócio",
    "sócia", "socio", "socia", "президент", "владелец", "владелица", "основатель",
    "основательница", "учредитель", "собственник",
];

/// Phrases of executive titles.
const EXECUTIVE_PHRASES: &[&str] = &[
    "managing director",
    "general manager",
    "director general",
    "directora general",
    "diretor geral",
    "diretora geral",
    "gerente general",
    "gerente geral",
    "генеральный директор",
];

/// Words of senior titles.
const SENIOR_WORDS: &[&str] = &[
    "vp", "svp", "evp", "avp", "vice", "vicepresident", "vicepresidente", "vicepresidenta", "director",
    "directora", "diretor", "diretora", "head", "jefe", "jefa", "chefe", "вице", "директор",
    "руководитель", "начальник",
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn seniority(title: &str) -> Option<Seniority> {
    let words = words(title);
    let joined = words.join(" ");
    let has_phrase = |p: &&str| {
        joined == *p || joined.starts_with(&format!("{p} ")) || joined.contains(&format!(" {p}"))
    };
    // "Vice President" and "вице-президент" are senior, not executive.
    let executive_word = |(i, w): (usize, &String)| {
        EXECUTIVE_WORDS.contains(&w.as_str())
            && !(i > 0 && matches!(words[i - 1].as_str(), "vice" | "вице"))
    };
    if words.iter().enumerate().any(executive_word) || EXECUTIVE_PHRASES.iter().any(has_phrase)
    {
        return Some(Seniority::Executive);
    }
    if words.iter().any(|w| SENIOR_WORDS.contains(&w.as_str())) {
        return Some(Seniority::Senior);
    }
    None
}

/// Names people type when they do not want to give theirs.
const FAKE_NAMES: &[&str] = &[
    "test", "testing", "tester", "asdf", "qwerty", "xxx", "none", "na", "null", "fake",
    "dummy", "sample", "example", "foo", "bar", "foobar", "blah", "unknown", "anonymous",
    "noname", "nobody", "abc", "тест", "нет",
];

/// Keyboard runs (QWERTY rows and the Russian ЙЦУКЕН layout).
const KEYBOARD_RUNS: &[&str] = &["asdf", "qwer", "zxcv", "hjkl", "uiop", "йцук", "фыва", "ячсм"];

/// Tells whether a name is obviously made up. Real short names (Li, Ng, Bo) pass.
pub fn looks_fake(name: &str) -> bool {
    let lower = name.trim().to_lowercase();
    if lower.is_empty() {
        return false;
    }
    let letters: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    if letters.is_empty() {
        return true; // only punctuation: "-", "...", "n/a" is caught below
    }
    if lower == "n/a" || FAKE_NAMES.contains(&letters.as_str()) {
        return true;
    }
    if letters.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    let mut chars = letters.chars();
    let first = chars.next();
    if letters.chars().count() >= 2 && chars.all(|c| Some(c) == first) {
        return true;
    }
    KEYBOARD_RUNS.iter().any(|run| letters.contains(run))
}

#[cfg(test)]
#[path = "score_tests.rs"]
mod tests;
