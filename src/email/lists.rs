//! Lists: spam and disposable domains, the allowlist, free providers, role accounts and
//! the popular domains that typo suggestions aim at.
//!
//! [`Lists`] is an immutable snapshot: the bundled lists of `data/` (compiled in, parsed
//! once per process) plus what the `--spam-domains` / `--allow-domains` files add or
//! replace. [`ListStore`] holds the current snapshot in an [`ArcSwap`]: a request loads
//! it without a lock, a reload builds the next snapshot off to the side and swaps it in
//! whole, so no request ever sees half a list and none waits for a reload.
//!
//! The address-level suppression list ([`super::suppress`]) is part of the snapshot too:
//! its file and key file are watched and reloaded with the domain lists.
//!
//! List files have one domain a line; `#` starts a comment; blank lines are skipped; a
//! leading `*.` or `.` is dropped (a domain covers its subdomains anyway); IDN entries
//! are converted to ASCII. A line that is not a domain fails the whole file, naming the
//! file and line, so a wrong file (a CSV, a list of addresses) never half-loads.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::codes;
use super::suppress::{Suppressed, SuppressionFiles};
use super::syntax::Address;
use crate::reason::Reason;

/// The bundled disposable-mail domains (see data/README.md for origin and licence).
const DISPOSABLE: &str = include_str!("../../data/disposable_domains.txt");
/// The bundled spam-source domains that are not disposable services.
const SPAM: &str = include_str!("../../data/spam_domains.txt");
/// The bundled allowlist: domains never SPAM whatever the blocklists say.
const ALLOW: &str = include_str!("../../data/allow_domains.txt");
/// The bundled free-provider domains.
const FREE: &str = include_str!("../../data/free_domains.txt");
/// The bundled role-account local parts.
const ROLES: &str = include_str!("../../data/role_accounts.txt");
/// The bundled popular mail domains, most used first.
const POPULAR: &str = include_str!("../../data/popular_domains.txt");

/// The largest list file read, in bytes: ten times the biggest public blocklists, and a
/// guard against pointing the flag at a disk image by mistake.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// How a `--spam-domains` or `--allow-domains` file combines with the bundled list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListMode {
    /// The file adds to the bundled list.
    #[default]
    Extend,
    /// The file takes the place of the bundled list (only for the files given).
    Replace,
}

/// A blocklist hit: which listed domain matched, and whether it is a disposable service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpamMatch {
    /// The listed domain that matched: the address's domain or one of its parents.
    pub domain: String,
    /// The listed domain is a disposable-mail service rather than a spam source.
    pub disposable: bool,
}

impl SpamMatch {
    /// Returns the reason a SPAM verdict carries for this hit.
    pub fn reason(&self) -> Reason {
        if self.disposable {
            Reason::new(
                codes::LIST_DISPOSABLE,
                format!(
                    "the domain is a disposable-mail service (listed: {})",
                    self.domain
                ),
            )
        } else {
            Reason::new(
                codes::LIST_SPAM,
                format!(
                    "the domain is on the spam-source list (listed: {})",
                    self.domain
                ),
            )
        }
    }
}

/// Why a list file could not be loaded; the message names the file, and the line when
/// one line is at fault.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The file could not be opened or read, or is not UTF-8.
    #[error("cannot read list file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("list file {} is larger than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit it broke.
        limit: u64,
    },
    /// A line is not a domain.
    #[error("{}:{line}: {message}", path.display())]
    Entry {
        /// The file.
        path: PathBuf,
        /// The line, counted from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// The lists' hasher. Every address costs five to seven lookups; foldhash is much faster
/// than the standard SipHash on keys this short, and seeded per process like SipHash, so
/// the lists' layout stays unpredictable from outside.
type Hasher = foldhash::fast::RandomState;

/// A set of domains or local parts, shared between snapshots.
type Set = Arc<HashSet<String, Hasher>>;

/// The bundled lists, parsed once per process and shared by every snapshot.
struct Bundled {
    disposable: Set,
    spam: Set,
    allow: Set,
    free: Set,
    roles: Set,
    popular: Arc<[String]>,
}

static BUNDLED: LazyLock<Bundled> = LazyLock::new(|| Bundled {
    disposable: Arc::new(lenient_domains(DISPOSABLE).collect()),
    spam: Arc::new(lenient_domains(SPAM).collect()),
    allow: Arc::new(lenient_domains(ALLOW).collect()),
    free: Arc::new(lenient_domains(FREE).collect()),
    roles: Arc::new(
        entries(ROLES)
            .map(|(_, role)| role.to_lowercase())
            .collect(),
    ),
    popular: lenient_domains(POPULAR).collect(),
});

/// The most domains whose [`DomainFacts`] a snapshot keeps. Real traffic concentrates on
/// a few thousand domains; a stream of unique ones only recomputes what it would anyway.
pub const DOMAIN_MEMO_CAPACITY: usize = 16_384;

/// What the lists say about one domain: all of the email verdict that depends on the
/// domain alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainFacts {
    /// [`Lists::is_free_provider`].
    pub free_provider: bool,
    /// [`Lists::spam_match`].
    pub spam: Option<SpamMatch>,
    /// The typo suggestion ([`super::suggest::suggest`] over the popular domains).
    pub suggestion: Option<String>,
}

/// An immutable snapshot of every list; cheap to clone (the big sets are shared).
///
/// It memoizes [`Lists::domain_facts`]. Clones share the memo, which is right because
/// a snapshot never changes once built: [`Lists::with_files`], the only code that
/// changes one, starts a fresh memo when it is done.
#[derive(Clone)]
pub struct Lists {
    /// The bundled disposable domains; `None` when a spam file replaced them.
    disposable: Option<Set>,
    /// The bundled spam-source domains; `None` when a spam file replaced them.
    spam: Option<Set>,
    /// The spam file's domains, each marked disposable when the bundled disposable list
    /// covers it, so the verdict's `disposable` flag stays right in replace mode too.
    file_spam: HashMap<String, bool, Hasher>,
    /// The bundled allowlist; `None` when an allow file replaced it.
    allow: Option<Set>,
    /// The allow file's domains.
    file_allow: HashSet<String, Hasher>,
    free: Set,
    roles: Set,
    popular: Arc<[String]>,
    /// The suppression list, when one is configured.
    suppressed: Option<Arc<Suppressed>>,
    memo: Arc<quick_cache::sync::Cache<Box<str>, DomainFacts>>,
}

impl fmt::Debug for Lists {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = |set: &Option<Set>| set.as_ref().map(|set| set.len());
        f.debug_struct("Lists")
            .field("disposable", &len(&self.disposable))
            .field("spam", &len(&self.spam))
            .field("file_spam", &self.file_spam.len())
            .field("allow", &len(&self.allow))
            .field("file_allow", &self.file_allow.len())
            .field("free", &self.free.len())
            .field("roles", &self.roles.len())
            .field("popular", &self.popular.len())
            .field("suppressed", &self.suppressed.as_ref().map(|s| s.len()))
            .field("memo", &self.memo.len())
            .finish()
    }
}

impl Lists {
    /// Returns the bundled lists of `data/`, compiled into the binary.
    pub fn bundled() -> Lists {
        let bundled = &*BUNDLED;
        Lists {
            disposable: Some(bundled.disposable.clone()),
            spam: Some(bundled.spam.clone()),
            file_spam: HashMap::default(),
            allow: Some(bundled.allow.clone()),
            file_allow: HashSet::default(),
            free: bundled.free.clone(),
            roles: bundled.roles.clone(),
            popular: bundled.popular.clone(),
            suppressed: None,
            memo: new_memo(),
        }
    }

    /// Builds the lists from the bundled ones and the optional files.
    ///
    /// A spam file extends the bundled spam and disposable lists, or replaces both
    /// ([`ListMode::Replace`]); an allow file extends or replaces the bundled allowlist
    /// the same way. A list without a file stays bundled in either mode.
    pub fn with_files(
        spam: Option<&Path>,
        allow: Option<&Path>,
        mode: ListMode,
    ) -> Result<Lists, ListError> {
        let mut lists = Lists::bundled();
        if let Some(path) = spam {
            let bundled_disposable = &BUNDLED.disposable;
            lists.file_spam = read_domains(path)?
                .into_iter()
                .map(|domain| {
                    let disposable = suffixes(&domain).any(|s| bundled_disposable.contains(s));
                    (domain, disposable)
                })
                .collect();
            if mode == ListMode::Replace {
                lists.disposable = None;
                lists.spam = None;
            }
        }
        if let Some(path) = allow {
            lists.file_allow = read_domains(path)?.into_iter().collect();
            if mode == ListMode::Replace {
                lists.allow = None;
            }
        }
        lists.memo = new_memo();
        Ok(lists)
    }

    /// Finds the domain, or its nearest listed parent, on the spam or disposable lists.
    ///
    /// An allowlisted domain or parent wins over any blocklist entry: allowing
    /// `example.com` clears `mail.example.com` even if that is listed. Case and a
    /// trailing dot do not matter.
    pub fn spam_match(&self, domain: &str) -> Option<SpamMatch> {
        let domain = lookup_key(domain);
        if domain.is_empty() || suffixes(&domain).any(|s| self.allowed(s)) {
            return None;
        }
        let hit = suffixes(&domain).find_map(|s| {
            self.blocked(s).map(|disposable| SpamMatch {
                domain: s.to_string(),
                disposable,
            })
        });
        hit
    }

    /// The facts of a domain, remembered: the free-provider flag, the spam match and the
    /// typo suggestion are a large part of a valid address's validation, and a lead
    /// export repeats its domains.
    pub fn domain_facts(&self, domain: &str) -> DomainFacts {
        if let Some(facts) = self.memo.get(domain) {
            return facts;
        }
        let facts = DomainFacts {
            free_provider: self.is_free_provider(domain),
            spam: self.spam_match(domain),
            suggestion: super::suggest::suggest(domain, &self.popular),
        };
        self.memo.insert(domain.into(), facts.clone());
        facts
    }

    /// Whether the address, as the syntax check parsed it, is on the suppression list.
    pub fn is_suppressed(&self, address: &Address) -> bool {
        self.suppressed
            .as_ref()
            .is_some_and(|list| list.contains(address))
    }

    /// Whether the domain itself is a free mail provider (gmail.com, web.de, ...).
    pub fn is_free_provider(&self, domain: &str) -> bool {
        self.free.contains(lookup_key(domain).as_ref())
    }

    /// Whether the local part names a role (info, sales, noreply, ...), not a person.
    ///
    /// Case does not matter, nor a `+tag` or quotes: `"Sales+EU"` is a role account.
    pub fn is_role_account(&self, local: &str) -> bool {
        let local = local.trim_matches('"');
        let base = local.split('+').next().unwrap_or(local);
        !base.is_empty() && self.roles.contains(base.to_lowercase().as_str())
    }

    /// Returns the popular mail domains typo suggestions aim at, most used first.
    pub fn popular_domains(&self) -> &[String] {
        &self.popular
    }

    /// The bundled free-provider domains, for tests that sweep real domains.
    #[cfg(test)]
    pub(crate) fn free_domains(&self) -> impl Iterator<Item = &str> {
        self.free.iter().map(String::as_str)
    }

    /// Whether exactly this domain is allowlisted.
    fn allowed(&self, domain: &str) -> bool {
        self.file_allow.contains(domain)
            || self.allow.as_ref().is_some_and(|set| set.contains(domain))
    }

    /// Whether exactly this domain is blocklisted, and if so whether it is disposable.
    fn blocked(&self, domain: &str) -> Option<bool> {
        if let Some(&disposable) = self.file_spam.get(domain) {
            return Some(disposable);
        }
        if self
            .disposable
            .as_ref()
            .is_some_and(|set| set.contains(domain))
        {
            return Some(true);
        }
        if self.spam.as_ref().is_some_and(|set| set.contains(domain)) {
            return Some(false);
        }
        None
    }
}

/// Lower-cases a domain and drops a trailing root dot, without allocating when it is
/// already in that form (the validator passes lower-case ASCII).
fn lookup_key(domain: &str) -> Cow<'_, str> {
    let domain = domain.trim_end_matches('.');
    if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(domain.to_ascii_lowercase())
    } else {
        Cow::Borrowed(domain)
    }
}

fn new_memo() -> Arc<quick_cache::sync::Cache<Box<str>, DomainFacts>> {
    Arc::new(quick_cache::sync::Cache::new(DOMAIN_MEMO_CAPACITY))
}

/// The domain and each parent: `a.b.c`, `b.c`, `c`.
fn suffixes(domain: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(domain), |d| {
        d.split_once('.').map(|(_, parent)| parent)
    })
    .filter(|d| !d.is_empty())
}

/// The entries of a list text: line number (from 1) and entry, comments and blanks gone.
fn entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(index, line)| {
        let entry = line.split('#').next().unwrap_or_default().trim();
        (!entry.is_empty()).then_some((index + 1, entry))
    })
}

/// The domains of a bundled list; an entry that is not a domain is skipped (a test
/// keeps the bundled files clean, so none is).
fn lenient_domains(text: &str) -> impl Iterator<Item = String> + '_ {
    entries(text).filter_map(|(_, entry)| normalize_domain(entry).ok())
}

/// Parses a list text strictly: every entry must be a domain.
fn parse_domains(text: &str, path: &Path) -> Result<Vec<String>, ListError> {
    entries(text)
        .map(|(line, entry)| {
            normalize_domain(entry).map_err(|message| ListError::Entry {
                path: path.to_path_buf(),
                line,
                message,
            })
        })
        .collect()
}

/// Reads and parses a list file, refusing one over [`MAX_FILE_BYTES`].
fn read_domains(path: &Path) -> Result<Vec<String>, ListError> {
    parse_domains(&read_text(path)?, path)
}

/// Reads a list file as UTF-8 text, refusing one over [`MAX_FILE_BYTES`].
pub(super) fn read_text(path: &Path) -> Result<String, ListError> {
    String::from_utf8(read_capped(path, MAX_FILE_BYTES)?).map_err(|err| ListError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, err.utf8_error()),
    })
}

/// Reads at most `limit` bytes of a file, refusing a larger one.
pub(super) fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ListError> {
    let read_error = |source| ListError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(read_error)?
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(ListError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

/// Turns a list entry into a lower-case ASCII domain, or says why it is not one.
fn normalize_domain(entry: &str) -> Result<String, String> {
    let shown: String = entry.chars().take(64).collect();
    let bare = entry
        .strip_prefix("*.")
        .or_else(|| entry.strip_prefix('.'))
        .unwrap_or(entry);
    let ascii = Uts46::new()
        .to_ascii(
            bare.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Allow,
            DnsLength::Ignore,
        )
        .map_err(|_| format!("not a domain: {shown:?}"))?;
    let labels_ok = ascii
        .split('.')
        .all(|label| !label.is_empty() && label.len() <= 63);
    if ascii.is_empty() || ascii.len() > 253 || !labels_ok {
        return Err(format!("not a domain: {shown:?}"));
    }
    Ok(ascii.into_owned())
}

/// What identifies one version of a list file: a change of any part means a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    /// The inode, so an atomic replace (write a new file, rename it over) is seen even
    /// within the modification time's granularity.
    inode: u64,
}

impl Stamp {
    /// Stamps a file; `None` when it cannot be read (then a reload reports why).
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        })
    }
}

/// The process's lists: the current snapshot, and the files it is rebuilt from.
pub struct ListStore {
    spam: Option<PathBuf>,
    allow: Option<PathBuf>,
    mode: ListMode,
    suppression: Option<SuppressionFiles>,
    current: ArcSwap<Lists>,
    /// The file stamps the last reload attempt saw. The lock also serialises reloads,
    /// so a SIGHUP and the watcher never build two snapshots at once and an older
    /// build never lands after a newer one.
    seen: Mutex<Vec<Option<Stamp>>>,
}

impl fmt::Debug for ListStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListStore")
            .field("spam", &self.spam)
            .field("allow", &self.allow)
            .field("mode", &self.mode)
            .field("suppression", &self.suppression)
            .field("current", &*self.current.load())
            .finish()
    }
}

impl ListStore {
    /// Loads the lists from the bundled data and the optional files; a bad file is an
    /// error here, so the server does not start with lists it did not mean.
    pub fn new(
        spam: Option<PathBuf>,
        allow: Option<PathBuf>,
        mode: ListMode,
    ) -> Result<ListStore, ListError> {
        ListStore::with_suppression(spam, allow, mode, None)
    }

    /// [`ListStore::new`] with an address suppression list, whose two files are watched
    /// and reloaded with the others.
    pub fn with_suppression(
        spam: Option<PathBuf>,
        allow: Option<PathBuf>,
        mode: ListMode,
        suppression: Option<SuppressionFiles>,
    ) -> Result<ListStore, ListError> {
        let store = ListStore {
            spam,
            allow,
            mode,
            suppression,
            current: ArcSwap::from_pointee(Lists::bundled()),
            seen: Mutex::new(Vec::new()),
        };
        *store.seen.lock().unwrap_or_else(PoisonError::into_inner) = store.stamps();
        store.current.store(Arc::new(store.build()?));
        Ok(store)
    }

    /// Returns the current snapshot, without taking a lock.
    pub fn current(&self) -> Arc<Lists> {
        self.current.load_full()
    }

    /// Rebuilds the lists from the files and swaps the new snapshot in.
    ///
    /// On error the current snapshot stays in place and the error is returned for the
    /// caller to log. Either way the files' state is remembered, so the watcher retries
    /// a bad file only once it changes again.
    pub fn reload(&self) -> Result<(), ListError> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        *seen = self.stamps();
        self.rebuild()
    }

    /// Reloads when a file changed since the last reload attempt; `Ok(true)` when it
    /// reloaded.
    fn reload_if_changed(&self) -> Result<bool, ListError> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.stamps();
        if now == *seen {
            return Ok(false);
        }
        *seen = now;
        self.rebuild().map(|()| true)
    }

    /// Builds a snapshot off to the side and swaps it in whole.
    fn rebuild(&self) -> Result<(), ListError> {
        let lists = self.build();
        crate::metrics::record_lists_reload(lists.is_ok());
        self.current.store(Arc::new(lists?));
        Ok(())
    }

    /// Builds a snapshot from the files.
    fn build(&self) -> Result<Lists, ListError> {
        let mut lists = Lists::with_files(self.spam.as_deref(), self.allow.as_deref(), self.mode)?;
        if let Some(files) = &self.suppression {
            lists.suppressed = Some(Arc::new(Suppressed::load(files)?));
        }
        Ok(lists)
    }

    /// Stamps the configured files, in a fixed order.
    fn stamps(&self) -> Vec<Option<Stamp>> {
        let suppression = self
            .suppression
            .iter()
            .flat_map(|files| [&files.file, &files.key_file]);
        [&self.spam, &self.allow]
            .into_iter()
            .flatten()
            .chain(suppression)
            .map(|path| Stamp::of(path))
            .collect()
    }

    /// Starts a task that checks the files every `every` and reloads when one changed
    /// (modification time, length or inode), logging the outcome.
    ///
    /// Must be called inside a tokio runtime. The task ends when the store is dropped;
    /// with no list files it ends at once. Reading and parsing run on the blocking
    /// pool, never on a thread that serves requests.
    pub fn spawn_watcher(self: &Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        let store: Weak<ListStore> = Arc::downgrade(self);
        let watch = self.spam.is_some() || self.allow.is_some() || self.suppression.is_some();
        // A zero period would make tokio's interval panic; a millisecond is the floor.
        let every = every.max(Duration::from_millis(1));
        tokio::spawn(async move {
            if !watch {
                return;
            }
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(store) = store.upgrade() else {
                    return;
                };
                match tokio::task::spawn_blocking(move || store.reload_if_changed()).await {
                    Ok(Ok(true)) => tracing::info!("domain lists reloaded: a list file changed"),
                    Ok(Ok(false)) => {}
                    Ok(Err(err)) => {
                        tracing::error!(%err, "list reload failed; keeping the old lists");
                    }
                    Err(err) => tracing::error!(%err, "list reload task failed"),
                }
            }
        })
    }
}

#[cfg(test)]
#[path = "lists_tests.rs"]
mod tests;
