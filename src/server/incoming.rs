//! The connections a listener hands to HTTP/2: capped in number, and each given a bounded
//! time to finish its TLS handshake and to send the HTTP/2 preface.
//!
//! The h2 server writes its SETTINGS as soon as a connection opens and then waits for the
//! client's preface without a timeout, and HTTP/2 keepalive pings start only after it: a
//! client that connects and stays silent would hold its socket for ever. The TLS
//! handshake is done here too, rather than in tonic, so that the preface is timed on the
//! decrypted bytes, after the handshake, whether TLS is on or not.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tonic::transport::server::{Connected, TcpConnectInfo};

use super::Socket;
use crate::limits::{Closer, Connections, OwnedSlot, Slots};
use crate::metrics;

/// The client's HTTP/2 connection preface, `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, in bytes.
const PREFACE_LEN: usize = 24;

/// How long accepting pauses after a failure that is not one connection's (out of file
/// descriptors or memory): accepting again at once would only spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// The bounds of one listener's connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Most connections open at once; past it a new one is closed as soon as accepted.
    pub max_connections: usize,
    /// Time a connection has to send the HTTP/2 preface (after its TLS handshake).
    pub preface_timeout: Option<Duration>,
    /// Time a connection has to finish its TLS handshake.
    pub tls_handshake_timeout: Option<Duration>,
}

/// The accepted connections of one listener, as a stream for tonic's
/// `serve_with_incoming_shutdown`.
pub struct Incoming {
    listener: TcpListener,
    /// The metrics label of this listener (`grpc`, `health`).
    name: &'static str,
    tls: Option<TlsAcceptor>,
    limits: ConnLimits,
    slots: Arc<Slots>,
    connections: Arc<Connections>,
    /// TLS handshakes in progress, each on its own task and holding its slot.
    handshakes: JoinSet<Option<Conn>>,
    pause: Option<Pin<Box<Sleep>>>,
    /// Whether the cap has refused a connection since one was last admitted: the warning
    /// is logged once a spell, the metric counts each.
    refusing: bool,
}

impl Incoming {
    /// Accepts on `listener`, with TLS when `tls` is set; `connections` registers each
    /// open connection.
    pub fn new(
        listener: TcpListener,
        name: &'static str,
        tls: Option<TlsAcceptor>,
        limits: ConnLimits,
        connections: Arc<Connections>,
    ) -> Incoming {
        Incoming {
            listener,
            name,
            tls,
            slots: Arc::new(Slots::new(limits.max_connections)),
            limits,
            connections,
            handshakes: JoinSet::new(),
            pause: None,
            refusing: false,
        }
    }

    /// Takes one accepted TCP connection: refused past the cap, handed on as is in
    /// plain text, or sent to a TLS handshake.
    fn admit(&mut self, tcp: tokio::net::TcpStream, peer: SocketAddr) -> Option<Conn> {
        let Some(slot) = self.slots.try_take_owned() else {
            // Dropped here: the client sees its connection closed at once.
            metrics::record_connection_refused(self.name, "limit");
            if !self.refusing {
                self.refusing = true;
                tracing::warn!(
                    listener = self.name,
                    max_connections = self.slots.max(),
                    "connection cap reached: new connections are closed"
                );
            }
            return None;
        };
        self.refusing = false;
        // TCP_NODELAY: a response goes out as headers, data and trailers; with Nagle on,
        // the last of them waits for the client's delayed ACK (~40 ms a unary call).
        let _ = tcp.set_nodelay(true);
        let info = TcpConnectInfo {
            local_addr: tcp.local_addr().ok(),
            remote_addr: Some(peer),
        };
        let open = Open::new(self.name, peer, slot, self.connections.clone());
        let socket = Socket(tcp);
        let Some(tls) = self.tls.clone() else {
            return Some(Conn::new(Io::Plain(socket), info, open, self.limits));
        };
        let limits = self.limits;
        let name = self.name;
        self.handshakes.spawn(async move {
            let handshake = tls.accept(socket);
            let done = match limits.tls_handshake_timeout {
                Some(limit) => tokio::time::timeout(limit, handshake).await,
                None => Ok(handshake.await),
            };
            match done {
                Ok(Ok(stream)) => Some(Conn::new(Io::Tls(Box::new(stream)), info, open, limits)),
                Ok(Err(err)) => {
                    tracing::debug!(%err, %peer, "TLS handshake failed");
                    metrics::record_connection_refused(name, "tls_error");
                    None
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    metrics::record_connection_refused(name, "tls_timeout");
                    None
                }
            }
        });
        None
    }
}

impl Stream for Incoming {
    type Item = io::Result<Conn>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(pause) = &mut this.pause {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.pause = None;
        }
        loop {
            match this.listener.poll_accept(cx) {
                Poll::Ready(Ok((tcp, peer))) => {
                    if let Some(conn) = this.admit(tcp, peer) {
                        return Poll::Ready(Some(Ok(conn)));
                    }
                }
                // One connection's failure (reset before it was accepted): take the next.
                Poll::Ready(Err(err)) if is_per_connection(&err) => {}
                Poll::Ready(Err(err)) => {
                    tracing::warn!(listener = this.name, %err, "accept failed; pausing");
                    let mut pause = Box::pin(tokio::time::sleep(ACCEPT_PAUSE));
                    // Registers the wake-up; a sleep this long is never ready at once.
                    let _ = pause.as_mut().poll(cx);
                    this.pause = Some(pause);
                    break;
                }
                Poll::Pending => break,
            }
        }
        while let Poll::Ready(Some(joined)) = this.handshakes.poll_join_next(cx) {
            if let Ok(Some(conn)) = joined {
                return Poll::Ready(Some(Ok(conn)));
            }
        }
        Poll::Pending
    }
}

/// Whether an accept error concerns only the connection being accepted.
fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
    )
}

/// A connection's place among the open ones: its slot under the cap and its entry in the
/// registry, both given back when the connection closes.
struct Open {
    name: &'static str,
    peer: SocketAddr,
    closer: Arc<Closer>,
    connections: Arc<Connections>,
    _slot: OwnedSlot,
}

impl Open {
    fn new(
        name: &'static str,
        peer: SocketAddr,
        slot: OwnedSlot,
        connections: Arc<Connections>,
    ) -> Open {
        metrics::record_connection_opened(name, true);
        Open {
            name,
            peer,
            closer: connections.join(peer),
            connections,
            _slot: slot,
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.connections.leave(self.peer, &self.closer);
        metrics::record_connection_opened(self.name, false);
    }
}

/// The transport under HTTP/2.
enum Io {
    Plain(Socket),
    Tls(Box<TlsStream<Socket>>),
}

/// The wait for a connection's preface: the bytes still to come and by when.
struct Preface {
    left: usize,
    deadline: Instant,
    /// Made on the first read that has to wait: a client that sends its preface with
    /// the connection costs no timer.
    timer: Option<Pin<Box<Sleep>>>,
}

/// One connection, as HTTP/2 sees it: reads fail once its preface is overdue or it is
/// closed through the registry; it gives back its slot when dropped.
pub struct Conn {
    io: Io,
    info: TcpConnectInfo,
    preface: Option<Preface>,
    open: Open,
}

impl Conn {
    fn new(io: Io, info: TcpConnectInfo, open: Open, limits: ConnLimits) -> Conn {
        Conn {
            io,
            info,
            preface: limits.preface_timeout.map(|limit| Preface {
                left: PREFACE_LEN,
                deadline: Instant::now() + limit,
                timer: None,
            }),
            open,
        }
    }

    fn closed(&self) -> Option<io::Error> {
        self.open.closer.is_closed().then(|| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection closed by the server: a stream on it could not be ended",
            )
        })
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(err) = self.closed() {
            return Poll::Ready(Err(err));
        }
        let this = &mut *self;
        let before = buf.filled().len();
        let read = match &mut this.io {
            Io::Plain(socket) => Pin::new(socket).poll_read(cx, buf),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        };
        let Some(preface) = &mut this.preface else {
            return read;
        };
        match read {
            Poll::Ready(Ok(())) => {
                let got = buf.filled().len() - before;
                // End of stream (0 bytes) ends the wait too: HTTP/2 closes the connection.
                if got == 0 || got >= preface.left {
                    this.preface = None;
                } else {
                    preface.left -= got;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => {
                let deadline = preface.deadline;
                let timer = preface
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                metrics::record_connection_refused(this.open.name, "preface_timeout");
                tracing::debug!(peer = %this.open.peer, "no HTTP/2 preface in time: closing");
                this.preface = None;
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no HTTP/2 preface in time",
                )))
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(err) = self.closed() {
            return Poll::Ready(Err(err));
        }
        match &mut self.io {
            Io::Plain(socket) => Pin::new(socket).poll_write(cx, buf),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(err) = self.closed() {
            return Poll::Ready(Err(err));
        }
        match &mut self.io {
            Io::Plain(socket) => Pin::new(socket).poll_write_vectored(cx, bufs),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.closed() {
            return Poll::Ready(Err(err));
        }
        match &mut self.io {
            Io::Plain(socket) => Pin::new(socket).poll_flush(cx),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Plain(socket) => Pin::new(socket).poll_shutdown(cx),
            Io::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }

    /// As the transport says: false for [`Socket`] (h2 then buffers small frames), true
    /// under TLS.
    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(socket) => socket.is_write_vectored(),
            Io::Tls(stream) => stream.is_write_vectored(),
        }
    }
}
