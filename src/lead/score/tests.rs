//! Tests of the scoring model.

use super::*;
use proptest::prelude::*;
use std::time::UNIX_EPOCH;

/// The fixed clock of these tests.
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn ago(secs: u64) -> Option<SystemTime> {
    Some(now() - Duration::from_secs(secs))
}

/// A strong lead: test drive, valid corporate email, valid mobile, a director, no date.
fn strong() -> Signals<'static> {
    Signals {
        action: Action::StartTestDrive,
        source_malformed: false,
        email: EmailClass::Valid,
        free_provider: false,
        role_account: false,
        disposable: false,
        phone: PhoneClass::Valid,
        phone_mobile: true,
        phone_toll_free_or_premium: false,
        first_name: "Ana",
        last_name: "García",
        company: "Contoso",
        title: "Director of IT",
        created_at: None,
        ..Signals::default()
    }
}

/// A middling lead (53 points with the bundled model), far enough from 0 and 100 that
/// no clamp hides a factor: "Contact me", unchecked corporate email and phone, a plain
/// title.
fn middling() -> Signals<'static> {
    Signals {
        action: Action::PartnerLedTrial,
        email: EmailClass::Unknown,
        phone: PhoneClass::Unknown,
        title: "Engineer",
        ..strong()
    }
}

fn codes_of(score: &Score) -> Vec<&'static str> {
    score.factors.iter().map(|f| f.code).collect()
}

fn pts(m: &Model, code: &str) -> i32 {
    m.points(code)
        .unwrap_or_else(|| panic!("the model lacks {code}"))
}

/// The model text with one line replaced; panics if the line is not there, so a test
/// cannot silently edit nothing.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the model has no {from:?}");
    text.replacen(from, to, 1)
}

/// Asserts the score is the base plus every listed factor, clamped.
#[track_caller]
fn assert_adds_up(m: &Model, s: &Score) {
    let total = m.base() as i32 + s.factors.iter().map(|f| f.points).sum::<i32>();
    assert_eq!(s.score, total.clamp(0, 100).unsigned_abs(), "{s:?}");
}

#[test]
fn the_bundled_model_loads_and_knows_every_factor() {
    let m = Model::bundled();
    assert_eq!(m.name(), "leadcheck-default");
    assert_eq!((m.base(), m.threshold()), (20, 60));
    for code in codes::POINT_CODES {
        assert!(m.points(code).is_some(), "{code}");
    }
    assert_eq!(
        m.points(codes::RULE_SPAM_EMAIL),
        None,
        "rules have no configured points"
    );
    // The canonical text is itself a model with the same version.
    let again = Model::from_toml(&m.canonical()).unwrap();
    assert_eq!(again, m);
}

#[test]
fn title_factors_quote_the_words_that_decided() {
    let m = Model::bundled();
    let detail = |title: &'static str| {
        let s = m.score(&Signals { title, ..strong() }, now());
        s.factors
            .iter()
            .find(|f| matches!(f.code, codes::TITLE_EXECUTIVE | codes::TITLE_SENIOR))
            .map(|f| f.detail.clone())
    };
    assert_eq!(
        detail("Managing Director").as_deref(),
        Some("an executive title (\"managing director\"): C-level, president, owner, founder")
    );
    assert_eq!(
        detail("Director of IT").as_deref(),
        Some("a senior title (\"director\"): VP, director, head")
    );
    assert_eq!(
        detail("Генеральный директор").as_deref(),
        Some("an executive title (\"генеральный директор\"): C-level, president, owner, founder")
    );
    assert_eq!(detail("Engineer"), None);
}

#[test]
fn the_score_is_base_plus_the_listed_factors() {
    let m = Model::bundled();
    let s = m.score(&strong(), now());
    assert_adds_up(&m, &s);
    assert_eq!(s.quality, Quality::High);
    assert_eq!(
        codes_of(&s),
        [
            codes::ACTION_ACTIVE,
            codes::EMAIL_VALID,
            codes::EMAIL_CORPORATE,
            codes::PHONE_VALID_MOBILE,
            codes::COMPLETE_COMPANY,
            codes::COMPLETE_TITLE,
            codes::TITLE_SENIOR,
            codes::RECENCY_UNKNOWN,
        ]
    );
    // 20 + 30 + 15 + 10 + 10 + 5 + 3 + 6 + 0
    assert_eq!(s.score, 99);
    for f in &s.factors {
        assert_eq!(Some(f.points), m.points(f.code), "{f:?}");
        assert!(!f.detail.is_empty(), "{f:?}");
    }
}

#[test]
fn each_factor_moves_the_score_by_its_points() {
    let m = Model::bundled();
    let base = middling();
    let before = m.score(&base, now());
    assert_adds_up(&m, &before);
    assert_eq!(before.score, 53, "{before:?}");
    let p = |code| pts(&m, code);
    let cases: Vec<(&str, Signals<'_>, i32)> = vec![
        (
            "install",
            Signals {
                action: Action::Install,
                ..base.clone()
            },
            p(codes::ACTION_ACTIVE) - p(codes::ACTION_INITIAL),
        ),
        (
            "create",
            Signals {
                action: Action::Create,
                ..base.clone()
            },
            p(codes::ACTION_ACTIVE) - p(codes::ACTION_INITIAL),
        ),
        (
            "no action",
            Signals {
                action: Action::Unspecified,
                ..base.clone()
            },
            p(codes::ACTION_UNKNOWN) - p(codes::ACTION_INITIAL),
        ),
        (
            "malformed source",
            Signals {
                source_malformed: true,
                ..base.clone()
            },
            p(codes::SOURCE_UNPARSED),
        ),
        (
            "valid email",
            Signals {
                email: EmailClass::Valid,
                ..base.clone()
            },
            p(codes::EMAIL_VALID) - p(codes::EMAIL_UNKNOWN),
        ),
        (
            "invalid email",
            Signals {
                email: EmailClass::Invalid,
                ..base.clone()
            },
            // An invalid address loses the corporate bonus too: its domain says nothing.
            p(codes::EMAIL_INVALID) - p(codes::EMAIL_UNKNOWN) - p(codes::EMAIL_CORPORATE),
        ),
        (
            "missing email",
            Signals {
                email: EmailClass::Missing,
                ..base.clone()
            },
            p(codes::EMAIL_MISSING) - p(codes::EMAIL_UNKNOWN) - p(codes::EMAIL_CORPORATE),
        ),
        (
            // The lead names its company: free mail there is also an inconsistency.
            "free mail",
            Signals {
                free_provider: true,
                ..base.clone()
            },
            p(codes::EMAIL_FREE_PROVIDER) - p(codes::EMAIL_CORPORATE)
                + p(codes::CONSISTENCY_FREE_MAIL_WITH_COMPANY),
        ),
        (
            "role account",
            Signals {
                role_account: true,
                ..base.clone()
            },
            p(codes::EMAIL_ROLE_ACCOUNT),
        ),
        (
            "valid mobile",
            Signals {
                phone: PhoneClass::Valid,
                ..base.clone()
            },
            p(codes::PHONE_VALID_MOBILE) - p(codes::PHONE_UNKNOWN),
        ),
        (
            "valid fixed line",
            Signals {
                phone: PhoneClass::Valid,
                phone_mobile: false,
                ..base.clone()
            },
            p(codes::PHONE_VALID) - p(codes::PHONE_UNKNOWN),
        ),
        (
            "toll-free",
            Signals {
                phone: PhoneClass::Valid,
                phone_mobile: false,
                phone_toll_free_or_premium: true,
                ..base.clone()
            },
            p(codes::PHONE_SERVICE_NUMBER) - p(codes::PHONE_UNKNOWN),
        ),
        (
            "invalid phone",
            Signals {
                phone: PhoneClass::Invalid,
                ..base.clone()
            },
            p(codes::PHONE_INVALID) - p(codes::PHONE_UNKNOWN),
        ),
        (
            "missing phone",
            Signals {
                phone: PhoneClass::Missing,
                ..base.clone()
            },
            p(codes::PHONE_MISSING) - p(codes::PHONE_UNKNOWN),
        ),
        (
            "no company",
            Signals {
                company: "",
                ..base.clone()
            },
            -p(codes::COMPLETE_COMPANY),
        ),
        (
            "blank company",
            Signals {
                company: " \t ",
                ..base.clone()
            },
            -p(codes::COMPLETE_COMPANY),
        ),
        (
            "no title",
            Signals {
                title: "",
                ..base.clone()
            },
            -p(codes::COMPLETE_TITLE),
        ),
        (
            "executive",
            Signals {
                title: "CEO",
                ..base.clone()
            },
            p(codes::TITLE_EXECUTIVE),
        ),
        (
            "senior",
            Signals {
                title: "Directora",
                ..base.clone()
            },
            p(codes::TITLE_SENIOR),
        ),
        (
            "fake first name",
            Signals {
                first_name: "asdf",
                ..base.clone()
            },
            p(codes::NAME_FAKE),
        ),
        (
            "fake last name",
            Signals {
                last_name: "Test",
                ..base.clone()
            },
            p(codes::NAME_FAKE),
        ),
        (
            "both fake: one factor",
            Signals {
                first_name: "test",
                last_name: "test",
                ..base.clone()
            },
            p(codes::NAME_FAKE),
        ),
        (
            "1 h old",
            Signals {
                created_at: ago(3600),
                ..base.clone()
            },
            p(codes::RECENCY_24H) - p(codes::RECENCY_UNKNOWN),
        ),
        (
            "2 days old",
            Signals {
                created_at: ago(48 * 3600),
                ..base.clone()
            },
            p(codes::RECENCY_72H) - p(codes::RECENCY_UNKNOWN),
        ),
        (
            "10 days old",
            Signals {
                created_at: ago(10 * 86_400),
                ..base.clone()
            },
            p(codes::RECENCY_14D) - p(codes::RECENCY_UNKNOWN),
        ),
        (
            "15 days old",
            Signals {
                created_at: ago(15 * 86_400),
                ..base.clone()
            },
            p(codes::RECENCY_EXPIRED) - p(codes::RECENCY_UNKNOWN),
        ),
    ];
    for (what, signals, delta) in cases {
        let after = m.score(&signals, now());
        assert_adds_up(&m, &after);
        assert_eq!(
            after.score as i32 - before.score as i32,
            delta,
            "{what}: {after:?}"
        );
    }
}

#[test]
fn every_point_code_is_read_from_the_model() {
    // Give each factor a distinct value in turn and find it on a lead that has it.
    let leads: Vec<Signals<'static>> = vec![
        strong(),
        middling(),
        Signals {
            action: Action::DoNotContact,
            source_malformed: true,
            email: EmailClass::Invalid,
            phone: PhoneClass::Invalid,
            first_name: "asdf",
            title: "CEO",
            created_at: ago(15 * 86_400),
            ..strong()
        },
        Signals {
            action: Action::Unspecified,
            email: EmailClass::Spam,
            phone: PhoneClass::Missing,
            created_at: ago(60),
            ..strong()
        },
        Signals {
            email: EmailClass::Missing,
            phone_toll_free_or_premium: true,
            created_at: ago(50 * 3600),
            ..strong()
        },
        Signals {
            email: EmailClass::Valid,
            free_provider: true,
            role_account: true,
            phone_mobile: false,
            created_at: ago(5 * 86_400),
            ..strong()
        },
        Signals {
            created_at: Some(now() + Duration::from_secs(3 * 86_400)),
            ..middling()
        },
        // A referral's windows past 72 hours ("Contact me"), and an archived offer lead.
        Signals {
            created_at: ago(5 * 86_400),
            ..middling()
        },
        Signals {
            created_at: ago(15 * 86_400),
            ..middling()
        },
        Signals {
            created_at: ago(200 * 86_400),
            ..strong()
        },
        // Fields that agree and disagree.
        Signals {
            country: "GB",
            phone_region: "BR",
            email_domain: "contoso.ru",
            email_local: "ana",
            ..strong()
        },
    ];
    let bundled = Model::bundled();
    for code in codes::POINT_CODES {
        let line = format!("\"{code}\" = {}", pts(&bundled, code));
        let text = edit(BUNDLED, &line, &format!("\"{code}\" = 77"));
        let m = Model::from_toml(&text).unwrap();
        let found = leads
            .iter()
            .flat_map(|l| m.score(l, now()).factors)
            .find(|f| f.code == *code);
        assert_eq!(found.map(|f| f.points), Some(77), "{code}");
    }
}

#[test]
fn hard_rules_force_low_and_keep_the_score_under_the_threshold() {
    let m = Model::bundled();
    let dnc = m.score(
        &Signals {
            action: Action::DoNotContact,
            title: "CEO",
            created_at: ago(60),
            ..strong()
        },
        now(),
    );
    assert_eq!(dnc.quality, Quality::Low);
    assert!(dnc.score < m.threshold(), "{dnc:?}");
    assert_eq!(codes_of(&dnc).last(), Some(&codes::RULE_DO_NOT_CONTACT));
    assert_adds_up(&m, &dnc);

    let spam = m.score(
        &Signals {
            email: EmailClass::Spam,
            disposable: true,
            title: "CEO",
            created_at: ago(60),
            ..strong()
        },
        now(),
    );
    assert_eq!(spam.quality, Quality::Low);
    assert!(spam.score < m.threshold(), "{spam:?}");
    assert_eq!(codes_of(&spam).last(), Some(&codes::RULE_SPAM_EMAIL));
    assert!(spam.factors.iter().any(|f| f.detail.contains("disposable")));
    assert_adds_up(&m, &spam);

    // Already under the cap: the rule is listed with 0 points and changes nothing.
    let weak = m.score(
        &Signals {
            action: Action::DoNotContact,
            ..middling()
        },
        now(),
    );
    assert_eq!(
        weak.factors.last().map(|f| (f.code, f.points)),
        Some((codes::RULE_DO_NOT_CONTACT, 0))
    );
    assert!(weak.score < m.threshold() - 1);
    assert_adds_up(&m, &weak);

    // A model where spam and DNC cost nothing still scores them LOW, just under 60.
    let lenient = edit(BUNDLED, "\"email.spam\" = -50", "\"email.spam\" = 100");
    let lenient = edit(
        &lenient,
        "\"action.do_not_contact\" = -50",
        "\"action.do_not_contact\" = 100",
    );
    let lenient = Model::from_toml(&lenient).unwrap();
    for signals in [
        Signals {
            email: EmailClass::Spam,
            ..strong()
        },
        Signals {
            action: Action::DoNotContact,
            ..strong()
        },
    ] {
        let s = lenient.score(&signals, now());
        assert_eq!((s.quality, s.score), (Quality::Low, 59), "{s:?}");
        assert_adds_up(&lenient, &s);
    }

    // The email hard rule only follows the SPAM verdict, not the disposable flag alone.
    let s = m.score(
        &Signals {
            disposable: true,
            ..strong()
        },
        now(),
    );
    assert_eq!(s.quality, Quality::High);
}

#[test]
fn the_threshold_is_inclusive_and_scores_clamp() {
    let with = |base: i32, threshold: i32| {
        let text = edit(BUNDLED, "base = 20", &format!("base = {base}"));
        Model::from_toml(&edit(
            &text,
            "threshold = 60",
            &format!("threshold = {threshold}"),
        ))
        .unwrap()
    };
    // Adds nothing but email.corporate (+10).
    let bare = Signals {
        action: Action::Unspecified,
        company: "",
        title: "",
        ..middling()
    };
    let s = with(50, 60).score(&bare, now());
    assert_eq!((s.score, s.quality), (60, Quality::High), "{s:?}");
    let s = with(49, 60).score(&bare, now());
    assert_eq!((s.score, s.quality), (59, Quality::Low), "{s:?}");
    let s = with(0, 1).score(&bare, now());
    assert_eq!((s.score, s.quality), (10, Quality::High));

    let top = with(100, 60).score(
        &Signals {
            created_at: ago(60),
            ..strong()
        },
        now(),
    );
    assert_eq!(top.score, 100, "clamped at 100");
    let awful = Signals {
        action: Action::Unspecified,
        email: EmailClass::Invalid,
        phone: PhoneClass::Invalid,
        first_name: "test",
        created_at: ago(30 * 86_400),
        ..middling()
    };
    let bottom = Model::bundled().score(&awful, now());
    assert_eq!(
        (bottom.score, bottom.quality),
        (0, Quality::Low),
        "clamped at 0"
    );
    assert_adds_up(&Model::bundled(), &bottom);
}

#[test]
fn recency_follows_the_seeds_windows_on_a_fixed_clock() {
    let m = Model::bundled();
    let recency = |created_at: Option<SystemTime>| {
        let s = m.score(
            &Signals {
                created_at,
                ..middling()
            },
            now(),
        );
        let f = s.factors.last().cloned().unwrap();
        assert!(f.code.starts_with("recency."), "{f:?}");
        (f.code, f.detail)
    };
    const H: u64 = 3600;
    for (age, code) in [
        (0, codes::RECENCY_24H),
        (24 * H - 1, codes::RECENCY_24H),
        (24 * H, codes::RECENCY_72H),
        (72 * H - 1, codes::RECENCY_72H),
        (72 * H, codes::RECENCY_14D),
        (14 * 24 * H - 1, codes::RECENCY_14D),
        (14 * 24 * H, codes::RECENCY_EXPIRED),
        (400 * 24 * H, codes::RECENCY_EXPIRED),
    ] {
        assert_eq!(recency(ago(age)).0, code, "{age} s old");
    }
    let (code, detail) = recency(ago(5 * H));
    assert_eq!(code, codes::RECENCY_24H);
    assert!(detail.contains("5 h ago"), "{detail}");
    let (_, detail) = recency(ago(10 * 24 * H));
    assert!(detail.contains("10 days ago"), "{detail}");

    // Ahead of our clock: a time-zone slip counts as now, further is a wrong timestamp.
    let ahead = |secs| Some(now() + Duration::from_secs(secs));
    let (code, detail) = recency(ahead(3 * H));
    assert_eq!(code, codes::RECENCY_24H);
    assert!(detail.contains("ahead of our clock"), "{detail}");
    assert_eq!(recency(ahead(14 * H)).0, codes::RECENCY_24H);
    assert_eq!(recency(ahead(14 * H + 1)).0, codes::RECENCY_FUTURE);
    assert_eq!(recency(ahead(1000 * 24 * H)).0, codes::RECENCY_FUTURE);
    assert_eq!(recency(None).0, codes::RECENCY_UNKNOWN);

    // The same lead scored at two clocks: only the recency factor differs.
    let lead = Signals {
        created_at: ago(0),
        ..middling()
    };
    let fresh = m.score(&lead, now());
    let stale = m.score(&lead, now() + Duration::from_secs(20 * 24 * H));
    assert_eq!(
        fresh.score as i32 - stale.score as i32,
        pts(&m, codes::RECENCY_24H) - pts(&m, codes::RECENCY_EXPIRED)
    );
}

#[test]
fn recency_windows_follow_the_leads_kind_at_their_edges() {
    let m = Model::bundled();
    const H: u64 = 3600;
    const DAY: u64 = 24 * H;
    let score = |lead_type, call_to_action, action, age: u64| {
        m.score(
            &Signals {
                lead_type,
                call_to_action,
                action,
                created_at: ago(age),
                ..strong()
            },
            now(),
        )
    };
    let recency_of = |s: &Score| {
        s.factors
            .iter()
            .find(|f| f.code.starts_with("recency."))
            .map(|f| f.code)
    };
    let free_trial = |age| {
        score(
            LeadType::Offer,
            Some(CallToAction::FreeTrial),
            Action::Install,
            age,
        )
    };
    // An offer lead that needs no action: available for six months, then archived.
    for (age, code) in [
        (24 * H - 1, codes::RECENCY_24H),
        (72 * H - 1, codes::RECENCY_72H),
        (72 * H, codes::RECENCY_AVAILABLE),
        (30 * DAY, codes::RECENCY_AVAILABLE),
        (183 * DAY - 1, codes::RECENCY_AVAILABLE),
        (183 * DAY, codes::RECENCY_ARCHIVED),
        (900 * DAY, codes::RECENCY_ARCHIVED),
    ] {
        assert_eq!(recency_of(&free_trial(age)), Some(code), "{age} s old");
    }
    // The case: a 30-day-old Free trial lead is not expired, and stays HIGH.
    assert_eq!(free_trial(30 * DAY).quality, Quality::High);
    // Archived is a hard rule: the strong lead is LOW, its rule says why.
    let archived = free_trial(183 * DAY);
    assert_eq!(archived.quality, Quality::Low);
    assert!(archived.score < m.threshold());
    let rule = archived.factors.last().unwrap();
    assert_eq!(rule.code, codes::RULE_ARCHIVED);
    assert!(rule.detail.contains("archived"), "{rule:?}");
    assert_adds_up(&m, &archived);
    assert_eq!(free_trial(183 * DAY - 1).quality, Quality::High);

    // Inferred from the action: StartTestDrive is Test drive, an offer lead.
    let inferred = score(
        LeadType::Unspecified,
        None,
        Action::StartTestDrive,
        100 * DAY,
    );
    assert_eq!(recency_of(&inferred), Some(codes::RECENCY_AVAILABLE));

    // Referrals: a profile lead, and a Contact me lead given or inferred (PLT).
    for (lead_type, cta, action) in [
        (LeadType::Profile, None, Action::Unspecified),
        (
            LeadType::Offer,
            Some(CallToAction::ContactMe),
            Action::Install,
        ),
        (LeadType::Unspecified, None, Action::PartnerLedTrial),
    ] {
        for (age, code) in [
            (24 * H - 1, codes::RECENCY_24H),
            (24 * H, codes::RECENCY_72H),
            (72 * H - 1, codes::RECENCY_72H),
            (72 * H, codes::RECENCY_14D),
            (14 * DAY - 1, codes::RECENCY_14D),
            (14 * DAY, codes::RECENCY_EXPIRED),
            (900 * DAY, codes::RECENCY_EXPIRED),
        ] {
            let s = score(lead_type, cta, action, age);
            assert_eq!(
                recency_of(&s),
                Some(code),
                "{lead_type:?} {cta:?} {age} s old"
            );
            assert!(s.factors.iter().all(|f| f.code != codes::RULE_ARCHIVED));
        }
        let flame = score(lead_type, cta, action, 30 * H);
        let detail = &flame
            .factors
            .iter()
            .find(|f| f.code == codes::RECENCY_72H)
            .unwrap()
            .detail;
        assert!(detail.contains("asked to be contacted"), "{detail}");
    }
    // No kind at all: the 14-day window, never archived.
    let unknown = score(LeadType::Unspecified, None, Action::Unspecified, 400 * DAY);
    assert_eq!(recency_of(&unknown), Some(codes::RECENCY_EXPIRED));
}

#[test]
fn each_consistency_factor_fires_when_the_fields_disagree_and_only_then() {
    let m = Model::bundled();
    // A consistent lead: a British mobile written +44, a .co.uk address at the company's
    // domain with the person's name in it.
    let consistent = Signals {
        country: "GB",
        phone_region: "GB",
        email_domain: "contoso.co.uk",
        email_local: "ana.garcia",
        ..middling()
    };
    let has =
        |s: &Signals<'_>, code: &str| m.score(s, now()).factors.iter().any(|f| f.code == code);
    let score = |s: &Signals<'_>| m.score(s, now());
    let base = score(&consistent);
    assert_adds_up(&m, &base);
    assert!(has(&consistent, codes::CONSISTENCY_COMPANY_DOMAIN));
    assert!(has(&consistent, codes::CONSISTENCY_NAME_IN_ADDRESS));
    for code in [
        codes::CONSISTENCY_PHONE_COUNTRY,
        codes::CONSISTENCY_EMAIL_CCTLD,
        codes::CONSISTENCY_FREE_MAIL_WITH_COMPANY,
    ] {
        assert!(!has(&consistent, code), "{code}");
    }
    let p = |code| pts(&m, code);
    let cases: Vec<(&str, Signals<'_>, &str, i32)> = vec![
        (
            "a Brazilian phone",
            Signals {
                phone_region: "BR",
                ..consistent.clone()
            },
            codes::CONSISTENCY_PHONE_COUNTRY,
            p(codes::CONSISTENCY_PHONE_COUNTRY),
        ),
        (
            "a Russian domain",
            Signals {
                email_domain: "contoso.ru",
                ..consistent.clone()
            },
            codes::CONSISTENCY_EMAIL_CCTLD,
            p(codes::CONSISTENCY_EMAIL_CCTLD),
        ),
        (
            "another company's domain",
            Signals {
                email_domain: "fabrikam.co.uk",
                ..consistent.clone()
            },
            codes::CONSISTENCY_COMPANY_DOMAIN,
            -p(codes::CONSISTENCY_COMPANY_DOMAIN),
        ),
        (
            "free mail",
            Signals {
                email_domain: "gmail.com",
                free_provider: true,
                ..consistent.clone()
            },
            codes::CONSISTENCY_FREE_MAIL_WITH_COMPANY,
            p(codes::EMAIL_FREE_PROVIDER) - p(codes::EMAIL_CORPORATE)
                + p(codes::CONSISTENCY_FREE_MAIL_WITH_COMPANY)
                - p(codes::CONSISTENCY_COMPANY_DOMAIN),
        ),
        (
            "someone else's address",
            Signals {
                email_local: "sales.team",
                ..consistent.clone()
            },
            codes::CONSISTENCY_NAME_IN_ADDRESS,
            -p(codes::CONSISTENCY_NAME_IN_ADDRESS),
        ),
    ];
    for (what, signals, code, delta) in cases {
        let after = score(&signals);
        assert_adds_up(&m, &after);
        assert_ne!(has(&signals, code), has(&consistent, code), "{what}");
        assert_eq!(
            after.score as i32 - base.score as i32,
            delta,
            "{what}: {after:?}"
        );
    }
    // Nothing to compare, nothing said: no country, a phone in national form, an email
    // that reaches nobody, a generic ccTLD, no company.
    let quiet = [
        Signals {
            country: "",
            email_domain: "contoso.ru",
            phone_region: "BR",
            ..consistent.clone()
        },
        Signals {
            phone_region: "",
            email_domain: "contoso.io",
            company: "",
            free_provider: true,
            ..consistent.clone()
        },
        Signals {
            email: EmailClass::Invalid,
            email_domain: "contoso.ru",
            free_provider: true,
            ..consistent.clone()
        },
    ];
    for s in &quiet {
        for code in [
            codes::CONSISTENCY_PHONE_COUNTRY,
            codes::CONSISTENCY_EMAIL_CCTLD,
            codes::CONSISTENCY_FREE_MAIL_WITH_COMPANY,
        ] {
            assert!(!has(s, code), "{code}: {s:?}");
        }
    }
    // Details name countries, never the address.
    let mismatched = Signals {
        phone_region: "BR",
        email_domain: "contoso.ru",
        ..consistent.clone()
    };
    for f in score(&mismatched).factors {
        assert!(!f.detail.contains("ana.garcia"), "{f:?}");
        assert!(!f.detail.contains("contoso.ru"), "{f:?}");
    }
}

#[test]
fn grades_band_the_score_as_the_model_file_draws_them() {
    let m = Model::bundled();
    for (score, grade) in [
        (100, Grade::A),
        (80, Grade::A),
        (79, Grade::B),
        (60, Grade::B),
        (59, Grade::C),
        (40, Grade::C),
        (39, Grade::D),
        (0, Grade::D),
    ] {
        assert_eq!(m.grade(score), grade, "{score}");
    }
    // B starts at the threshold: A and B are HIGH, C and D LOW.
    assert_eq!(m.grade(m.threshold()), Grade::B);
    assert_eq!(m.grade(m.threshold() - 1), Grade::C);
    let s = m.score(&middling(), now());
    assert_eq!(s.grade, m.grade(s.score));

    // Bands are data: moved, they move the grade and the version.
    let moved = Model::from_toml(&edit(BUNDLED, "A = 80", "A = 70")).unwrap();
    assert_eq!(moved.grade(70), Grade::A);
    assert_eq!(m.grade(70), Grade::B);
    assert_ne!(moved.version(), m.version());
    // They must fall from A to C, each in 1..=100.
    for (from, to) in [
        ("A = 80", "A = 60"),
        ("C = 40", "C = 0"),
        ("B = 60", "B = 101"),
    ] {
        let err = Model::from_toml(&edit(BUNDLED, from, to)).unwrap_err();
        assert!(err.to_string().contains("grades"), "{to}: {err}");
    }
    let err = Model::from_toml(&edit(BUNDLED, "C = 40\n", "")).unwrap_err();
    assert!(err.to_string().contains("C"), "{err}");
}

#[test]
fn top_reasons_are_the_three_largest_moves_signed() {
    let factor = |code, points| Factor {
        code,
        points,
        detail: "".into(),
    };
    let score = Score {
        quality: Quality::Low,
        score: 10,
        grade: Grade::D,
        factors: vec![
            factor("a", 5),
            factor("b", -30),
            factor("c", 0),
            factor("d", 10),
            factor("e", -10),
            factor("f", 30),
        ],
    };
    let top: Vec<(&str, i32)> = score.top_reasons().map(|f| (f.code, f.points)).collect();
    // Largest move first whatever its sign; a tie keeps the order applied.
    assert_eq!(top, [("b", -30), ("f", 30), ("d", 10)]);
    let few = Score {
        factors: vec![factor("c", 0), factor("a", -2)],
        ..score.clone()
    };
    let top: Vec<&str> = few.top_reasons().map(|f| f.code).collect();
    assert_eq!(top, ["a"], "no-point factors moved nothing");

    // On a real lead: do not contact, the largest move, leads them.
    let m = Model::bundled();
    let dnc = m.score(
        &Signals {
            action: Action::DoNotContact,
            ..strong()
        },
        now(),
    );
    let top: Vec<&str> = dnc.top_reasons().map(|f| f.code).collect();
    assert_eq!(top.len(), TOP_REASONS);
    assert_eq!(top[0], codes::ACTION_DO_NOT_CONTACT, "{top:?}");
    for f in dnc.top_reasons() {
        assert!(dnc.factors.contains(f));
    }
}

#[test]
fn factor_details_never_carry_the_contact_data() {
    let m = Model::bundled();
    let s = m.score(
        &Signals {
            first_name: "ana@contoso.com",
            last_name: "+12025550143",
            ..strong()
        },
        now(),
    );
    for f in &s.factors {
        assert!(
            !f.detail.contains('@') && !f.detail.contains("555"),
            "{f:?}"
        );
    }
}

#[test]
fn the_version_follows_content_not_layout() {
    let a = Model::from_toml(BUNDLED).unwrap();
    assert_eq!(a.version(), Model::bundled().version());
    let (name, hash) = a.version().split_once('@').unwrap();
    assert_eq!(name, "leadcheck-default");
    assert_eq!(hash.len(), 8);
    assert!(hash
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));

    // Comments, spacing, blank lines and key order do not change it.
    let reformatted: String = BUNDLED
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(" #").next().unwrap_or(l).replace(" = ", "="))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(reformatted, BUNDLED);
    assert_eq!(
        Model::from_toml(&reformatted).unwrap().version(),
        a.version()
    );
    assert_eq!(
        Model::from_toml(&a.canonical()).unwrap().version(),
        a.version()
    );
    let reordered = edit(BUNDLED, "name = \"leadcheck-default\"\n", "");
    let reordered = format!("name = \"leadcheck-default\"\n{reordered}");
    assert_eq!(Model::from_toml(&reordered).unwrap().version(), a.version());

    // Any value does.
    for (from, to) in [
        ("\"title.senior\" = 6", "\"title.senior\" = 7"),
        ("base = 20", "base = 21"),
        ("threshold = 60", "threshold = 61"),
        ("name = \"leadcheck-default\"", "name = \"leadcheck-other\""),
    ] {
        let changed = Model::from_toml(&edit(BUNDLED, from, to)).unwrap();
        assert_ne!(changed.version(), a.version(), "{to}");
    }
}

#[test]
fn a_malformed_model_is_refused_naming_the_line() {
    let line_of = |needle: &str| {
        BUNDLED
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap()
    };
    let refused = |text: &str| match Model::from_toml(text) {
        Err(ModelError::Invalid {
            line,
            message,
            path,
        }) => {
            assert_eq!(path, None);
            (line, message)
        }
        other => panic!("{other:?}"),
    };

    let (line, message) = refused(&edit(
        BUNDLED,
        "\"title.senior\" = 6",
        "\"title.junior\" = 6",
    ));
    assert_eq!(line, Some(line_of("title.senior")), "{message}");
    assert!(
        message.contains("unknown factor `title.junior`"),
        "{message}"
    );

    let (line, message) = refused(&edit(
        BUNDLED,
        "\"name.fake\" = -50",
        "\"name.fake\" = -300",
    ));
    assert_eq!(line, Some(line_of("name.fake")), "{message}");
    assert!(message.contains("-300"), "{message}");

    let (line, message) = refused(&edit(BUNDLED, "\"name.fake\" = -50", "\"name.fake\" = 2.5"));
    assert_eq!(line, Some(line_of("name.fake")), "{message}");

    let (line, message) = refused(&edit(BUNDLED, "threshold = 60", "threshold = 160"));
    assert_eq!(line, Some(line_of("threshold = 60")), "{message}");
    let (line, _) = refused(&edit(BUNDLED, "threshold = 60", "threshold = 0"));
    assert_eq!(line, Some(line_of("threshold = 60")));
    let (line, _) = refused(&edit(BUNDLED, "base = 20", "base = -1"));
    assert_eq!(line, Some(line_of("base = 20")));
    let (line, _) = refused(&edit(
        BUNDLED,
        "name = \"leadcheck-default\"",
        "name = \"two words\"",
    ));
    assert_eq!(line, Some(line_of("name = \"leadcheck-default\"")));

    let (line, message) = refused(&edit(
        BUNDLED,
        "threshold = 60",
        "threshold = 60\nmood = \"sunny\"",
    ));
    assert_eq!(line, Some(line_of("threshold = 60") + 1), "{message}");
    assert!(message.contains("mood"), "{message}");

    let (line, message) = refused(&edit(BUNDLED, "\"recency.24h\" = 10", "\"recency.24h\" = "));
    assert_eq!(line, Some(line_of("recency.24h")), "{message}");

    let (line, message) = refused(&edit(
        BUNDLED,
        "\"title.senior\" = 6",
        "\"title.senior\" = 6\n\"title.senior\" = 7",
    ));
    assert_eq!(line, Some(line_of("title.senior") + 1), "{message}");

    let (_, message) = refused(&edit(BUNDLED, "\"recency.24h\" = 10", "# gone"));
    assert!(message.contains("recency.24h"), "{message}");
    let (line, message) = refused("name = \"x\"\nthreshold = 60\n[points]\n");
    assert!(message.contains("missing field `base`"), "{message}");
    assert_eq!(line, None, "a missing key has no line");

    // From a file: the message names the file and the line.
    let dir = std::env::temp_dir().join(format!("leadcheck-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "name = \"x\"\nbase = \n").unwrap();
    let err = Model::load(&path).unwrap_err().to_string();
    assert!(
        err.contains(&path.display().to_string()) && err.contains("line 2"),
        "{err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");
    let missing = dir.join("missing.toml");
    let err = Model::load(&missing).unwrap_err();
    assert!(matches!(err, ModelError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.toml"), "{err}");
    let good = dir.join("good.toml");
    std::fs::write(&good, BUNDLED).unwrap();
    assert_eq!(Model::load(&good).unwrap(), Model::bundled());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn titles_are_ranked_by_whole_words_in_the_seeds_languages() {
    use Seniority::*;
    for (title, expected) in [
        ("CEO", Some(Executive)),
        ("ceo & founder", Some(Executive)),
        ("Chief Technology Officer", Some(Executive)),
        ("Co-Founder & CTO", Some(Executive)),
        ("Owner", Some(Executive)),
        ("President", Some(Executive)),
        ("Managing Director", Some(Executive)),
        ("Director General", Some(Executive)),
        ("Gerente General", Some(Executive)),
        ("Director Ejecutivo", Some(Executive)),
        ("Presidente", Some(Executive)),
        ("Dueña", Some(Executive)),
        ("Dueño", Some(Executive)),
        ("Fundador", Some(Executive)),
        ("Socio Director", Some(Executive)),
        ("Sócio-fundador", Some(Executive)),
        ("Proprietário", Some(Executive)),
        ("Diretor-Presidente", Some(Executive)),
        ("Генеральный директор", Some(Executive)),
        ("Основатель", Some(Executive)),
        ("Владелец бизнеса", Some(Executive)),
        ("Президент", Some(Executive)),
        ("VP Sales", Some(Senior)),
        ("Vice President, Marketing", Some(Senior)),
        ("Deputy CEO", Some(Senior)),
        ("Chief Architect", Some(Senior)),
        ("Вице-президент", Some(Senior)),
        ("Vicepresidenta Comercial", Some(Senior)),
        ("Directora de Ventas", Some(Senior)),
        ("Diretor de TI", Some(Senior)),
        ("Head of Procurement", Some(Senior)),
        ("Jefe de Compras", Some(Senior)),
        ("Chefe de Vendas", Some(Senior)),
        ("Директор по продажам", Some(Senior)),
        ("Коммерческий директор", Some(Senior)),
        ("Руководитель отдела", Some(Senior)),
        ("Начальник отдела ИТ", Some(Senior)),
        ("Заместитель генерального директора", Some(Senior)),
        ("Directory Administrator", None),
        ("Администратор директории", None),
        ("Product Owner", None),
        ("Executive Assistant to the CEO", None),
        ("Software Engineer", None),
        ("Gerente de Ventas", None),
        ("Headhunter", None),
        ("Presidential Scholar", None),
        ("", None),
    ] {
        assert_eq!(seniority(title).map(|(s, _)| s), expected, "{title}");
    }
    assert_eq!(
        seniority("Head of IT").map(|(_, w)| w),
        Some("head".to_string())
    );
}

#[test]
fn fake_names_are_caught_and_real_short_ones_pass() {
    for fake in [
        "test",
        "Test",
        "TESTING",
        "Test User",
        "asdf",
        "qwerty",
        "asdfgh",
        "xxxx",
        "aaa",
        "n/a",
        "N/A",
        "John2",
        "123",
        "йцукен",
        "фывап",
        "zxcvb",
        "-",
        "...",
        "Dummy",
        "Prueba",
        "Teste",
        "тест",
        "none",
        "Unknown",
    ] {
        assert!(looks_fake(fake), "{fake}");
    }
    for real in [
        "Li",
        "Ng",
        "Bo",
        "Al",
        "Na",
        "Oo",
        "Ana",
        "José",
        "Анна",
        "Пётр",
        "O'Brien",
        "Zoë",
        "Qwan",
        "Schwertfeger",
        "Anne-Marie",
        "J.",
        "Ee",
        "李",
        "",
        "  ",
    ] {
        assert!(!looks_fake(real), "{real}");
    }
    assert_eq!(fake_name("asdf"), Some("a placeholder word"));
    assert_eq!(fake_name("asdfgh"), Some("a keyboard run"));
    assert_eq!(fake_name("sdfgh"), Some("a keyboard run"));
    assert_eq!(fake_name("Anna7"), Some("digits"));
    assert_eq!(fake_name("zzz"), Some("one letter repeated"));
    // Every placeholder, as a name and as a word of one, in any case; the list stays
    // sorted and without repeats, to read.
    assert!(PLACEHOLDER_NAMES.windows(2).all(|w| w[0] < w[1]));
    for word in PLACEHOLDER_NAMES {
        assert_eq!(fake_name(word), Some("a placeholder word"), "{word}");
        let upper = word.to_uppercase();
        assert_eq!(fake_name(&upper), Some("a placeholder word"), "{upper}");
        let in_name = format!("Maria {upper}");
        assert_eq!(fake_name(&in_name), Some("a placeholder word"), "{in_name}");
    }
    // Every run, anywhere in a name, in either script.
    for run in KEYBOARD_RUNS {
        let name = format!("Ma{run}ria");
        assert_eq!(fake_name(&name), Some("a keyboard run"), "{name}");
    }
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Unspecified),
        Just(Action::Install),
        Just(Action::PartnerLedTrial),
        Just(Action::DoNotContact),
        Just(Action::Create),
        Just(Action::StartTestDrive),
    ]
}

fn email() -> impl Strategy<Value = EmailClass> {
    prop_oneof![
        Just(EmailClass::Valid),
        Just(EmailClass::Invalid),
        Just(EmailClass::Spam),
        Just(EmailClass::Unknown),
        Just(EmailClass::Missing),
    ]
}

fn phone() -> impl Strategy<Value = PhoneClass> {
    prop_oneof![
        Just(PhoneClass::Valid),
        Just(PhoneClass::Invalid),
        Just(PhoneClass::Unknown),
        Just(PhoneClass::Missing),
    ]
}

proptest! {
    #[test]
    fn any_lead_scores_within_bounds_and_adds_up(
        action in action(),
        email in email(),
        phone in phone(),
        flags in any::<[bool; 6]>(),
        first in "\\PC{0,20}",
        last in "\\PC{0,20}",
        title in "\\PC{0,40}|[A-Za-zА-я -]{0,40}",
        company in "\\PC{0,20}",
        created in proptest::option::of(any::<u64>()),
    ) {
        let m = Model::bundled();
        let created_at = created.and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs % 4_000_000_000)));
        let s = Signals {
            action,
            source_malformed: flags[0],
            email,
            free_provider: flags[1],
            role_account: flags[2],
            disposable: flags[3],
            phone,
            phone_mobile: flags[4],
            phone_toll_free_or_premium: flags[5],
            first_name: &first,
            last_name: &last,
            company: &company,
            title: &title,
            created_at,
            ..strong()
        };
        let score = m.score(&s, now());
        prop_assert!(score.score <= 100);
        prop_assert_eq!(score.quality == Quality::High, score.score >= m.threshold());
        let total = m.base() as i32 + score.factors.iter().map(|f| f.points).sum::<i32>();
        prop_assert_eq!(score.score, total.clamp(0, 100).unsigned_abs());
        if action == Action::DoNotContact || email == EmailClass::Spam {
            prop_assert_eq!(score.quality, Quality::Low);
        }
        prop_assert!(score.factors.iter().all(|f| !f.detail.is_empty()));
    }

    #[test]
    fn any_text_is_a_model_or_an_error(text in "\\PC{0,200}", edit_at in any::<prop::sample::Index>(), junk in "\\PC{0,5}") {
        // Arbitrary text, and the bundled model with arbitrary junk spliced in.
        let _ = Model::from_toml(&text);
        let at = edit_at.index(BUNDLED.len());
        if let (Some(a), Some(b)) = (BUNDLED.get(..at), BUNDLED.get(at..)) {
            if let Err(e) = Model::from_toml(&format!("{a}{junk}{b}")) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}
