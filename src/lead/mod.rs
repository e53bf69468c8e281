//! Lead assessment: parse the LeadSource, validate both contacts, score, and key for dedup.

pub mod codes;
pub mod dedup;
pub mod kind;
pub mod score;
pub mod source;

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use crate::{email, phone};
use kind::{CallToAction, LeadType};
use score::{EmailClass, Model, PhoneClass, Score, Signals};
use source::LeadSource;

/// One lead as an export or a CRM holds it; every field may be empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lead {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address.
    pub email: String,
    /// Phone number.
    pub phone: String,
    /// Country: ISO 3166-1 alpha-2 or alpha-3 code or English name.
    pub country: String,
    /// Company.
    pub company: String,
    /// Job title.
    pub title: String,
    /// The LeadSource string.
    pub lead_source: String,
    /// When the lead was created.
    pub created_at: Option<SystemTime>,
    /// The lead type; unspecified is inferred from the LeadSource action.
    pub lead_type: LeadType,
    /// The call to action as given, in any of the seeds' languages; empty or unknown is
    /// inferred from the LeadSource action.
    pub call_to_action: String,
}

/// The assessment of one lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The verdict on the email.
    pub email: email::Verdict,
    /// The verdict on the phone, shared with the phone cache.
    pub phone: Arc<phone::Verdict>,
    /// The parsed LeadSource, shared with the other leads of the same string.
    pub source: Arc<LeadSource>,
    /// Quality, score and the factors behind them.
    pub score: Score,
    /// The scoring model's name and content hash.
    pub model_version: String,
    /// The key that identifies the person across leads.
    pub dedup_key: String,
    /// The moment the lead was assessed at: recency is measured from it.
    pub assessed_at: SystemTime,
    /// The lead's local time at its phone and whether it is business hours there; None
    /// when the phone is not valid or has no known time zone.
    pub call_window: Option<phone::window::CallWindow>,
}

/// Tells the time the recency factors are measured against; tests and "as of" runs set it.
pub trait Clock: Send + Sync {
    /// Returns the current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock stopped at one instant.
pub struct FixedClock(pub SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// Assesses leads: one per process, shared by every request.
pub struct Assessor {
    email: Arc<email::Validator>,
    phone: Arc<phone::Engine>,
    model: Arc<Model>,
    clock: Arc<dyn Clock>,
    sources: source::Memo,
}

impl Assessor {
    /// Makes an assessor from the engines, the scoring model and a clock.
    pub fn new(
        email: Arc<email::Validator>,
        phone: Arc<phone::Engine>,
        model: Arc<Model>,
        clock: Arc<dyn Clock>,
    ) -> Assessor {
        Assessor {
            email,
            phone,
            model,
            clock,
            sources: source::Memo::new(),
        }
    }

    /// Returns the email validator.
    pub fn email(&self) -> &email::Validator {
        &self.email
    }

    /// Returns the phone engine.
    pub fn phone(&self) -> &phone::Engine {
        &self.phone
    }

    /// Returns the scoring model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Returns the assessor clock's current time: the moment a request without `as_of`
    /// is assessed at.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Assesses a lead at the clock's current time.
    pub async fn assess(&self, lead: &Lead) -> Assessment {
        self.assess_at(lead, self.now()).await
    }

    /// Validates both contacts of a lead, parses its source, scores it as of `at` and
    /// keys it. The score depends on `at` and on the lead alone, never on the clock, so
    /// the same lead at the same moment scores the same on any server, on any day; any
    /// other time-dependent verdict should be computed at `at` too.
    pub async fn assess_at(&self, lead: &Lead, at: SystemTime) -> Assessment {
        let source = self.sources.parse(&lead.lead_source);
        let language = phone::geo::Language::of_country(&lead.country);
        let phone = self.phone.validate_in(&lead.phone, &lead.country, language);
        let email = self.email.validate(&lead.email).await;
        // The lead's country as its phone engine reads it, for the consistency checks.
        let region = phone::region::from_country(&lead.country).map(|r| r.as_region_str());
        let country = region.as_deref().unwrap_or("");
        let signals = signals(lead, &source, &email, &phone, country);
        let score = self.model.score(&signals, at);
        let call_window = call_window(&phone, at, &self.model);
        let dedup_key = dedup::key(
            email.canonical.as_deref(),
            (!phone.e164.is_empty() && phone.validity != phone::Validity::Unknown)
                .then_some(phone.e164.as_str()),
            &lead.first_name,
            &lead.last_name,
            &lead.company,
        );
        Assessment {
            email,
            phone,
            source,
            score,
            model_version: self.model.version().to_string(),
            dedup_key,
            assessed_at: at,
            call_window,
        }
    }
}

/// The lead's call window at `at` (the assessment's moment: now, or the request's
/// `as_of`), by the model's business hours; only for a valid phone.
pub fn call_window(
    phone: &phone::Verdict,
    at: SystemTime,
    model: &Model,
) -> Option<phone::window::CallWindow> {
    if phone.validity != phone::Validity::Valid {
        return None;
    }
    phone::window::call_window(phone.time_zones, at, model.call_window())
}

/// Reduces the verdicts to the facts the scoring model reads.
fn signals<'a>(
    lead: &'a Lead,
    source: &LeadSource,
    email: &'a email::Verdict,
    phone: &'a phone::Verdict,
    country: &'a str,
) -> Signals<'a> {
    // A number written without its country code takes the lead's: its region then says
    // nothing of the lead.
    let phone_text = lead.phone.trim_start();
    let international = phone_text.starts_with('+') || phone_text.starts_with("00");
    let email_local = email
        .normalized
        .rsplit_once('@')
        .map_or("", |(local, _)| local);
    let email_class = if lead.email.trim().is_empty() {
        EmailClass::Missing
    } else {
        match email.validity {
            email::Validity::Valid => EmailClass::Valid,
            email::Validity::Invalid => EmailClass::Invalid,
            email::Validity::Spam => EmailClass::Spam,
            email::Validity::Unknown => EmailClass::Unknown,
        }
    };
    let phone_class = if lead.phone.trim().is_empty() {
        PhoneClass::Missing
    } else {
        match phone.validity {
            phone::Validity::Valid => PhoneClass::Valid,
            phone::Validity::Invalid => PhoneClass::Invalid,
            phone::Validity::Unknown => PhoneClass::Unknown,
        }
    };
    use phone::NumberType as T;
    Signals {
        action: source.action,
        source_malformed: source
            .reasons
            .iter()
            .any(|r| r.code == codes::SOURCE_MALFORMED),
        email: email_class,
        free_provider: email.free_provider,
        role_account: email.role_account,
        disposable: email.disposable,
        phone: phone_class,
        phone_mobile: matches!(phone.number_type, Some(T::Mobile | T::FixedLineOrMobile)),
        phone_toll_free_or_premium: matches!(
            phone.number_type,
            Some(T::TollFree | T::PremiumRate | T::SharedCost)
        ),
        first_name: &lead.first_name,
        last_name: &lead.last_name,
        company: &lead.company,
        title: &lead.title,
        created_at: lead.created_at,
        lead_type: lead.lead_type,
        call_to_action: CallToAction::parse(&lead.call_to_action),
        country,
        phone_region: if international { &phone.region } else { "" },
        email_domain: &email.domain,
        email_local,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Lead, SystemClock};

    /// Every lead of a stream is spawned as a task, whose future is copied into place:
    /// the DNS lookup and the SMTP probe, rarely run, are boxed so that the common path
    /// stays small. Inline they made it 7.5 KiB.
    #[tokio::test]
    async fn a_leads_future_stays_small() {
        let config = crate::config::Config::default();
        let engines = crate::server::build_engines(&config, Arc::new(SystemClock))
            .unwrap_or_else(|e| panic!("engines: {e}"));
        let lead = Lead::default();
        let future = engines.assessor.assess(&lead);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 2048, "the assessment's future is {size} bytes");
    }
}
