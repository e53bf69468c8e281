//! Tests of the scoring model.

use super::*;
use proptest::prelude::*;
use std::time::UNIX_EPOCH;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A strong lead: test drive, valid corporate email, valid mobile, a director.
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
    }
}

fn codes_of(score: &Score) -> Vec<&'static str> {
    score.factors.iter().map(|f| f.code).collect()
}

fn model() -> Model {
    Model::bundled()
}

#[test]
fn the_score_is_base_plus_the_listed_factors() {
    let m = model();
    let s = m.score(&strong(), now());
    let sum: i32 = m.file.base + s.factors.iter().map(|f| f.points).sum::<i32>();
    assert_eq!(s.score, sum.clamp(0, 100).unsigned_abs());
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
            codes::TITLE_SENIOR
        ]
    );
    for f in &s.factors {
        assert!(!f.detail.is_empty());
    }
}

#[test]
fn each_factor_moves_the_score_by_its_points() {
    // A weak base lead keeps the sum inside 0..=100 so no clamp hides a factor.
    let base = Signals {
        action: Action::PartnerLedTrial,
        email: EmailClass::Unknown,
        phone: PhoneClass::Unknown,
        company: "",
        title: "",
        ..strong()
    };
    let m = model();
    let before = m.score(&base, now()).score as i32;
    let p = &m.file.points;
    let cases: Vec<(Signals<'_>, i32)> = vec![
        (Signals { free_provider: true, ..base.clone() }, p.email_free_provider - p.email_corporate),
        (Signals { role_account: true, ..base.clone() }, p.email_role_account),
        (Signals { company: "Contoso", ..base.clone() }, p.complete_company),
        (Signals { title: "Engineer", ..base.clone() }, p.complete_title),
        (Signals { title: "CEO", ..base.clone() }, p.complete_title + p.title_executive),
        (Signals { first_name: "asdf", ..base.clone() }, p.name_fake),
        (Signals { source_malformed: true, ..base.clone() }, p.source_unparsed),
        (
            Signals { phone: PhoneClass::Valid, phone_mobile: false, ..base.clone() },
            p.phone_valid - p.phone_unknown,
        ),
        (
            Signals { phone: PhoneClass::Valid, phone_toll_free_or_premium: true, ..base.clone() },
            p.phone_service_number - p.phone_unknown,
        ),
        (
            Signals { created_at: Some(now() - Duration::from_secs(3600)), ..base.clone() },
            p.recency_24h,
        ),
        (
            Signals { created_at: Some(now() - Duration::from_secs(48 * 3600)), ..base.clone() },
            p.recency_72h,
        ),
        (
            Signals { created_at: Some(now() - Duration::from_secs(10 * 86400)), ..base.clone() },
            p.recency_14d,
        ),
        (
            Signals { created_at: Some(now() - Duration::from_secs(15 * 86400)), ..base.clone() },
            p.recency_expired,
        ),
        (
            Signals { created_at: Some(now() + Duration::from_secs(600)), ..base.clone() },
            p.recency_24h,
        ),
    ];
    for (signals, delta) in cases {
        let after = m.score(&signals, now()).score as i32;
        assert_eq!(after - before, delta, "{signals:?}");
    }
}

#[test]
fn hard_rules_force_low_and_cap_the_score() {
    let m = model();
    let dnc = m.score(&Signals { action: Action::DoNotContact, ..strong() }, now());
    assert_eq!(dnc.quality, Quality::Low);
    assert!(dnc.score < m.threshold());
    assert_eq!(codes_of(&dnc).last(), Some(&codes::RULE_DO_NOT_CONTACT));
    let total: i32 = m.file.base + dnc.factors.iter().map(|f| f.points).sum::<i32>();
    assert_eq!(total.clamp(0, 100).unsigned_abs(), dnc.score, "the factors still add up");

    let spam = m.score(
        &Signals {
            email: EmailClass::Spam,
            disposable: true,
            title: "CEO",
            created_at: Some(now()),
            ..strong()
        },
        now(),
    );
    assert_eq!(spam.quality, Quality::Low);
    assert_eq!(codes_of(&spam).last(), Some(&codes::RULE_SPAM_EMAIL));

    // A model where spam costs nothing still scores a spam email LOW.
    let lenient = BUNDLED.replace("\"email.spam\" = -50", "\"email.spam\" = 50");
    let lenient = Model::from_toml(&lenient).unwrap();
    let s = lenient.score(&Signals { email: EmailClass::Spam, ..strong() }, now());
    assert_eq!(s.quality, Quality::Low);
    assert_eq!(s.score, lenient.threshold() - 1);
}

#[test]
fn the_threshold_is_inclusive_and_scores_clamp() {
    let text = |base: i32, threshold: i32| {
        BUNDLED
            .replace("base = 20", &format!("base = {base}"))
            .replace("threshold = 60", &format!("threshold = {threshold}"))
    };
    let bare = Signals {
        action: Action::Unspecified,
        email: EmailClass::Unknown,
        phone: PhoneClass::Unknown,
        company: "",
        title: "",
        ..strong()
    };
    // bare adds nothing but email.corporate (+10).
    let m = Model::from_toml(&text(50, 60)).unwrap();
    let s = m.score(&bare, now());
    assert_eq!((s.score, s.quality), (60, Quality::High));
    let m = Model::from_toml(&text(49, 60)).unwrap();
    assert_eq!(m.score(&bare, now()).quality, Quality::Low);
    let m = Model::from_toml(&text(100, 60)).unwrap();
    assert_eq!(m.score(&strong(), now()).score, 100);
    let m = Model::from_toml(&text(0, 60)).unwrap();
    let awful = Signals {
        email: EmailClass::Invalid,
        phone: PhoneClass::Invalid,
        first_name: "test",
        ..bare
    };
    assert_eq!(m.score(&awful, now()).score, 0);
}

#[test]
fn the_version_follows_content_not_layout() {
    let a = Model::from_toml(BUNDLED).unwrap();
    assert!(a.version().starts_with("leadcheck-default@"), "{}", a.version());
    assert_eq!(a.version().len(), "leadcheck-default@".len() + 8);
    let reformatted = BUNDLED.replace("# ", "#  ").replace(" = ", "   =   ");
    assert_eq!(Model::from_toml(&reformatted).unwrap().version(), a.version());
    let changed = BUNDLED.replace("\"title.senior\" = 6", "\"title.senior\" = 7");
    assert_ne!(Model::from_toml(&changed).unwrap().version(), a.version());
}

#[test]
fn a_malformed_model_is_refused_naming_the_line() {
    let line_of = |needle: &str| BUNDLED.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let unknown = BUNDLED.replace("\"title.senior\" = 6", "\"title.junior\" = 6");
    let err = Model::from_toml(&unknown).unwrap_err().to_string();
    assert!(err.contains(&format!("line {}", line_of("title.senior"))), "{err}");
    assert!(err.contains("title.junior"), "{err}");

    let out_of_range = BUNDLED.replace("\"name.fake\" = -30", "\"name.fake\" = -300");
    let err = Model::from_toml(&out_of_range).unwrap_err().to_string();
    assert!(err.contains(&format!("line {}", line_of("name.fake"))), "{err}");

    let bad_threshold = BUNDLED.replace("threshold = 60", "threshold = 160");
    let err = Model::from_toml(&bad_threshold).unwrap_err().to_string();
    assert!(err.contains(&format!("line {}", line_of("threshold = 60"))), "{err}");

    let missing = BUNDLED.replace("\"recency.24h\" = 10\n", "");
    let err = Model::from_toml(&missing).unwrap_err().to_string();
    assert!(err.contains("recency.24h"), "{err}");

    let dir = std::env::temp_dir().join(format!("leadcheck-model-{}.toml", std::process::id()));
    std::fs::write(&dir, "name = \"x\"\nbase = \n").unwrap();
    let err = Model::load(&dir).unwrap_err().to_string();
    assert!(err.contains(&dir.display().to_string()) && err.contains("line 2"), "{err}");
    let _ = std::fs::remove_file(&dir);
}

#[test]
fn titles_are_ranked_in_the_seeds_languages() {
    use Seniority::*;
    for (title, expected) in [
        ("CEO", Some(Executive)),
        ("Chief Technology Officer", Some(Executive)),
        ("Co-Founder & CTO", Some(Executive)),
        ("Owner", Some(Executive)),
        ("Managing Director", Some(Executive)),
        ("Director General", Some(Executive)),
        ("Dueña", Some(Executive)),
        ("Sócio-fundador", Some(Executive)),
        ("Генеральный директор", Some(Executive)),
        ("Основатель", Some(Executive)),
        ("VP Sales", Some(Senior)),
        ("Vice President, Marketing", Some(Senior)),
        ("Вице-президент", Some(Senior)),
        ("Vicepresidenta Comercial", Some(Senior)),
        ("Directora de Ventas", Some(Senior)),
        ("Diretor de TI", Some(Senior)),
        ("Head of Procurement", Some(Senior)),
        ("Jefe de Compras", Some(Senior)),
        ("Директор по продажам", Some(Senior)),
        ("Руководитель отдела", Some(Senior)),
        ("Directory Administrator", None),
        ("Software Engineer", None),
        ("Headhunter", None),
        ("", None),
    ] {
        assert_eq!(seniority(title), expected, "{title}");
    }
}

#[test]
fn fake_names_are_caught_and_real_short_ones_pass() {
    for fake in ["test", "Test", "asdf", "qwerty", "asdfgh", "xxxx", "aaa", "n/a", "John2", "йцукен", "zxcvb", "-", "Dummy"] {
        assert!(looks_fake(fake), "{fake}");
    }
    for real in ["Li", "Ng", "Bo", "Al", "Ana", "José", "Анна", "O'Brien", "Zoë", "Qwan", ""] {
        assert!(!looks_fake(real), "{real}");
    }
}

proptest! {
    #[test]
    fn any_strings_score_within_bounds(first in "\\PC{0,20}", title in "\\PC{0,40}", company in "\\PC{0,20}", secs in any::<u64>()) {
        let m = model();
        let created = UNIX_EPOCH.checked_add(Duration::from_secs(secs % (4_000_000_000)));
        let s = Signals { first_name: &first, title: &title, company: &company, created_at: created, ..strong() };
        let score = m.score(&s, now());
        prop_assert!(score.score <= 100);
        prop_assert_eq!(score.quality == Quality::High, score.score >= m.threshold());
    }
}
