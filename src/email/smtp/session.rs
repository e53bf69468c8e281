//! One SMTP session with one exchanger address: connect, greeting, EHLO, MAIL FROM,
//! RCPT TO, the catch-all question, QUIT; never DATA.

use std::fmt::Display;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::commands::{Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{Extension, MailParameter};
use lettre::transport::smtp::response::Severity;
use lettre::Address;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use tokio::time::{timeout, timeout_at};

use super::reply::{classify, Reply, Stage};
use super::{
    random_local_part, CatchAll, Outcome, Prober, Target, MAX_SESSION_BYTES, SESSION_TIMEOUTS,
};
use crate::email::provider::Timeouts;
use crate::shared_cache::Kind;

impl Prober {
    /// Holds one SMTP session with one exchanger address and closes it politely.
    pub(super) async fn session(&self, target: &Target, rcpt: &Address, domain: &str) -> Session {
        let waits = self.waits(&target.timeouts);
        let wait = waits.command;
        let tcp = match self.connect(target, waits.connect).await {
            Ok(tcp) => tcp,
            Err(broke) => return Session::Failed(broke),
        };
        let deadline = tokio::time::Instant::now()
            + waits.greeting
            + wait.saturating_mul(SESSION_TIMEOUTS - 1);
        // lettre keeps the socket when it fails to connect, so a refused greeting could
        // not be answered with QUIT, as RFC 5321 section 3.1 asks. A second handle on
        // the same socket can still say it.
        let (tcp, mut spare) = match two_handles(tcp) {
            Ok(pair) => pair,
            Err(e) => return Session::failed(Failure::ConnectFailed, e),
        };
        // A host that accepts the connection and then says nothing (a tarpit, an
        // overloaded server) costs one greeting timeout, not a hang.
        match timeout(waits.greeting, tcp.readable()).await {
            Err(_) => {
                send_quit(&spare);
                return Session::failed(Failure::NoGreeting, "no greeting");
            }
            Ok(Err(e)) => return Session::failed(Failure::Dropped, e),
            Ok(Ok(())) => {}
        }
        let spent = Arc::new(AtomicBool::new(false));
        let capped = Capped::new(tcp, MAX_SESSION_BYTES, spent.clone());
        // lettre reads the greeting and says EHLO in one call: two replies, two timeouts.
        let handshake = AsyncSmtpConnection::connect_with_transport(Box::new(capped), &self.helo);
        let smtp = match timeout(waits.greeting + wait, handshake).await {
            Err(_) => {
                send_quit(&spare);
                return Session::failed(Failure::ReplyTimeout, "timed out in the greeting or EHLO");
            }
            Ok(Err(e)) => {
                // A refused greeting: say QUIT ourselves. A refused EHLO: lettre has said
                // it already and shut the socket, so this write fails and costs nothing.
                // A server that sent too much or garbage is not waited for.
                let failure = Failure::of(&e, &spent);
                let reply = Reply::from_error(&e);
                if reply.is_some() {
                    quit_and_wait(&mut spare, wait).await;
                } else {
                    send_quit(&spare);
                }
                return match reply {
                    Some(reply) => match classify(Stage::Handshake, &reply) {
                        // A 421 greeting means this host is unavailable for now (RFC 5321
                        // section 3.8); the next exchanger may answer.
                        outcome @ Outcome::Temporary { .. } => Session::Deferred(outcome),
                        outcome => Session::Answered {
                            outcome,
                            catch_all: CatchAll::NotChecked,
                        },
                    },
                    None => Session::failed(failure, e),
                };
            }
            Ok(Ok(smtp)) => smtp,
        };
        let mut conn = Conn {
            smtp,
            broken: false,
            spent,
            wait,
        };
        let session = match timeout_at(
            deadline,
            self.transaction(&mut conn, rcpt, domain, target.accepts_any),
        )
        .await
        {
            Ok(session) => session,
            Err(_) => {
                conn.broken = true;
                Session::failed(Failure::TooSlow, "the session's time limit passed")
            }
        };
        if conn.broken {
            // The conversation is out of step (a timeout mid-command): a reply to QUIT
            // could not be told apart from a late one, so say it and do not wait.
            send_quit(&spare);
        } else {
            let quit_by = deadline.min(tokio::time::Instant::now() + wait);
            let _ = timeout_at(quit_by, conn.smtp.quit()).await;
        }
        session
    }

    /// The waits of a session with an exchanger: the provider's own where it has them,
    /// else the configured ones.
    pub(super) fn waits(&self, own: &Timeouts) -> Waits {
        Waits {
            connect: own.connect.unwrap_or(self.cfg.connect_timeout),
            greeting: own.greeting.unwrap_or(self.cfg.command_timeout),
            command: own.command.unwrap_or(self.cfg.command_timeout),
        }
    }

    /// Opens a connection to the target's address, directly or through the proxy of its
    /// provider or the default one, within `wait` (one for the proxy, one for its
    /// CONNECT).
    async fn connect(&self, target: &Target, wait: Duration) -> Result<TcpStream, Broke> {
        let addr = target.addr;
        if let Some(proxy) = self.cfg.proxy_for(target.provider) {
            return proxy.connect(addr, wait).await;
        }
        match timeout(wait, TcpStream::connect(addr)).await {
            Err(_) => Err(Broke::new(Failure::ConnectTimeout, "connect timed out")),
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                Err(Broke::new(Failure::Refused, e))
            }
            Ok(Err(e)) => Err(Broke::new(Failure::ConnectFailed, e)),
            Ok(Ok(tcp)) => Ok(tcp),
        }
    }

    /// Says MAIL FROM and RCPT TO, and on acceptance finds out whether the domain is a
    /// catch-all. Never DATA.
    pub(super) async fn transaction(
        &self,
        conn: &mut Conn,
        rcpt: &Address,
        domain: &str,
        accepts_any: bool,
    ) -> Session {
        let Some(params) = self.mail_parameters(conn, rcpt) else {
            return Session::failed(Failure::NoSmtpUtf8, "no SMTPUTF8 in the EHLO reply");
        };
        match self
            .command(conn, Mail::new(self.from.clone(), params.clone()))
            .await
        {
            Ok(Step::Done) => {}
            Ok(Step::Refused(reply)) => {
                return Session::Answered {
                    outcome: classify(Stage::MailFrom, &reply),
                    catch_all: CatchAll::NotChecked,
                };
            }
            Err(broke) => return Session::Failed(broke),
        }
        let outcome = match self.command(conn, Rcpt::new(rcpt.clone(), vec![])).await {
            Ok(Step::Done) => Outcome::Accepted,
            Ok(Step::Refused(reply)) => classify(Stage::RcptTo, &reply),
            Err(broke) => return Session::Failed(broke),
        };
        let catch_all = if outcome != Outcome::Accepted {
            CatchAll::NotChecked
        } else if accepts_any {
            // The provider answers 250 to anyone: asking would only confirm it.
            CatchAll::Known
        } else {
            self.catch_all(conn, domain, &params).await
        };
        Session::Answered { outcome, catch_all }
    }

    /// Tells whether `domain` accepts a random mailbox, asking over `conn` only when the
    /// cache has no finding; an inconclusive answer is not cached.
    pub(super) async fn catch_all(
        &self,
        conn: &mut Conn,
        domain: &str,
        params: &[MailParameter],
    ) -> CatchAll {
        let cell = self
            .catch_alls
            .get_with(domain.to_string(), async { Arc::new(OnceCell::new()) })
            .await;
        cell.get_or_try_init(|| async {
            if let Some(shared) = &self.shared {
                if let Some((found, _)) = shared.get(Kind::CatchAll, domain).await {
                    return Ok(found);
                }
            }
            let found = self.probe_random(conn, domain, params).await;
            if let (Some(shared), Ok(found)) = (&self.shared, found) {
                let ttl = self.lifetimes.settled;
                shared.put(Kind::CatchAll, domain, &found, ttl);
            }
            found
        })
        .await
        .map_or(CatchAll::Inconclusive, |&yes| {
            if yes {
                CatchAll::Yes
            } else {
                CatchAll::No
            }
        })
    }

    /// Asks, in the same session after RSET, for a mailbox nobody has: `Ok(true)` if the
    /// server accepts it, `Ok(false)` if it rejects it as a mailbox, `Err` otherwise.
    pub(super) async fn probe_random(
        &self,
        conn: &mut Conn,
        domain: &str,
        params: &[MailParameter],
    ) -> Result<bool, ()> {
        let random = Address::new(random_local_part(), domain).map_err(|_| ())?;
        // RFC 5321 section 4.1.1.5: RSET aborts the transaction, so the next MAIL FROM
        // starts a clean one on the same connection.
        if !matches!(self.command(conn, Rset).await, Ok(Step::Done)) {
            return Err(());
        }
        let mail = Mail::new(self.from.clone(), params.to_vec());
        if !matches!(self.command(conn, mail).await, Ok(Step::Done)) {
            return Err(());
        }
        match self.command(conn, Rcpt::new(random, vec![])).await {
            Ok(Step::Done) => Ok(true),
            Ok(Step::Refused(reply)) => match classify(Stage::RcptTo, &reply) {
                Outcome::Rejected { .. } => Ok(false),
                _ => Err(()),
            },
            Err(_) => Err(()),
        }
    }

    /// Returns the MAIL FROM parameters, or `None` when the address needs SMTPUTF8
    /// (RFC 6531) and the server does not offer it.
    pub(super) fn mail_parameters(
        &self,
        conn: &Conn,
        rcpt: &Address,
    ) -> Option<Vec<MailParameter>> {
        let ascii = |address: &Address| AsRef::<str>::as_ref(address).is_ascii();
        if ascii(rcpt) && self.from.as_ref().is_none_or(ascii) {
            return Some(Vec::new());
        }
        conn.smtp
            .server_info()
            .supports_feature(Extension::SmtpUtfEight)
            .then(|| vec![MailParameter::SmtpUtfEight])
    }

    /// Sends one command and reads its reply within the command timeout; `Err` (with what
    /// happened) when the conversation broke, which also marks `conn` broken.
    pub(super) async fn command<C: Display>(
        &self,
        conn: &mut Conn,
        command: C,
    ) -> Result<Step, Broke> {
        let result = match timeout(conn.wait, conn.smtp.command(command)).await {
            Err(_) => Err(Broke::new(
                Failure::ReplyTimeout,
                "timed out waiting for a reply",
            )),
            Ok(Ok(response)) if response.code().severity == Severity::PositiveCompletion => {
                Ok(Step::Done)
            }
            // lettre counts 3xx as positive; no command we send may get one.
            Ok(Ok(response)) => Err(Broke::new(
                Failure::Unexpected,
                format!("unexpected reply {}", response.code()),
            )),
            Ok(Err(e)) => match Reply::from_error(&e) {
                Some(reply) => Ok(Step::Refused(reply)),
                None => Err(Broke::new(Failure::of(&e, &conn.spent), e)),
            },
        };
        conn.broken |= result.is_err();
        result
    }
}

/// An open SMTP session.
pub(super) struct Conn {
    pub(super) smtp: AsyncSmtpConnection,
    /// A command timed out or the connection failed: the session is out of step.
    pub(super) broken: bool,
    /// The session's read budget is spent (see [`Capped`]).
    pub(super) spent: Arc<AtomicBool>,
    /// Longest wait for each reply.
    pub(super) wait: Duration,
}

/// How long a session waits, at most, for each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Waits {
    /// The TCP connection (and through a proxy, its CONNECT).
    pub(super) connect: Duration,
    /// The greeting.
    pub(super) greeting: Duration,
    /// Each reply after the greeting.
    pub(super) command: Duration,
}

/// Why a session with one exchanger gave no SMTP answer, in words for callers: never the
/// address dialled nor the socket's own error text, which go to the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// The connection was refused.
    Refused,
    /// The connection was not accepted within the connect timeout.
    ConnectTimeout,
    /// The connection failed otherwise (unreachable network, reset, ...).
    ConnectFailed,
    /// The server accepted the connection and said nothing.
    NoGreeting,
    /// A reply did not come within the command timeout.
    ReplyTimeout,
    /// The session passed its time limit ([`SESSION_TIMEOUTS`] command timeouts).
    TooSlow,
    /// The server sent more than [`MAX_SESSION_BYTES`].
    TooLong,
    /// A reply that is not SMTP, or the connection closed mid-reply.
    Garbled,
    /// The connection broke (reset, closed) between replies.
    Dropped,
    /// A 3xx reply, which none of the probe's commands may get.
    Unexpected,
    /// The address needs SMTPUTF8 and the server does not offer it.
    NoSmtpUtf8,
    /// The SOCKS5 proxy could not be connected to.
    ProxyUnreachable,
    /// The SOCKS5 proxy did not answer the CONNECT within the connect timeout.
    ProxyTimeout,
    /// The SOCKS5 proxy refused to connect (its rules, its own failure).
    ProxyRefused,
    /// The SOCKS5 proxy broke off or did not speak SOCKS5.
    ProxyFailed,
    /// The SOCKS5 proxy turned down our user name and password, or wants some we lack.
    ProxyAuth,
}

impl Failure {
    /// Tells whether the failure is the proxy's, which says nothing about the exchanger:
    /// such a result is this replica's and is not shared with others.
    pub(super) fn is_proxy(self) -> bool {
        matches!(
            self,
            Failure::ProxyUnreachable
                | Failure::ProxyTimeout
                | Failure::ProxyRefused
                | Failure::ProxyFailed
                | Failure::ProxyAuth
        )
    }

    /// Tells what a lettre error that carries no SMTP reply means; `spent` is the
    /// session's read budget flag.
    pub(super) fn of(error: &lettre::transport::smtp::Error, spent: &AtomicBool) -> Failure {
        if spent.load(Ordering::Relaxed) {
            return Failure::TooLong;
        }
        if error.is_timeout() {
            return Failure::ReplyTimeout;
        }
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            if let Some(io) = cause.downcast_ref::<io::Error>() {
                return match io.kind() {
                    // lettre reads replies as UTF-8 text.
                    io::ErrorKind::InvalidData => Failure::Garbled,
                    _ => Failure::Dropped,
                };
            }
            source = cause.source();
        }
        Failure::Garbled
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Failure::Refused => "refused the connection",
            Failure::ConnectTimeout => "did not accept the connection in time",
            Failure::ConnectFailed => "could not be connected to",
            Failure::NoGreeting => "sent no greeting",
            Failure::ReplyTimeout => "timed out waiting for a reply",
            Failure::TooSlow => "answered too slowly: the session ran out of time",
            Failure::TooLong => "sent an over-long reply",
            Failure::Garbled => "sent a malformed reply or broke off the conversation",
            Failure::Dropped => "dropped the connection",
            Failure::Unexpected => "sent a reply no probe command expects",
            Failure::NoSmtpUtf8 => "lacks SMTPUTF8, which the address needs",
            Failure::ProxyUnreachable => "the SOCKS5 proxy could not be reached",
            Failure::ProxyTimeout => "the SOCKS5 proxy did not connect to it in time",
            Failure::ProxyRefused => "the SOCKS5 proxy refused to connect to it",
            Failure::ProxyFailed => "the SOCKS5 proxy failed or broke off",
            Failure::ProxyAuth => "the SOCKS5 proxy refused our credentials",
        })
    }
}

/// A session that broke: what callers are told, and the underlying error for the logs.
#[derive(Debug)]
pub(super) struct Broke {
    pub(super) failure: Failure,
    pub(super) error: String,
}

impl Broke {
    pub(super) fn new(failure: Failure, error: impl Display) -> Broke {
        Broke {
            failure,
            error: error.to_string(),
        }
    }
}

/// The connection as lettre sees it: writes go straight to the socket, reads through a
/// budget of bytes for the whole session. lettre reads a reply line to its newline before
/// it checks the line's length, so without the budget a server could make it buffer a
/// greeting of any size; with it, a session costs at most the budget (plus lettre's own
/// 8 KiB read buffer), then fails as [`Failure::TooLong`].
#[derive(Debug)]
pub(super) struct Capped {
    pub(super) tcp: TcpStream,
    /// Bytes that may still be read.
    pub(super) left: usize,
    /// Set when a read finds the budget spent.
    pub(super) spent: Arc<AtomicBool>,
}

impl Capped {
    pub(super) fn new(tcp: TcpStream, budget: usize, spent: Arc<AtomicBool>) -> Capped {
        Capped {
            tcp,
            left: budget,
            spent,
        }
    }
}

impl AsyncRead for Capped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.left == 0 {
            this.spent.store(true, Ordering::Relaxed);
            return Poll::Ready(Err(io::Error::other("the session's read budget is spent")));
        }
        if buf.remaining() <= this.left {
            let before = buf.filled().len();
            ready!(Pin::new(&mut this.tcp).poll_read(cx, buf))?;
            this.left -= buf.filled().len() - before;
        } else {
            // Only the last read of a budget is smaller than the caller's buffer: a short
            // buffer of our own keeps it within the budget without unsafe code.
            let mut room = vec![0; this.left];
            let mut part = ReadBuf::new(&mut room);
            ready!(Pin::new(&mut this.tcp).poll_read(cx, &mut part))?;
            buf.put_slice(part.filled());
            this.left -= part.filled().len();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Capped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Capped {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }
}

/// What one command got back.
#[derive(Debug)]
pub(super) enum Step {
    /// A 2xx reply.
    Done,
    /// A 4xx or 5xx reply.
    Refused(Reply),
}

/// How a session with one exchanger ended.
#[derive(Debug)]
pub(super) enum Session {
    /// The exchanger answered the question, or refused us outright: stop here.
    Answered {
        outcome: Outcome,
        catch_all: CatchAll,
    },
    /// The exchanger is unavailable for now (4xx to the greeting or EHLO): try the next
    /// one, and report this if none answers.
    Deferred(Outcome),
    /// No SMTP answer (refused, timed out, closed, garbled): try the next exchanger.
    Failed(Broke),
}

impl Session {
    pub(super) fn failed(failure: Failure, error: impl Display) -> Session {
        Session::Failed(Broke::new(failure, error))
    }
}

/// Splits a connected socket into two handles on the same connection (`dup`): lettre
/// takes the first, the probe keeps the second to say QUIT when lettre cannot.
fn two_handles(tcp: TcpStream) -> std::io::Result<(TcpStream, TcpStream)> {
    let first = tcp.into_std()?;
    let second = first.try_clone()?;
    Ok((TcpStream::from_std(first)?, TcpStream::from_std(second)?))
}

/// Says QUIT without waiting for the reply (the socket is non-blocking; a failure
/// means the server is gone, which is fine).
fn send_quit(spare: &TcpStream) {
    let _ = spare.try_write(b"QUIT\r\n");
}

/// Says QUIT and waits, at most `wait`, for the reply, as RFC 5321 section 3.1 asks of
/// a client whose greeting was refused.
async fn quit_and_wait(spare: &mut TcpStream, wait: Duration) {
    let _ = timeout(wait, async {
        if spare.write_all(b"QUIT\r\n").await.is_ok() {
            let mut reply = [0u8; 512];
            let _ = spare.read(&mut reply).await;
        }
    })
    .await;
}
