//! A scripted SMTP server on 127.0.0.1 for tests: it answers the SMTP probe with the
//! replies a test sets, and counts what it saw.
//!
//! Not part of the service. It is public (and hidden from the docs) so that integration
//! tests under `tests/` can use it as well as the unit tests of [`crate::email::smtp`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use leadcheck::testkit::smtp_server::{Script, SmtpResponder};
//! let responder = SmtpResponder::start(
//!     Script::new()
//!         .rcpt_reply("alice", "250 2.1.5 ok")
//!         .default_rcpt_reply("550 5.1.1 user unknown"),
//! )
//! .await?;
//! // point the probe at 127.0.0.1, port responder.port(), allow_private = true
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::email::smtp::HostResolver;

/// Longest command line the responder reads before hanging up.
const MAX_LINE: usize = 4096;

/// The replies a responder gives. Each reply is written as given plus CRLF, so a
/// multi-line reply is written with `\r\n` inside (`"550-5.1.1 a\r\n550 5.1.1 b"`).
#[derive(Debug, Clone)]
pub struct Script {
    /// The greeting; `None` stalls: the connection is accepted and nothing is said.
    greeting: Option<String>,
    /// The first this-many sessions stall whatever the greeting.
    stall_first: usize,
    ehlo: String,
    mail: String,
    /// Replies to RCPT TO by lower-cased local part.
    rcpt: HashMap<String, String>,
    default_rcpt: String,
    /// A pause before each reply to RCPT TO, so that concurrent sessions overlap.
    rcpt_delay: Duration,
    /// How a hostile server greets instead, if it does.
    hostile: Option<Hostile>,
    /// Each reply is written in pieces spread over this long.
    drip: Duration,
    /// The first this-many sessions answer every RCPT TO with this reply.
    greylist: Option<(usize, String)>,
    /// A pause before the greeting: a slow gateway, or one that makes clients wait.
    greeting_delay: Duration,
}

/// A greeting no real server sends, for tests of the probe's limits.
#[derive(Debug, Clone, Copy)]
enum Hostile {
    /// `220 ` and then this many bytes without a newline; the connection stays open.
    Flood(usize),
    /// `220-` lines, one after the other, until the client goes away.
    Endless,
}

impl Default for Script {
    fn default() -> Self {
        Script::new()
    }
}

impl Script {
    /// Makes a script that accepts everything: a 220 greeting, EHLO with SMTPUTF8, 250 to
    /// MAIL FROM and to every RCPT TO.
    pub fn new() -> Script {
        Script {
            greeting: Some("220 responder.test ESMTP ready".to_string()),
            stall_first: 0,
            ehlo: "250-responder.test\r\n250-8BITMIME\r\n250 SMTPUTF8".to_string(),
            mail: "250 2.1.0 sender ok".to_string(),
            rcpt: HashMap::new(),
            default_rcpt: "250 2.1.5 recipient ok".to_string(),
            rcpt_delay: Duration::ZERO,
            hostile: None,
            drip: Duration::ZERO,
            greylist: None,
            greeting_delay: Duration::ZERO,
        }
    }

    /// Answers every RCPT TO of the first `sessions` sessions with `reply` (such as
    /// `"451 4.7.1 greylisted, try again in 1 second"`), then as scripted: a greylisting
    /// server that lets a retry through.
    pub fn greylist_first_sessions(mut self, sessions: usize, reply: &str) -> Script {
        self.greylist = Some((sessions, reply.to_string()));
        self
    }

    /// Greets with `220 ` followed by `bytes` bytes and no newline, then holds the
    /// connection open: a client that reads to the newline buffers all of it.
    pub fn flood_greeting(mut self, bytes: usize) -> Script {
        self.hostile = Some(Hostile::Flood(bytes));
        self
    }

    /// Greets with a multi-line reply that never ends (`220-` lines until the client
    /// goes away).
    pub fn endless_greeting(mut self) -> Script {
        self.hostile = Some(Hostile::Endless);
        self
    }

    /// Writes every reply in pieces spread over `per_reply`: a server that drips its
    /// answers, each within a timeout the client may have for one reply.
    pub fn drip(mut self, per_reply: Duration) -> Script {
        self.drip = per_reply;
        self
    }

    /// Sets the greeting, such as `"554 5.7.1 no service"`.
    pub fn greeting(mut self, reply: &str) -> Script {
        self.greeting = Some(reply.to_string());
        self
    }

    /// Greets only after `delay`, as gateways that make clients wait do.
    pub fn greeting_delay(mut self, delay: Duration) -> Script {
        self.greeting_delay = delay;
        self
    }

    /// Accepts connections and never greets: the client must time out.
    pub fn stall_greeting(mut self) -> Script {
        self.greeting = None;
        self
    }

    /// Stalls the first `sessions` sessions (no greeting), then behaves as scripted: one
    /// responder then plays a dead exchanger followed by a live one.
    pub fn stall_first_sessions(mut self, sessions: usize) -> Script {
        self.stall_first = sessions;
        self
    }

    /// Sets the reply to EHLO.
    pub fn ehlo_reply(mut self, reply: &str) -> Script {
        self.ehlo = reply.to_string();
        self
    }

    /// Sets the reply to MAIL FROM.
    pub fn mail_reply(mut self, reply: &str) -> Script {
        self.mail = reply.to_string();
        self
    }

    /// Sets the reply to RCPT TO for one local part (compared case-insensitively).
    pub fn rcpt_reply(mut self, local_part: &str, reply: &str) -> Script {
        self.rcpt
            .insert(local_part.to_lowercase(), reply.to_string());
        self
    }

    /// Sets the reply to RCPT TO for every local part without its own reply.
    pub fn default_rcpt_reply(mut self, reply: &str) -> Script {
        self.default_rcpt = reply.to_string();
        self
    }

    /// Pauses before each reply to RCPT TO, so that concurrent sessions overlap.
    pub fn rcpt_delay(mut self, delay: Duration) -> Script {
        self.rcpt_delay = delay;
        self
    }

    fn rcpt_for(&self, local_part: &str) -> &str {
        self.rcpt
            .get(&local_part.to_lowercase())
            .unwrap_or(&self.default_rcpt)
    }
}

/// What a responder saw.
#[derive(Debug, Default)]
struct Stats {
    sessions: AtomicUsize,
    active: AtomicUsize,
    max_active: AtomicUsize,
    rcpts: AtomicUsize,
    quits: AtomicUsize,
    data: AtomicUsize,
    /// Bytes of replies written (accepted by the socket).
    sent: AtomicUsize,
    recipients: Mutex<Vec<String>>,
}

/// A scripted SMTP server on 127.0.0.1 and an ephemeral port; it stops when dropped.
#[derive(Debug)]
pub struct SmtpResponder {
    addr: SocketAddr,
    stats: Arc<Stats>,
    task: JoinHandle<()>,
}

impl SmtpResponder {
    /// Binds 127.0.0.1:0 and serves `script` until dropped.
    pub async fn start(script: Script) -> io::Result<SmtpResponder> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(Stats::default());
        let script = Arc::new(script);
        let task = tokio::spawn(accept(listener, script, stats.clone()));
        Ok(SmtpResponder { addr, stats, task })
    }

    /// Returns the address the responder listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the port the responder listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Returns how many connections were accepted.
    pub fn sessions(&self) -> usize {
        self.stats.sessions.load(Ordering::SeqCst)
    }

    /// Returns the most sessions that were open at once (a session ends at QUIT or when
    /// the client hangs up).
    pub fn max_concurrent_sessions(&self) -> usize {
        self.stats.max_active.load(Ordering::SeqCst)
    }

    /// Returns how many RCPT TO commands arrived.
    pub fn rcpt_count(&self) -> usize {
        self.stats.rcpts.load(Ordering::SeqCst)
    }

    /// Returns the recipients of every RCPT TO, in order of arrival.
    pub fn recipients(&self) -> Vec<String> {
        self.stats
            .recipients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Returns how many QUIT commands arrived.
    pub fn quits(&self) -> usize {
        self.stats.quits.load(Ordering::SeqCst)
    }

    /// Returns how many DATA commands arrived (a probe must never send one).
    pub fn data_commands(&self) -> usize {
        self.stats.data.load(Ordering::SeqCst)
    }

    /// Returns how many bytes of replies the socket took from the responder: what the
    /// client read, plus what the kernel's buffers held when it stopped reading.
    pub fn bytes_sent(&self) -> usize {
        self.stats.sent.load(Ordering::SeqCst)
    }
}

impl Drop for SmtpResponder {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every session.
        self.task.abort();
    }
}

/// Accepts connections and serves each in a task of its own.
async fn accept(listener: TcpListener, script: Arc<Script>, stats: Arc<Stats>) {
    let mut sessions = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let index = stats.sessions.fetch_add(1, Ordering::SeqCst);
        sessions.spawn(serve(stream, script.clone(), stats.clone(), index));
        while sessions.try_join_next().is_some() {}
    }
}

/// Counts a session as open until it ends or says QUIT.
struct Open {
    stats: Arc<Stats>,
    open: bool,
}

impl Open {
    fn enter(stats: &Arc<Stats>) -> Open {
        let now = stats.active.fetch_add(1, Ordering::SeqCst) + 1;
        stats.max_active.fetch_max(now, Ordering::SeqCst);
        Open {
            stats: stats.clone(),
            open: true,
        }
    }

    fn leave(&mut self) {
        if self.open {
            self.open = false;
            self.stats.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.leave();
    }
}

/// Serves one session by the script.
async fn serve(stream: TcpStream, script: Arc<Script>, stats: Arc<Stats>, index: usize) {
    let mut open = Open::enter(&stats);
    let (read, write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if let Some(hostile) = script.hostile {
        // Holds `open` until the client goes away.
        return greet_hostile(hostile, read_until_gone(lines), write, &stats).await;
    }
    let stall = index < script.stall_first || script.greeting.is_none();
    let mut send = Sender {
        write,
        drip: script.drip,
        stats: &stats,
    };
    if let (false, Some(greeting)) = (stall, &script.greeting) {
        tokio::time::sleep(script.greeting_delay).await;
        if send.reply(greeting).await.is_err() {
            return;
        }
    }
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(n) if n > MAX_LINE => return,
            Ok(_) => {}
        }
        let command = line.trim_end();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if verb == "QUIT" {
            stats.quits.fetch_add(1, Ordering::SeqCst);
            // The session ends before the reply: a client that starts its next session
            // on reading 221 must not be seen overlapping this one.
            open.leave();
            if !stall {
                let _ = send.reply("221 2.0.0 bye").await;
            }
            return;
        }
        if stall {
            continue;
        }
        let reply = match verb.as_str() {
            "EHLO" | "HELO" => script.ehlo.as_str(),
            "MAIL" => script.mail.as_str(),
            "RCPT" => {
                let recipient = command
                    .split_once('<')
                    .and_then(|(_, rest)| rest.split_once('>'))
                    .map_or("", |(address, _)| address);
                stats.rcpts.fetch_add(1, Ordering::SeqCst);
                stats
                    .recipients
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(recipient.to_string());
                if !script.rcpt_delay.is_zero() {
                    tokio::time::sleep(script.rcpt_delay).await;
                }
                let local = recipient
                    .rsplit_once('@')
                    .map_or(recipient, |(local, _)| local);
                match &script.greylist {
                    Some((sessions, reply)) if index < *sessions => reply.as_str(),
                    _ => script.rcpt_for(local),
                }
            }
            "RSET" | "NOOP" => "250 2.0.0 ok",
            "DATA" => {
                stats.data.fetch_add(1, Ordering::SeqCst);
                "554 5.5.1 this responder takes no DATA"
            }
            _ => "502 5.5.2 command not recognized",
        };
        if send.reply(reply).await.is_err() {
            return;
        }
    }
}

/// Writes replies and counts their bytes.
struct Sender<'a> {
    write: OwnedWriteHalf,
    drip: Duration,
    stats: &'a Stats,
}

impl Sender<'_> {
    /// Pieces a dripped reply is written in.
    const DRIP_PIECES: usize = 4;

    /// Writes one reply in one write (split writes meet Nagle's algorithm and delayed
    /// ACKs and cost tens of milliseconds a reply), or dripped in pieces when scripted.
    async fn reply(&mut self, reply: &str) -> io::Result<()> {
        let bytes = format!("{reply}\r\n").into_bytes();
        if self.drip.is_zero() {
            return self.write_counted(&bytes).await;
        }
        let piece = bytes.len().div_ceil(Self::DRIP_PIECES);
        let pause = self.drip / Self::DRIP_PIECES as u32;
        for (i, chunk) in bytes.chunks(piece).enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            self.write_counted(chunk).await?;
        }
        Ok(())
    }

    async fn write_counted(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write.write_all(bytes).await?;
        self.write.flush().await?;
        self.stats.sent.fetch_add(bytes.len(), Ordering::SeqCst);
        Ok(())
    }
}

/// Reads and drops whatever the client sends until it hangs up.
async fn read_until_gone(mut lines: BufReader<OwnedReadHalf>) {
    let mut sink = [0u8; 1024];
    while matches!(lines.read(&mut sink).await, Ok(n) if n > 0) {}
}

/// Greets as `hostile` scripts; returns when the client has gone away.
async fn greet_hostile(
    hostile: Hostile,
    gone: impl Future<Output = ()>,
    write: OwnedWriteHalf,
    stats: &Stats,
) {
    let mut send = Sender {
        write,
        drip: Duration::ZERO,
        stats,
    };
    let flood = async {
        match hostile {
            Hostile::Flood(bytes) => {
                let chunk = [b'x'; 64 * 1024];
                let mut left = bytes;
                if send.write_counted(b"220 ").await.is_err() {
                    return;
                }
                while left > 0 {
                    let n = left.min(chunk.len());
                    if send.write_counted(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
                // No newline, ever: hold the connection until the client leaves.
                std::future::pending::<()>().await;
            }
            Hostile::Endless => {
                let line = format!("220-{}\r\n", "y".repeat(70));
                while send.write_counted(line.as_bytes()).await.is_ok() {}
            }
        }
    };
    tokio::select! {
        () = flood => {}
        () = gone => {}
    }
}

/// A [`HostResolver`] with a fixed table, for tests: unknown hosts have no address.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// Makes an empty table.
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }

    /// Adds `host` (compared case-insensitively) with its addresses.
    pub fn with(mut self, host: &str, ips: &[IpAddr]) -> StaticResolver {
        self.hosts.insert(host.to_ascii_lowercase(), ips.to_vec());
        self
    }
}

impl HostResolver for StaticResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = Vec<IpAddr>> + Send + 'a>> {
        let ips = self
            .hosts
            .get(&host.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default();
        Box::pin(async move { ips })
    }
}
