//! The model file, its parsing and version, and the scoring of one lead's signals.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;
use std::time::SystemTime;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::names::fake_name;
use super::recency::recency;
use super::titles::{quoted_detail, seniority, Seniority};
use super::{EmailClass, Factor, Grade, PhoneClass, Quality, Score, Signals};
use crate::lead::codes;
use crate::lead::kind::Kind;
use crate::lead::source::Action;
use crate::phone::window::BusinessHours;

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
    grades: Spanned<GradesFile>,
    /// Business hours for the call window; 09:00-18:00 on weekdays when left out.
    #[serde(default)]
    call_window: Option<Spanned<BusinessHours>>,
}

/// The `[grades]` table as written: the lowest score of each band above D.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GradesFile {
    #[serde(rename = "A")]
    a: Spanned<i64>,
    #[serde(rename = "B")]
    b: Spanned<i64>,
    #[serde(rename = "C")]
    c: Spanned<i64>,
}

/// A scoring model: a base, a threshold, points per factor code, and its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    name: String,
    base: i32,
    threshold: i32,
    /// Looked up for every factor of every lead: hashed, since a B-tree's string compares
    /// cost more than the hash on keys this short.
    points: HashMap<&'static str, i32, foldhash::fast::FixedState>,
    /// The lowest score of grades A, B and C; under C is D.
    grades: [i32; 3],
    call_window: BusinessHours,
    version: String,
}

/// The bundled default model.
pub(super) const BUNDLED: &str = include_str!("../../../data/scoring.toml");

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

        let g = file.grades.get_ref();
        let grades = [
            percent(&g.a, "grades.A", 1)?,
            percent(&g.b, "grades.B", 1)?,
            percent(&g.c, "grades.C", 1)?,
        ];
        if !(grades[0] > grades[1] && grades[1] > grades[2]) {
            return Err(invalid(
                Some(file.grades.span()),
                format!(
                    "`[grades]` must fall from A to C; A = {}, B = {}, C = {}",
                    grades[0], grades[1], grades[2]
                ),
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
            grades,
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
        let [a, b, c] = self.grades;
        let _ = write!(text, "\n[grades]\nA = {a}\nB = {b}\nC = {c}\n");
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

    /// Returns the grade of a score: its band in the model's `[grades]`.
    pub fn grade(&self, score: u32) -> Grade {
        let [a, b, c] = self.grades.map(i32::unsigned_abs);
        match score {
            s if s >= a => Grade::A,
            s if s >= b => Grade::B,
            s if s >= c => Grade::C,
            _ => Grade::D,
        }
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

        // Do the fields agree with one another?
        super::consistency::check(s, &mut add);

        // When did they ask? Measured in the windows of the lead's lifecycle.
        let kind = Kind::infer(s.lead_type, s.call_to_action, s.action);
        let (recency_code, detail) = recency(s.created_at, now, kind.lifecycle());
        add(recency_code, detail);

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
        } else if recency_code == codes::RECENCY_ARCHIVED {
            Some((
                codes::RULE_ARCHIVED,
                "hard rule: an archived lead is always LOW; nothing can be done with it",
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
            grade: self.grade(score.unsigned_abs()),
            factors,
        }
    }
}

/// Returns the line (from 1) of a byte offset in `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.bytes().take(offset).filter(|b| *b == b'\n').count() + 1
}
