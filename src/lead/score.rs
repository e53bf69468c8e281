//! The scoring model: a base, points per signal, a threshold, and two hard rules.
//!
//! Transparent by construction: the score is the model's `base` plus the points of every
//! factor listed in the result, clamped to 0..=100, so anyone can recompute it from the
//! factors alone. `quality` is HIGH at or above the threshold. The hard rules (do not
//! contact, a SPAM email) are factors too: theirs are the points that bring the score
//! under the threshold, so the score and the tier never contradict each other.
//!
//! The model is data: `data/scoring.toml` is compiled in, and `--scoring FILE` replaces
//! it. Its version is its name and a hash of its effective content, so a stored score can
//! be traced to the exact points that produced it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::phone::window::BusinessHours;

use super::codes;
use super::source::Action;
use crate::reason::push_debug;

/// The email's verdict as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailClass {
    /// VALID: the address can receive mail.
    Valid,
    /// INVALID: a fake address.
    Invalid,
    /// SPAM: the address or its domain is known for spam, or is disposable.
    Spam,
    /// UNKNOWN: could not be checked.
    Unknown,
    /// The lead has no email.
    Missing,
}

/// The phone's verdict as the model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneClass {
    /// VALID: reachable and registered.
    Valid,
    /// INVALID.
    Invalid,
    /// UNKNOWN: could not be checked (no country for a national number).
    Unknown,
    /// The lead has no phone.
    Missing,
}

/// The facts the model reads, drawn from the lead and its validation.
#[derive(Debug, Clone)]
pub struct Signals<'a> {
    /// The LeadSource action.
    pub action: Action,
    /// The LeadSource was reported `source.malformed`.
    pub source_malformed: bool,
    /// The email verdict.
    pub email: EmailClass,
    /// The email is at a free mail provider.
    pub free_provider: bool,
    /// The email is a role account (info@, sales@).
    pub role_account: bool,
    /// The email's domain is disposable.
    pub disposable: bool,
    /// The phone verdict.
    pub phone: PhoneClass,
    /// The phone is mobile, or fixed-line-or-mobile.
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

/// The tier of a lead, as the seeds define it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Quality {
    /// A higher probability of converting to a subscription: at or above the threshold.
    High,
    /// A lead with little traction: below the threshold, or caught by a hard rule.
    Low,
}

/// One signal that moved the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Factor {
    /// The factor's code, one of [`codes::POINT_CODES`] or [`codes::RULE_CODES`].
    pub code: &'static str,
    /// Points added (negative: taken away).
    pub points: i32,
    /// A human explanation naming the signal; never the email or the phone itself.
    /// Borrowed when it is a constant, as most are: a lead's factors then cost no
    /// allocation each.
    pub detail: Cow<'static, str>,
}

/// A lead's score and the factors that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// HIGH or LOW.
    pub quality: Quality,
    /// `base` plus the points of every factor, clamped to 0..=100.
    pub score: u32,
    /// The factors, in the order applied; hard rules come last.
    pub factors: Vec<Factor>,
}

/// Why a scoring model was refused.
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
    /// The text is not a valid model.
    #[error("scoring model{}{}: {message}", in_file(.path), at_line(.line))]
    Invalid {
        /// The file, when the model came from one.
        path: Option<String>,
        /// The line (from 1) where the problem is, when it has one.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

fn in_file(path: &Option<String>) -> String {
    path.as_ref().map(|p| format!(" {p}")).unwrap_or_default()
}

fn at_line(line: &Option<usize>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

/// The range of `base` and `threshold`.
const PERCENT: std::ops::RangeInclusive<i64> = 0..=100;
/// The range of one factor's points.
const POINTS: std::ops::RangeInclusive<i64> = -100..=100;
/// The longest model name.
const MAX_NAME: usize = 64;

/// The model file as written; values keep their place in the text for error messages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    name: Spanned<String>,
    base: Spanned<i64>,
    threshold: Spanned<i64>,
    points: Spanned<BTreeMap<Spanned<String>, Spanned<i64>>>,
    /// Business hours for the call window; 09:00-18:00 on weekdays when left out.
    #[serde(default)]
    call_window: Option<Spanned<BusinessHours>>,
}

/// A scoring model: a base, a threshold, points per factor code, and its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    name: String,
    base: i32,
    threshold: i32,
    /// Looked up for every factor of every lead: hashed, as a B-tree's string compares
    /// were a sixth of scoring (callgrind, warm `AssessLead`).
    points: HashMap<&'static str, i32, foldhash::fast::FixedState>,
    call_window: BusinessHours,
    version: String,
}

/// The bundled default model.
const BUNDLED: &str = include_str!("../../data/scoring.toml");

impl Model {
    /// Returns the bundled model, `data/scoring.toml` as compiled in.
    pub fn bundled() -> Model {
        // The bundled file is fixed at build time and checked by a unit test, so a broken
        // one is a defect of the build, not of any input.
        match Model::parse(BUNDLED, None) {
            Ok(model) => model,
            Err(e) => panic!("the bundled scoring model is broken: {e}"),
        }
    }

    /// Parses a model from TOML text.
    ///
    /// Refuses bad TOML, unknown or missing keys and factors, and out-of-range values
    /// (`base` 0..=100, `threshold` 1..=100, points -100..=100), with a message naming
    /// the line.
    pub fn from_toml(text: &str) -> Result<Model, ModelError> {
        Model::parse(text, None)
    }

    /// Reads a model file; an error names the file and the line.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
            path: name.clone(),
            source,
        })?;
        Model::parse(&text, Some(name))
    }

    fn parse(text: &str, path: Option<String>) -> Result<Model, ModelError> {
        let invalid = |span: Option<Range<usize>>, message: String| ModelError::Invalid {
            path: path.clone(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        };
        let file: ModelFile = toml::from_str(text).map_err(|e| {
            // A missing key has the span of its whole table, which points at no line.
            let span = e
                .span()
                .filter(|_| !e.message().starts_with("missing field"));
            invalid(span, e.message().trim().replace('\n', "; "))
        })?;

        let name = file.name.get_ref().trim();
        let name_ok = !name.is_empty()
            && name.chars().count() <= MAX_NAME
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(invalid(
                Some(file.name.span()),
                format!("`name` must be 1 to {MAX_NAME} letters, digits, `-`, `_` or `.`"),
            ));
        }
        let percent = |value: &Spanned<i64>, key: &str, min: i64| {
            let v = *value.get_ref();
            if v < min || !PERCENT.contains(&v) {
                return Err(invalid(
                    Some(value.span()),
                    format!("`{key}` is {v}, outside {min}..=100"),
                ));
            }
            Ok(v as i32)
        };
        let base = percent(&file.base, "base", 0)?;
        // A threshold of 0 would make every lead HIGH, and leave no score under it for
        // the hard rules to cap at.
        let threshold = percent(&file.threshold, "threshold", 1)?;

        let mut points = HashMap::default();
        for (key, value) in file.points.get_ref() {
            let Some(code) = codes::POINT_CODES.iter().find(|c| **c == key.get_ref()) else {
                return Err(invalid(
                    Some(key.span()),
                    format!(
                        "unknown factor `{}`; the factors are: {}",
                        key.get_ref(),
                        codes::POINT_CODES.join(", ")
                    ),
                ));
            };
            let v = *value.get_ref();
            if !POINTS.contains(&v) {
                return Err(invalid(
                    Some(value.span()),
                    format!("factor `{code}` has {v} points, outside -100..=100"),
                ));
            }
            points.insert(*code, v as i32);
        }
        let missing: Vec<&str> = codes::POINT_CODES
            .iter()
            .filter(|c| !points.contains_key(*c))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(invalid(
                Some(file.points.span()),
                format!("`[points]` lacks factor(s) {}", missing.join(", ")),
            ));
        }

        let call_window = match file.call_window {
            Some(hours) if !hours.get_ref().is_well_formed() => {
                return Err(invalid(
                    Some(hours.span()),
                    "`[call_window]` must have `start` before `end`".to_string(),
                ))
            }
            Some(hours) => hours.into_inner(),
            None => BusinessHours::default(),
        };
        let mut model = Model {
            name: name.to_string(),
            base,
            threshold,
            points,
            call_window,
            version: String::new(),
        };
        // The version hashes the effective content: comments, layout and key order do
        // not change it, any value does.
        let digest = Sha256::digest(model.canonical().as_bytes());
        let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        model.version = format!("{}@{hex}", model.name);
        Ok(model)
    }

    /// Returns the model's effective content as canonical TOML: the text its version
    /// hashes, with the factors in the order of [`codes::POINT_CODES`].
    pub fn canonical(&self) -> String {
        let mut text = format!(
            "name = \"{}\"\nbase = {}\nthreshold = {}\n\n[points]\n",
            self.name, self.base, self.threshold
        );
        for code in codes::POINT_CODES {
            // Writing to a String cannot fail.
            let _ = writeln!(text, "\"{code}\" = {}", self.points(code).unwrap_or(0));
        }
        // Only when set otherwise: the default hours leave the version as it was.
        if self.call_window != BusinessHours::default() {
            let hours = toml::to_string(&self.call_window).unwrap_or_default();
            let _ = write!(text, "\n[call_window]\n{hours}");
        }
        text
    }

    /// Returns the business hours of the call window, in the lead's local time.
    pub fn call_window(&self) -> &BusinessHours {
        &self.call_window
    }

    /// Returns `name@hash`: the model's name and 8 hex digits of the SHA-256 of its
    /// effective content ([`Model::canonical`]).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Returns the model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the score a lead starts from.
    pub fn base(&self) -> u32 {
        self.base.unsigned_abs()
    }

    /// Returns the lowest HIGH score.
    pub fn threshold(&self) -> u32 {
        self.threshold.unsigned_abs()
    }

    /// Returns the points of a factor code, `None` for a code the model does not know.
    pub fn points(&self, code: &str) -> Option<i32> {
        self.points.get(code).copied()
    }

    /// Scores a lead as of `now`; pure, so tests and "as of" runs set the clock.
    pub fn score(&self, s: &Signals<'_>, now: SystemTime) -> Score {
        // Room for every factor a lead can get, so pushing never reallocates.
        let mut factors = Vec::with_capacity(12);
        let mut add = |code: &'static str, detail: Cow<'static, str>| {
            factors.push(Factor {
                code,
                // Every code is present: `parse` refuses a model that lacks one.
                points: self.points(code).unwrap_or(0),
                detail,
            });
        };

        // Intent, from the LeadSource action.
        match s.action {
            Action::Install => add(
                codes::ACTION_ACTIVE,
                "active interest: installed (INS)".into(),
            ),
            Action::Create => add(
                codes::ACTION_ACTIVE,
                "active interest: bought in the Azure portal (Create)".into(),
            ),
            Action::StartTestDrive => add(
                codes::ACTION_ACTIVE,
                "active interest: started a test drive (StartTestDrive)".into(),
            ),
            Action::PartnerLedTrial => add(
                codes::ACTION_INITIAL,
                "initial interest: asked to be contacted (PLT)".into(),
            ),
            Action::DoNotContact => add(
                codes::ACTION_DO_NOT_CONTACT,
                "do not contact (DNC): a cross-listing notice".into(),
            ),
            Action::Unspecified => add(codes::ACTION_UNKNOWN, "no usable action".into()),
        }
        if s.source_malformed {
            add(codes::SOURCE_UNPARSED, "the LeadSource is malformed".into());
        }

        // Can we write to them?
        match s.email {
            EmailClass::Valid => add(codes::EMAIL_VALID, "the email is VALID".into()),
            EmailClass::Invalid => add(codes::EMAIL_INVALID, "the email is INVALID".into()),
            EmailClass::Spam if s.disposable => add(
                codes::EMAIL_SPAM,
                "the email is SPAM: a disposable-mail domain".into(),
            ),
            EmailClass::Spam => add(
                codes::EMAIL_SPAM,
                "the email is SPAM: a domain known for spam".into(),
            ),
            EmailClass::Unknown => add(
                codes::EMAIL_UNKNOWN,
                "the email could not be checked (UNKNOWN)".into(),
            ),
            EmailClass::Missing => add(codes::EMAIL_MISSING, "the lead has no email".into()),
        }
        // The kind of address matters only for one that may reach someone.
        if matches!(s.email, EmailClass::Valid | EmailClass::Unknown) {
            if s.free_provider {
                add(
                    codes::EMAIL_FREE_PROVIDER,
                    "the email is at a free mail provider".into(),
                );
            } else {
                add(
                    codes::EMAIL_CORPORATE,
                    "the email is at a corporate domain".into(),
                );
            }
            if s.role_account {
                add(
                    codes::EMAIL_ROLE_ACCOUNT,
                    "the email is a role account, not a person's".into(),
                );
            }
        }

        // Can we call them?
        match s.phone {
            PhoneClass::Valid if s.phone_toll_free_or_premium => add(
                codes::PHONE_SERVICE_NUMBER,
                "the phone is a toll-free, premium-rate or shared-cost number".into(),
            ),
            PhoneClass::Valid if s.phone_mobile => add(
                codes::PHONE_VALID_MOBILE,
                "the phone is VALID and mobile".into(),
            ),
            PhoneClass::Valid => add(codes::PHONE_VALID, "the phone is VALID".into()),
            PhoneClass::Invalid => add(codes::PHONE_INVALID, "the phone is INVALID".into()),
            PhoneClass::Unknown => add(
                codes::PHONE_UNKNOWN,
                "the phone could not be checked (UNKNOWN)".into(),
            ),
            PhoneClass::Missing => add(codes::PHONE_MISSING, "the lead has no phone".into()),
        }

        // Who are they?
        if !s.company.trim().is_empty() {
            add(codes::COMPLETE_COMPANY, "the lead names its company".into());
        }
        if !s.title.trim().is_empty() {
            add(codes::COMPLETE_TITLE, "the lead gives a job title".into());
        }
        match seniority(s.title) {
            Some((Seniority::Executive, word)) => add(
                codes::TITLE_EXECUTIVE,
                quoted_detail(
                    "an executive title (",
                    &word,
                    "): C-level, president, owner, founder",
                )
                .into(),
            ),
            Some((Seniority::Senior, word)) => add(
                codes::TITLE_SENIOR,
                quoted_detail("a senior title (", &word, "): VP, director, head").into(),
            ),
            None => {}
        }
        let fake = fake_name(s.first_name)
            .map(|why| ("first", why))
            .or_else(|| fake_name(s.last_name).map(|why| ("last", why)));
        if let Some((which, why)) = fake {
            add(
                codes::NAME_FAKE,
                format!("the {which} name looks made up: {why}").into(),
            );
        }

        // When did they ask?
        let (code, detail) = recency(s.created_at, now);
        add(code, detail);

        let total = self.base + factors.iter().map(|f| f.points).sum::<i32>();
        let rule = if s.action == Action::DoNotContact {
            Some((
                codes::RULE_DO_NOT_CONTACT,
                "hard rule: do not contact (DNC) is always LOW",
            ))
        } else if s.email == EmailClass::Spam {
            Some((
                codes::RULE_SPAM_EMAIL,
                "hard rule: a SPAM email is always LOW",
            ))
        } else {
            None
        };
        let total = match rule {
            Some((code, detail)) => {
                // The rule takes away what lifts the score to the threshold or above, so
                // the listed points still add up to the score.
                let cap = self.threshold - 1;
                let points = (cap - total).min(0);
                factors.push(Factor {
                    code,
                    points,
                    detail: detail.into(),
                });
                total + points
            }
            None => total,
        };
        let score = total.clamp(0, 100);
        let quality = if rule.is_none() && score >= self.threshold {
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

/// Returns the line (from 1) of a byte offset in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.bytes().take(offset).filter(|b| *b == b'\n').count() + 1
}

const HOUR: Duration = Duration::from_secs(3600);

/// The seeds' follow-up advice: "follow up within 24 hours".
const FOLLOW_UP: Duration = Duration::from_secs(24 * 3600);
/// The seeds' "hot" window: the flame icon changes after 72 hours.
const HOT: Duration = Duration::from_secs(72 * 3600);
/// The seeds' response window: a lead not answered within 14 days expires.
const RESPONSE_WINDOW: Duration = Duration::from_secs(14 * 24 * 3600);
/// How far ahead of our clock a creation time may be and still count as "just now":
/// the largest time-zone offset (UTC+14), the error a local time stored as UTC makes.
const SKEW: Duration = Duration::from_secs(14 * 3600);

/// Places the lead's age in the seeds' windows.
fn recency(created_at: Option<SystemTime>, now: SystemTime) -> (&'static str, Cow<'static, str>) {
    let Some(created) = created_at else {
        return (
            codes::RECENCY_UNKNOWN,
            "no creation time: recency unknown".into(),
        );
    };
    let age = match now.duration_since(created) {
        Ok(age) => age,
        Err(ahead) if ahead.duration() <= SKEW => {
            return (
                codes::RECENCY_24H,
                format!(
                    "created {} ahead of our clock (time zone or clock skew): counted as just now",
                    span(ahead.duration())
                )
                .into(),
            )
        }
        Err(ahead) => {
            return (
                codes::RECENCY_FUTURE,
                format!(
                    "created {} in the future: the creation time is wrong",
                    span(ahead.duration())
                )
                .into(),
            )
        }
    };
    let (code, window) = if age < FOLLOW_UP {
        (codes::RECENCY_24H, "inside the 24-hour follow-up window")
    } else if age < HOT {
        (codes::RECENCY_72H, "inside the 72-hour hot window")
    } else if age < RESPONSE_WINDOW {
        (codes::RECENCY_14D, "inside the 14-day response window")
    } else {
        (
            codes::RECENCY_EXPIRED,
            "past the 14-day response window: it would have expired",
        )
    };
    (code, format!("created {} ago, {window}", span(age)).into())
}

/// Writes a duration as whole minutes, hours or days.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    if d < HOUR {
        format!("{} min", secs / 60)
    } else if d < 2 * FOLLOW_UP {
        format!("{} h", secs / 3600)
    } else {
        format!("{} days", secs / 86_400)
    }
}

/// How senior a job title is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seniority {
    /// Decides: C-level, president, owner, partner, founder.
    Executive,
    /// Influences: VP, director, head, chief of a function.
    Senior,
}

/// C-level abbreviations.
const C_LEVEL: &[&str] = &[
    "ceo", "cto", "cfo", "coo", "cio", "cmo", "cso", "cro", "cpo", "cdo", "cco", "cao", "chro",
    "ciso", "cxo",
];

/// Owners, presidents and founders, in English, Spanish and Portuguese.
const HEAD_OF_BUSINESS: &[&str] = &[
    "president",
    "presidente",
    "presidenta",
    "chairman",
    "chairwoman",
    "chairperson",
    "owner",
    "proprietor",
    "founder",
    "cofounder",
    "fundador",
    "fundadora",
    "cofundador",
    "cofundadora",
    "dueño",
    "dueña",
    "propietario",
    "propietaria",
    "proprietário",
    "proprietária",
    "sócio",
    "sócia",
    "socio",
    "socia",
];

/// Two-word executive titles.
const EXECUTIVE_PAIRS: &[(&str, &str)] = &[
    ("managing", "director"),
    ("managing", "partner"),
    ("executive", "director"),
    ("general", "manager"),
    ("director", "general"),
    ("directora", "general"),
    ("director", "ejecutivo"),
    ("directora", "ejecutiva"),
    ("gerente", "general"),
    ("diretor", "geral"),
    ("diretora", "geral"),
    ("diretor", "executivo"),
    ("diretora", "executiva"),
    ("diretor", "presidente"),
    ("diretora", "presidente"),
    ("gerente", "geral"),
];

/// Senior titles in English, Spanish and Portuguese.
const SENIOR: &[&str] = &[
    "vp",
    "svp",
    "evp",
    "avp",
    "vice",
    "vicepresident",
    "vicepresidente",
    "vicepresidenta",
    "director",
    "directora",
    "diretor",
    "diretora",
    "head",
    "jefe",
    "jefa",
    "chefe",
];

/// Russian word stems: Russian inflects (`директор`, `директора`, `директором`), so its
/// titles are matched by the start of the word.
const RU_EXECUTIVE_STEMS: &[&str] = &[
    "президент",
    "владел",
    "основател",
    "сооснов",
    "учредител",
    "собственник",
];
const RU_SENIOR_STEMS: &[&str] = &[
    "директор",
    "руководител",
    "начальник",
    "заведующ",
    "глав",
    "вице",
];

/// Words that, before a rank, make it a deputy's: "Vice President", "Deputy CEO",
/// "Заместитель генерального директора".
const DEPUTY: &[&str] = &["vice", "deputy", "вице", "заместитель", "зам"];

/// Roles that own a product or process, not the business: "Product Owner".
const NOT_BUSINESS_OWNER: &[&str] = &[
    "product",
    "process",
    "service",
    "data",
    "system",
    "systems",
    "application",
    "technical",
    "budget",
    "content",
    "platform",
    "feature",
    "risk",
    "control",
];

/// Assistants to a rank do not hold it: "Executive Assistant to the CEO".
const ASSISTANT: &[&str] = &[
    "assistant",
    "asistente",
    "assistente",
    "secretary",
    "secretaria",
    "secretária",
    "помощник",
    "ассистент",
    "секретарь",
];

/// A factor's detail: `before`, the title's words in their `Debug` form, `after`.
fn quoted_detail(before: &str, words: &str, after: &str) -> String {
    let mut detail = String::with_capacity(before.len() + words.len() + 2 + after.len());
    detail.push_str(before);
    push_debug(&mut detail, words);
    detail.push_str(after);
    detail
}

/// Splits text into its words: "co-founder & cto" is `co founder cto`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Ranks a job title by whole words (never inside one: "Directory Admin" is no director),
/// and returns the words that decided.
fn seniority(title: &str) -> Option<(Seniority, String)> {
    // Each word lower-cased on its own (Unicode lower-casing depends on word ends); an
    // ASCII title, the common case, lower-cased whole: the same words, fewer allocations.
    let lower;
    let owned: Vec<String>;
    let words: Vec<&str> = if title.is_ascii() {
        lower = title.to_ascii_lowercase();
        words(&lower).collect()
    } else {
        owned = words(title).map(str::to_lowercase).collect();
        owned.iter().map(String::as_str).collect()
    };
    if words.iter().any(|w| ASSISTANT.contains(w)) {
        return None;
    }
    let mut senior = None;
    for i in 0..words.len() {
        match rank_at(&words, i) {
            Some((Seniority::Executive, shown)) => return Some((Seniority::Executive, shown)),
            Some((Seniority::Senior, shown)) => {
                senior.get_or_insert(shown);
            }
            None => {}
        }
    }
    senior.map(|shown| (Seniority::Senior, shown))
}

/// Ranks the title word at `i` in its context, with the words that show the rank.
fn rank_at(words: &[&str], i: usize) -> Option<(Seniority, String)> {
    let w = *words.get(i)?;
    let prev = i.checked_sub(1).and_then(|j| words.get(j)).copied();
    let next = words.get(i + 1).copied().unwrap_or("");
    let pair = EXECUTIVE_PAIRS.contains(&(w, next))
        || (w.starts_with("генеральн") || w.starts_with("исполнительн"))
            && next.starts_with("директор");
    let rank = if C_LEVEL.contains(&w) {
        Seniority::Executive
    } else if w == "chief" {
        // "Chief Executive Officer" is C-level; "Chief Architect" runs a function.
        match words.get(i + 1..) {
            Some(rest) if rest.contains(&"officer") => Seniority::Executive,
            _ => Seniority::Senior,
        }
    } else if HEAD_OF_BUSINESS.contains(&w) {
        if w == "owner" && prev.is_some_and(|p| NOT_BUSINESS_OWNER.contains(&p)) {
            return None;
        }
        Seniority::Executive
    } else if pair || RU_EXECUTIVE_STEMS.iter().any(|s| w.starts_with(s)) {
        Seniority::Executive
    } else if SENIOR.contains(&w)
        || RU_SENIOR_STEMS.iter().any(|s| w.starts_with(s)) && !w.starts_with("директори")
    {
        Seniority::Senior
    } else {
        return None;
    };
    // A deputy's rank is senior, whatever it deputises for.
    let rank = match prev {
        Some(p) if DEPUTY.contains(&p) => Seniority::Senior,
        _ => rank,
    };
    // Only letters are shown: the detail never carries digits from the input.
    let shown: String = if pair {
        format!("{w} {next}")
    } else {
        w.to_string()
    }
    .chars()
    .filter(|c| c.is_alphabetic() || *c == ' ')
    .collect();
    Some((rank, shown))
}

/// Words people type when they do not want to give a name, in the seeds' languages;
/// sorted (bytewise), to read.
const PLACEHOLDER_NAMES: &[&str] = &[
    "abc",
    "anon",
    "anonymous",
    "apellido",
    "asdf",
    "blah",
    "dummy",
    "example",
    "fake",
    "firstname",
    "foobar",
    "lastname",
    "name",
    "nil",
    "nobody",
    "nombre",
    "nome",
    "noname",
    "none",
    "null",
    "prueba",
    "qwerty",
    "sobrenome",
    "test",
    "teste",
    "testing",
    "unknown",
    "xxx",
    "xyz",
    "аноним",
    "имя",
    "неизвестно",
    "нет",
    "тест",
    "фамилия",
];

/// Keyboard runs on the QWERTY rows and the Russian ЙЦУКЕН layout; none occurs inside a
/// real name.
const KEYBOARD_RUNS: &[&str] = &[
    "asdf", "sdfg", "qwer", "zxcv", "xcvb", "hjkl", "uiop", "abcd", "йцук", "цуке", "фыва", "ячсм",
];

/// [`KEYBOARD_RUNS`], searched for all at once: one substring search per run was most of
/// the scoring of a lead's names (perf, the load benchmark's warm stream).
fn keyboard_runs() -> &'static AhoCorasick {
    static RUNS: OnceLock<AhoCorasick> = OnceLock::new();
    RUNS.get_or_init(|| {
        // Constant patterns: a test builds the searcher, so this cannot fail at run time.
        AhoCorasick::new(KEYBOARD_RUNS).unwrap_or_else(|e| panic!("keyboard runs: {e}"))
    })
}

/// Tells why a name looks made up, or `None` when it may be real.
///
/// Real short names pass: Li, Ng, Bo, Al, Oo (Burmese), Na (Li Na). A missing name is
/// not a fake one.
fn fake_name(name: &str) -> Option<&'static str> {
    let name = name.trim();
    // Most names are short and ASCII: lower-cased on the stack, not in a new String.
    let mut ascii = [0u8; 32];
    let lower: Cow<str> = match ascii.get_mut(..name.len()) {
        Some(buf) if name.is_ascii() => {
            buf.copy_from_slice(name.as_bytes());
            buf.make_ascii_lowercase();
            // ASCII in, ASCII out: always UTF-8.
            Cow::Borrowed(std::str::from_utf8(buf).unwrap_or_default())
        }
        _ => Cow::Owned(name.to_lowercase()),
    };
    let lower = lower.as_ref();
    if lower.is_empty() {
        return None;
    }
    // "N/A" is a placeholder; "Na" is a name.
    if matches!(lower, "n/a" | "n.a." | "n/d" | "s/n" | "s/d") {
        return Some("a placeholder");
    }
    // Most names are one word of letters: then the letters are the name, and its only word.
    let one_word = lower.chars().all(char::is_alphanumeric);
    let letters: Cow<str> = if one_word {
        Cow::Borrowed(lower)
    } else {
        lower.chars().filter(|c| c.is_alphanumeric()).collect()
    };
    if letters.is_empty() {
        return Some("no letters");
    }
    if is_placeholder(&letters) || (!one_word && words(lower).any(is_placeholder)) {
        return Some("a placeholder word");
    }
    if letters.chars().any(char::is_numeric) {
        return Some("digits");
    }
    let mut chars = letters.chars();
    let first = chars.next();
    if letters.chars().count() >= 3 && chars.all(|c| Some(c) == first) {
        return Some("one letter repeated");
    }
    if keyboard_runs().is_match(letters.as_ref()) {
        return Some("a keyboard run");
    }
    None
}

/// Whether `word` (lower-case) is one of [`PLACEHOLDER_NAMES`]: a hash set, since a binary
/// search's string comparisons were a third of the scoring of a lead's names (callgrind).
fn is_placeholder(word: &str) -> bool {
    static SET: OnceLock<HashSet<&str, foldhash::fast::FixedState>> = OnceLock::new();
    SET.get_or_init(|| PLACEHOLDER_NAMES.iter().copied().collect())
        .contains(word)
}

/// Tells whether a name is obviously made up: a placeholder (test, asdf, n/a), a
/// keyboard run, one letter repeated, digits, or no letters at all.
pub fn looks_fake(name: &str) -> bool {
    fake_name(name).is_some()
}

#[cfg(test)]
#[path = "score_tests.rs"]
mod tests;
