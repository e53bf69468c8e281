//! A SOCKS5 server on 127.0.0.1 for tests of the probe through a proxy: it records every
//! CONNECT it is asked for and relays each to one upstream (the loopback SMTP responder),
//! whatever the target, so a test never reaches the address it names. Or it refuses
//! every CONNECT with a reply code a test sets. It may want a user name and password
//! first (RFC 1929), and then records a CONNECT only from a client that gave them.
//!
//! Not part of the service; CONNECT only (RFC 1928).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The reply code a refusing server gives: connection not allowed by ruleset.
pub const NOT_ALLOWED: u8 = 0x02;

/// A target a client asked the server to CONNECT to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// An address (ATYP 1 or 4) and port.
    Addr(SocketAddr),
    /// A name for the server to resolve (ATYP 3), and a port.
    Name(String, u16),
}

/// What the server does with a CONNECT.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Relays to this address, whatever was asked.
    Relay(SocketAddr),
    /// Answers with this failure code.
    Refuse(u8),
}

/// The user name and password a server wants.
type Login = Option<Arc<(String, String)>>;

/// A SOCKS5 server on 127.0.0.1 and an ephemeral port; it stops when dropped.
#[derive(Debug)]
pub struct SocksServer {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<Asked>>>,
    task: JoinHandle<()>,
}

impl SocksServer {
    /// Serves CONNECTs by relaying each to `upstream`.
    pub async fn relaying_to(upstream: SocketAddr) -> io::Result<SocksServer> {
        SocksServer::start(Mode::Relay(upstream), None).await
    }

    /// Wants the user name `user` and the password `password` (RFC 1929, and no other
    /// method), then relays each CONNECT to `upstream`; wrong credentials end the
    /// connection after the failure status, as the RFC says.
    pub async fn relaying_with_login(
        upstream: SocketAddr,
        user: &str,
        password: &str,
    ) -> io::Result<SocksServer> {
        let login = Arc::new((user.to_string(), password.to_string()));
        SocksServer::start(Mode::Relay(upstream), Some(login)).await
    }

    /// Refuses every CONNECT with `code` (such as [`NOT_ALLOWED`]).
    pub async fn refusing(code: u8) -> io::Result<SocksServer> {
        SocksServer::start(Mode::Refuse(code), None).await
    }

    async fn start(mode: Mode, login: Login) -> io::Result<SocksServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let asked = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(accept(listener, mode, login, asked.clone()));
        Ok(SocksServer { addr, asked, task })
    }

    /// Returns the address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the server as a proxy URL, `socks5://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("socks5://{}", self.addr)
    }

    /// Returns every CONNECT target asked for, in order of arrival.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for SocksServer {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every relay.
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, mode: Mode, login: Login, asked: Arc<Mutex<Vec<Asked>>>) {
    let mut clients = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        clients.spawn(serve(stream, mode, login.clone(), asked.clone()));
        while clients.try_join_next().is_some() {}
    }
}

/// Serves one client: method negotiation, the login when one is wanted, one CONNECT,
/// then the relay.
async fn serve(mut client: TcpStream, mode: Mode, login: Login, asked: Arc<Mutex<Vec<Asked>>>) {
    let _ = serve_inner(&mut client, mode, login.as_deref(), &asked).await;
}

async fn serve_inner(
    client: &mut TcpStream,
    mode: Mode,
    login: Option<&(String, String)>,
    asked: &Mutex<Vec<Asked>>,
) -> io::Result<()> {
    let [version, count] = read_array::<2>(client).await?;
    if version != 5 {
        return Ok(());
    }
    let mut methods = vec![0; usize::from(count)];
    client.read_exact(&mut methods).await?;
    // 0: no authentication; 2: user name and password.
    let method = if login.is_some() { 2 } else { 0 };
    if !methods.contains(&method) {
        return client.write_all(&[5, 0xff]).await;
    }
    client.write_all(&[5, method]).await?;
    if let Some((user, password)) = login {
        // RFC 1929: version 1, the user name and the password each after its length.
        let [_version, len] = read_array::<2>(client).await?;
        let given_user = read_vec(client, len).await?;
        let [len] = read_array::<1>(client).await?;
        let given_password = read_vec(client, len).await?;
        if given_user != user.as_bytes() || given_password != password.as_bytes() {
            return client.write_all(&[1, 1]).await;
        }
        client.write_all(&[1, 0]).await?;
    }
    let [_, command, _, kind] = read_array::<4>(client).await?;
    let ip = match kind {
        1 => Some(IpAddr::V4(Ipv4Addr::from(read_array::<4>(client).await?))),
        4 => Some(IpAddr::V6(Ipv6Addr::from(read_array::<16>(client).await?))),
        3 => None,
        _ => return reply(client, 0x08).await,
    };
    let name = match ip {
        Some(_) => String::new(),
        None => {
            let [len] = read_array::<1>(client).await?;
            String::from_utf8_lossy(&read_vec(client, len).await?).into_owned()
        }
    };
    let port = u16::from_be_bytes(read_array::<2>(client).await?);
    let target = match ip {
        Some(ip) => Asked::Addr(SocketAddr::new(ip, port)),
        None => Asked::Name(name, port),
    };
    asked
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(target);
    if command != 1 {
        return reply(client, 0x07).await;
    }
    match mode {
        Mode::Refuse(code) => reply(client, code).await,
        Mode::Relay(upstream) => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return reply(client, 0x05).await;
            };
            reply(client, 0).await?;
            tokio::io::copy_bidirectional(client, &mut server).await?;
            Ok(())
        }
    }
}

/// Reads exactly `N` bytes.
async fn read_array<const N: usize>(client: &mut TcpStream) -> io::Result<[u8; N]> {
    let mut bytes = [0; N];
    client.read_exact(&mut bytes).await?;
    Ok(bytes)
}

/// Reads `len` bytes.
async fn read_vec(client: &mut TcpStream, len: u8) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0; usize::from(len)];
    client.read_exact(&mut bytes).await?;
    Ok(bytes)
}

/// Answers the request with `code`, and a bound address of 0.0.0.0:0.
async fn reply(client: &mut TcpStream, code: u8) -> io::Result<()> {
    client.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await
}
