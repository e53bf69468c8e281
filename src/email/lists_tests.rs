//! Tests of the lists: bundled data, matching, files, modes, reload and the watcher.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;

/// Writes a list file in a fresh temporary directory, returning both (the directory
/// must outlive the test's use of the file).
fn list_file(content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("list.txt");
    std::fs::write(&path, content).expect("write list");
    (dir, path)
}

fn spam(lists: &Lists, domain: &str) -> Option<(String, bool)> {
    lists
        .spam_match(domain)
        .map(|hit| (hit.domain, hit.disposable))
}

#[test]
fn bundled_files_parse_strictly_and_are_not_trivially_small() {
    for (name, text, at_least) in [
        ("disposable_domains.txt", DISPOSABLE, 5_000),
        ("free_domains.txt", FREE, 3_000),
        ("allow_domains.txt", ALLOW, 50),
        ("popular_domains.txt", POPULAR, 50),
        ("spam_domains.txt", SPAM, 0),
    ] {
        let parsed = parse_domains(text, Path::new(name))
            .unwrap_or_else(|err| panic!("bundled {name} does not parse: {err}"));
        assert!(parsed.len() >= at_least, "{name}: {} entries", parsed.len());
        // Every entry is already in the stored form: lower-case ASCII, nothing to map.
        for (stored, (line, entry)) in parsed.iter().zip(entries(text)) {
            assert_eq!(stored, entry, "{name}:{line}");
        }
    }
    let lists = Lists::bundled();
    assert!(lists.roles.len() >= 500);
    assert_eq!(
        lists.popular_domains().first().map(String::as_str),
        Some("gmail.com")
    );
}

#[test]
fn disposable_domains_and_their_subdomains_are_spam() {
    let lists = Lists::bundled();
    let hit = Some(("mailinator.com".to_string(), true));
    assert_eq!(spam(&lists, "mailinator.com"), hit);
    assert_eq!(spam(&lists, "x.mailinator.com"), hit);
    assert_eq!(spam(&lists, "a.b.mailinator.com"), hit);
    assert_eq!(spam(&lists, "MAILINATOR.COM."), hit);
    assert_eq!(
        lists
            .spam_match("x.mailinator.com")
            .map(|m| m.reason().code),
        Some(codes::LIST_DISPOSABLE)
    );
    assert_eq!(spam(&lists, "10minutemail.com").map(|m| m.1), Some(true));
}

#[test]
fn matching_is_by_whole_labels_not_substrings() {
    let lists = Lists::bundled();
    assert_eq!(spam(&lists, "fabrikam-mailinator.com"), None);
    assert_eq!(spam(&lists, "mailinator.com.contoso.com"), None);
    assert_eq!(spam(&lists, "contoso.com"), None);
    assert_eq!(spam(&lists, "com"), None);
    assert_eq!(spam(&lists, ""), None);
}

#[test]
fn no_free_or_popular_provider_is_bundled_spam() {
    let lists = Lists::bundled();
    for domain in lists.free.iter() {
        assert_eq!(spam(&lists, domain), None, "free provider {domain} is spam");
    }
    for domain in lists.popular_domains() {
        assert!(
            lists.is_free_provider(domain),
            "popular {domain} is not a free provider"
        );
        assert!(lists.allowed(domain), "popular {domain} is not allowlisted");
    }
}

#[test]
fn free_providers_match_exactly() {
    let lists = Lists::bundled();
    assert!(lists.is_free_provider("gmail.com"));
    assert!(lists.is_free_provider("GMAIL.com"));
    assert!(lists.is_free_provider("web.de"));
    assert!(lists.is_free_provider("yahoo.co.uk"));
    assert!(!lists.is_free_provider("contoso.com"));
    assert!(!lists.is_free_provider("mail.contoso.com"));
    assert!(!lists.is_free_provider("sub.gmail.com"));
}

#[test]
fn role_accounts_ignore_case_tags_and_quotes() {
    let lists = Lists::bundled();
    for role in [
        "info",
        "Sales",
        "sales+emea",
        "ADMIN",
        "noreply",
        "no-reply",
        "NoReply",
        "support",
        "contact",
        "marketing",
        "hr",
        "billing",
        "webmaster",
        "postmaster",
        "abuse",
        "\"info\"",
    ] {
        assert!(lists.is_role_account(role), "{role} is a role");
    }
    for person in [
        "john",
        "john.smith",
        "jane+sales",
        "",
        "+info",
        "informatics",
    ] {
        assert!(!lists.is_role_account(person), "{person} is not a role");
    }
}

#[test]
fn the_allowlist_overrides_the_blocklist_at_any_level() {
    let (_dir, allow) = list_file("mailinator.com\nexample.org\n");
    let (_dir2, spam_file) = list_file("bad.example.org\n");
    let lists = Lists::with_files(Some(&spam_file), Some(&allow), ListMode::Extend).unwrap();
    assert_eq!(spam(&lists, "mailinator.com"), None);
    assert_eq!(spam(&lists, "x.mailinator.com"), None);
    // The allowlisted parent wins over the more specific blocked child.
    assert_eq!(spam(&lists, "bad.example.org"), None);
    // Other disposable domains are still caught.
    assert!(spam(&lists, "10minutemail.com").is_some());
}

#[test]
fn extend_adds_to_the_bundled_lists() {
    let (_dir, path) = list_file("spam-source.example\n");
    let lists = Lists::with_files(Some(&path), None, ListMode::Extend).unwrap();
    assert_eq!(
        spam(&lists, "mx.spam-source.example"),
        Some(("spam-source.example".to_string(), false))
    );
    assert_eq!(
        lists
            .spam_match("spam-source.example")
            .map(|m| m.reason().code),
        Some(codes::LIST_SPAM)
    );
    assert_eq!(spam(&lists, "mailinator.com").map(|m| m.1), Some(true));
}

#[test]
fn replace_drops_the_bundled_lists_but_keeps_disposable_knowledge() {
    let (_dir, path) = list_file("spam-source.example\nmailinator.com\n");
    let lists = Lists::with_files(Some(&path), None, ListMode::Replace).unwrap();
    assert_eq!(spam(&lists, "10minutemail.com"), None);
    assert_eq!(
        spam(&lists, "x.mailinator.com"),
        Some(("mailinator.com".to_string(), true))
    );
    assert_eq!(
        spam(&lists, "spam-source.example"),
        Some(("spam-source.example".to_string(), false))
    );
    // Without an allow file the bundled allowlist stays, even in replace mode.
    let (_dir2, gmail) = list_file("gmail.com\n");
    let lists = Lists::with_files(Some(&gmail), None, ListMode::Replace).unwrap();
    assert_eq!(spam(&lists, "gmail.com"), None);
}

#[test]
fn an_allow_file_in_replace_mode_drops_the_bundled_allowlist() {
    let (_dir, spam_file) = list_file("gmail.com\n");
    let (_dir2, allow) = list_file("example.net\n");
    let extend = Lists::with_files(Some(&spam_file), Some(&allow), ListMode::Extend).unwrap();
    assert_eq!(spam(&extend, "gmail.com"), None);
    let replace = Lists::with_files(Some(&spam_file), Some(&allow), ListMode::Replace).unwrap();
    assert_eq!(
        spam(&replace, "gmail.com"),
        Some(("gmail.com".to_string(), false))
    );
}

#[test]
fn list_files_allow_comments_wildcards_case_and_idn() {
    let text = "# a comment\n\n  Spam-One.example  # trailing note\n*.two.example\n.three.example\nbücher.example\n";
    let (_dir, path) = list_file(text);
    let lists = Lists::with_files(Some(&path), None, ListMode::Replace).unwrap();
    for (domain, listed) in [
        ("spam-one.example", "spam-one.example"),
        ("a.two.example", "two.example"),
        ("three.example", "three.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ] {
        assert_eq!(spam(&lists, domain).map(|m| m.0), Some(listed.to_string()));
    }
    assert_eq!(lists.file_spam.len(), 4);
}

#[test]
fn a_bad_line_fails_the_file_naming_file_and_line() {
    let (_dir, path) = list_file("good.example\n# fine\njohn@example.com\n");
    let err = Lists::with_files(Some(&path), None, ListMode::Extend).unwrap_err();
    assert!(matches!(err, ListError::Entry { line: 3, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("list.txt:3:"), "{message}");
    let err = ListStore::new(Some(path.clone()), None, ListMode::Extend).unwrap_err();
    assert!(matches!(err, ListError::Entry { line: 3, .. }), "{err:?}");
}

#[test]
fn a_missing_or_binary_file_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let err = Lists::with_files(None, Some(&missing), ListMode::Extend).unwrap_err();
    assert!(matches!(err, ListError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.txt"));
    let binary = dir.path().join("binary.txt");
    std::fs::File::create(&binary)
        .and_then(|mut f| f.write_all(&[0xff, 0xfe, 0x00, 0x80]))
        .unwrap();
    let err = Lists::with_files(Some(&binary), None, ListMode::Extend).unwrap_err();
    assert!(matches!(err, ListError::Read { .. }), "{err:?}");
}

#[test]
fn reload_swaps_in_the_new_file_and_a_bad_file_keeps_the_old_snapshot() {
    let (_dir, path) = list_file("first.example\n");
    let store = ListStore::new(Some(path.clone()), None, ListMode::Extend).unwrap();
    let before = store.current();
    assert!(before.spam_match("first.example").is_some());

    std::fs::write(&path, "second.example\n").unwrap();
    // Nothing changes until a reload.
    assert!(store.current().spam_match("second.example").is_none());
    store.reload().unwrap();
    let after = store.current();
    assert!(after.spam_match("second.example").is_some());
    assert!(after.spam_match("first.example").is_none());
    // A snapshot taken before the reload is untouched: readers never see a mix.
    assert!(before.spam_match("first.example").is_some());
    assert!(before.spam_match("second.example").is_none());

    std::fs::write(&path, "third.example\nthis is not a domain\n").unwrap();
    let err = store.reload().unwrap_err();
    assert!(matches!(err, ListError::Entry { line: 2, .. }), "{err:?}");
    assert!(store.current().spam_match("second.example").is_some());
    assert!(store.current().spam_match("third.example").is_none());

    std::fs::remove_file(&path).unwrap();
    assert!(matches!(store.reload(), Err(ListError::Read { .. })));
    assert!(store.current().spam_match("second.example").is_some());
}

#[test]
fn reload_if_changed_reloads_only_on_change_and_tries_a_bad_file_once() {
    let (_dir, path) = list_file("first.example\n");
    let store = ListStore::new(Some(path.clone()), None, ListMode::Extend).unwrap();
    assert!(!store.reload_if_changed().unwrap());
    std::fs::write(&path, "second.example\n").unwrap();
    assert!(store.reload_if_changed().unwrap());
    assert!(store.current().spam_match("second.example").is_some());
    std::fs::write(&path, "bad entry\n").unwrap();
    assert!(store.reload_if_changed().is_err());
    // The bad version was seen: no second attempt (and no second error log) until it
    // changes again.
    assert!(!store.reload_if_changed().unwrap());
    assert!(store.current().spam_match("second.example").is_some());
}

#[tokio::test]
async fn the_watcher_sees_a_changed_file_and_stops_with_the_store() {
    let (_dir, path) = list_file("first.example\n");
    let store = Arc::new(ListStore::new(Some(path.clone()), None, ListMode::Extend).unwrap());
    let watcher = store.spawn_watcher(Duration::from_millis(5));
    std::fs::write(&path, "first.example\nchanged.example\n").unwrap();
    // Poll the outcome; the bound only keeps a broken watcher from hanging the test.
    let mut seen = false;
    for _ in 0..2_000 {
        if store.current().spam_match("changed.example").is_some() {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(seen, "the watcher never reloaded the changed file");
    drop(store);
    let ended = tokio::time::timeout(Duration::from_secs(60), watcher).await;
    assert!(
        matches!(ended, Ok(Ok(()))),
        "the watcher outlived its store"
    );
}

#[tokio::test]
async fn a_watcher_without_files_ends_at_once() {
    let store = Arc::new(ListStore::new(None, None, ListMode::Extend).unwrap());
    let ended = tokio::time::timeout(
        Duration::from_secs(60),
        store.spawn_watcher(Duration::from_secs(3600)),
    )
    .await;
    assert!(matches!(ended, Ok(Ok(()))));
    assert!(store.current().spam_match("mailinator.com").is_some());
}

#[test]
fn domain_facts_are_the_lists_answers_and_a_reload_forgets_them() {
    let (_dir, path) = list_file("first.example\n");
    let store = ListStore::new(Some(path.clone()), None, ListMode::Extend).unwrap();
    let lists = store.current();
    for domain in [
        "gmail.com",
        "gmial.com",
        "mailinator.com",
        "second.example",
        "contoso.com",
    ] {
        let expected = DomainFacts {
            free_provider: lists.is_free_provider(domain),
            spam: lists.spam_match(domain),
            suggestion: crate::email::suggest::suggest(domain, lists.popular_domains()),
        };
        // Asked twice: computed, then remembered.
        assert_eq!(lists.domain_facts(domain), expected, "{domain}");
        assert_eq!(lists.domain_facts(domain), expected, "{domain}");
    }
    assert!(lists.domain_facts("gmail.com").free_provider);
    assert_eq!(
        lists.domain_facts("gmial.com").suggestion.as_deref(),
        Some("gmail.com")
    );
    assert!(lists.domain_facts("mailinator.com").spam.is_some());
    assert!(lists.domain_facts("second.example").spam.is_none());

    // The next snapshot lists the domain the old one remembered as clean.
    std::fs::write(&path, "second.example\n").unwrap();
    store.reload().unwrap();
    assert!(store
        .current()
        .domain_facts("second.example")
        .spam
        .is_some());
    assert!(lists.domain_facts("second.example").spam.is_none());
}

/// A suppression list of `addresses`, made with `key`, in a fresh directory.
fn suppression_files(
    key: &[u8],
    addresses: &str,
) -> (tempfile::TempDir, super::super::suppress::SuppressionFiles) {
    use super::super::suppress::{hash_lines, SuppressionFiles, SuppressionKey};
    let dir = tempfile::tempdir().expect("temp dir");
    let files = SuppressionFiles {
        file: dir.path().join("suppressed.txt"),
        key_file: dir.path().join("suppression.key"),
    };
    std::fs::write(&files.key_file, key).unwrap();
    let mut text = Vec::new();
    hash_lines(
        &SuppressionKey::new(key).unwrap(),
        addresses.as_bytes(),
        &mut text,
    )
    .unwrap();
    std::fs::write(&files.file, text).unwrap();
    (dir, files)
}

fn suppressed(lists: &Lists, address: &str) -> bool {
    lists.is_suppressed(&super::super::syntax::parse(address).unwrap())
}

#[test]
fn the_suppression_list_reloads_with_the_lists_and_a_bad_file_keeps_the_old_one() {
    const KEY: &[u8] = b"lists-test-suppression-key";
    let (_dir, files) = suppression_files(KEY, "trap@corp.example\n");
    let store =
        ListStore::with_suppression(None, None, ListMode::Extend, Some(files.clone())).unwrap();
    let before = store.current();
    assert!(suppressed(&before, "Trap@Corp.example"));
    assert!(!suppressed(&before, "other@corp.example"));
    // Without a list nothing is suppressed.
    assert!(!suppressed(&Lists::bundled(), "trap@corp.example"));

    // The file rewritten: the watcher's check sees it, the new snapshot has the new list.
    let (_dir2, next) = suppression_files(KEY, "other@corp.example\nthird@corp.example\n");
    std::fs::rename(&next.file, &files.file).unwrap();
    assert!(store.reload_if_changed().unwrap());
    let after = store.current();
    assert!(!suppressed(&after, "trap@corp.example"));
    assert!(suppressed(&after, "other@corp.example"));
    assert!(
        suppressed(&before, "trap@corp.example"),
        "old snapshots stay"
    );

    // A new key alone is a change too; with the old file it matches nothing.
    std::fs::write(&files.key_file, b"a-rotated-key-of-some-length").unwrap();
    assert!(store.reload_if_changed().unwrap());
    assert!(!suppressed(&store.current(), "other@corp.example"));
    std::fs::write(&files.key_file, KEY).unwrap();
    store.reload().unwrap();
    assert!(suppressed(&store.current(), "other@corp.example"));

    // A short key, or a file of addresses in clear, fails the reload: the list in force
    // stays.
    std::fs::write(&files.key_file, b"short").unwrap();
    assert!(store.reload().is_err());
    std::fs::write(&files.key_file, KEY).unwrap();
    std::fs::write(&files.file, "other@corp.example\n").unwrap();
    let err = store.reload().unwrap_err();
    assert!(matches!(err, ListError::Entry { line: 1, .. }), "{err:?}");
    assert!(!err.to_string().contains("other@"), "{err}");
    assert!(suppressed(&store.current(), "other@corp.example"));

    // A bad file at start is an error, as for the domain lists.
    assert!(ListStore::with_suppression(None, None, ListMode::Extend, Some(files)).is_err());
}
