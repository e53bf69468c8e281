//! The scoring model: a base, points per signal, a threshold, and three hard rules.
//!
//! Transparent by construction: the score is the model's `base` plus the points of every
//! factor listed in the result, clamped to 0..=100, so anyone can recompute it from the
//! factors alone. `quality` is HIGH at or above the threshold. The hard rules (do not
//! contact, a SPAM email, an archived lead) are factors too: theirs are the points that bring the score
//! under the threshold, so the score and the tier never contradict each other.
//!
//! The model is data: `data/scoring.toml` is compiled in, and `--scoring FILE` replaces
//! it. Its version is its name and a hash of its effective content, so a stored score can
//! be traced to the exact points that produced it.

mod consistency;
mod model;
mod names;
mod recency;
mod titles;

use std::borrow::Cow;
use std::time::SystemTime;

use serde::Serialize;

use super::kind::{CallToAction, LeadType};
use super::source::Action;

pub use model::{Model, ModelError};
pub use names::looks_fake;

#[cfg(test)]
use {
    super::codes,
    model::BUNDLED,
    names::{fake_name, KEYBOARD_RUNS, PLACEHOLDER_NAMES},
    std::time::Duration,
    titles::{seniority, Seniority},
};

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
    /// The lead type, as given (the model infers a missing one from the action).
    pub lead_type: LeadType,
    /// The call to action, as given (the model infers a missing one from the action).
    pub call_to_action: Option<CallToAction>,
    /// The lead's country as an ISO 3166-1 alpha-2 code (`GB`); empty when unknown.
    pub country: &'a str,
    /// The phone's region (`GB`) when the number was written in international form, so
    /// that its region is its own and not taken from the lead's country; else empty.
    pub phone_region: &'a str,
    /// The email's domain, lower-case.
    pub email_domain: &'a str,
    /// The email's local part, before the `@`.
    pub email_local: &'a str,
}

/// A lead with nothing known: no action, no contacts, no names, no date.
impl Default for Signals<'_> {
    fn default() -> Self {
        Signals {
            action: Action::Unspecified,
            source_malformed: false,
            email: EmailClass::Missing,
            free_provider: false,
            role_account: false,
            disposable: false,
            phone: PhoneClass::Missing,
            phone_mobile: false,
            phone_toll_free_or_premium: false,
            first_name: "",
            last_name: "",
            company: "",
            title: "",
            created_at: None,
            lead_type: LeadType::Unspecified,
            call_to_action: None,
            country: "",
            phone_region: "",
            email_domain: "",
            email_local: "",
        }
    }
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

/// A band of the score, as the model file's `[grades]` draw them: A is the best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Grade {
    /// At or above the `A` band's lowest score.
    A,
    /// At or above `B`.
    B,
    /// At or above `C`.
    C,
    /// Under `C`.
    D,
}

impl Grade {
    /// The grade's letter.
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }
}

/// How many factors [`Score::top_reasons`] gives.
pub const TOP_REASONS: usize = 3;

/// A lead's score and the factors that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// HIGH or LOW.
    pub quality: Quality,
    /// `base` plus the points of every factor, clamped to 0..=100.
    pub score: u32,
    /// The score's band.
    pub grade: Grade,
    /// The factors, in the order applied; hard rules come last.
    pub factors: Vec<Factor>,
}

impl Score {
    /// The factors that moved the score most, up to [`TOP_REASONS`], largest move first
    /// whatever its sign; on a tie, the one applied first. Factors of no points moved
    /// nothing and are never among them.
    pub fn top_reasons(&self) -> impl Iterator<Item = &Factor> {
        let mut top: [Option<&Factor>; TOP_REASONS] = [None; TOP_REASONS];
        for factor in self.factors.iter().filter(|f| f.points != 0) {
            let moved = factor.points.unsigned_abs();
            // Insert by move, after the earlier factors of the same move.
            let at = top
                .iter()
                .position(|t| t.is_none_or(|t| t.points.unsigned_abs() < moved));
            if let Some(at) = at {
                top[at..].rotate_right(1);
                top[at] = Some(factor);
            }
        }
        top.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests;
