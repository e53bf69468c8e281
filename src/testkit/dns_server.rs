//! A real DNS server on loopback for tests and benchmarks: UDP and TCP on one port,
//! answers given by the test, every query counted.
//!
//! An answer too large for the client's UDP payload goes back truncated (TC), so the
//! client asks again over TCP, as with a real server. A delay can be set on every answer,
//! and the server keeps the peak of queries it held at once. Its UDP receive buffer is
//! large, so that thousands of queries sent at once wait there rather than being dropped
//! (a dropped query costs its client a timeout, which a real resolver would not).

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hickory_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME, MX, SOA};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// What the server does for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer from the records held for the name (NODATA for a type it has none of).
    Records,
    /// Answer NXDOMAIN for every type.
    NxDomain,
    /// Answer SERVFAIL.
    ServFail,
    /// Answer REFUSED.
    Refused,
    /// Never answer (the client times out).
    Silent,
}

#[derive(Debug, Clone)]
struct Zone {
    behaviour: Behaviour,
    mx: Vec<(u16, String)>,
    a: Vec<Ipv4Addr>,
    aaaa: Vec<Ipv6Addr>,
    /// An alias: every query for the name is answered with a CNAME to this name, followed
    /// by the target's records of the type asked.
    cname: Option<String>,
}

impl Default for Zone {
    fn default() -> Self {
        Zone {
            behaviour: Behaviour::Records,
            mx: Vec::new(),
            a: Vec::new(),
            aaaa: Vec::new(),
            cname: None,
        }
    }
}

/// The address an exchanger named by [`DnsServer::mx`] gets when it has no records of its
/// own: TEST-NET-1 (RFC 5737), which nothing dials.
pub const EXCHANGER_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

#[derive(Default)]
struct State {
    zones: HashMap<String, Zone>,
    queries: HashMap<(String, RecordType), usize>,
    down: bool,
    ttl: u32,
    negative_ttl: u32,
    /// How long every answer waits before it goes out.
    delay: Duration,
    /// How far an answer's wait may stray from `delay`, either way, drawn uniformly: a
    /// resolver's answers vary, and a fixed delay returns a burst of queries as a burst.
    spread: Duration,
    /// Queries received and not yet answered (or dropped), and the most there ever were.
    in_flight: usize,
    peak_in_flight: usize,
    /// Time from receipt to answer of the queries answered since the last reset, and how
    /// many: the delay, and how late a busy machine let the answer go past it.
    held_total: Duration,
    held_count: u64,
}

/// A DNS server on 127.0.0.1 whose records each test sets. Names not set are NXDOMAIN.
pub struct DnsServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Binds UDP and TCP on one port and spawns their loops on the current runtime.
async fn serve(state: Arc<Mutex<State>>) -> std::io::Result<(SocketAddr, Vec<JoinHandle<()>>)> {
    // Bind UDP first, then TCP on the same port; retry if TCP's is taken.
    let (udp, tcp) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await?;
        let port = udp.local_addr()?.port();
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(tcp) => break (udp, tcp),
            Err(_) => continue,
        }
    };
    let addr = udp.local_addr()?;
    // Best effort: the kernel caps it (net.core.rmem_max), and a smaller buffer still works.
    let _ = socket2::SockRef::from(&udp).set_recv_buffer_size(UDP_RECEIVE_BUFFER);
    let udp = Arc::new(udp);
    let udp_task = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, peer)) = udp.recv_from(&mut buf).await else {
                    continue;
                };
                let Some(query) = buf.get(..len).map(<[u8]>::to_vec) else {
                    continue;
                };
                // A task per query: a delayed answer holds up no other.
                let (state, udp) = (state.clone(), udp.clone());
                tokio::spawn(async move {
                    if let Some(reply) = respond(&state, &query, Transport::Udp).await {
                        let _ = udp.send_to(&reply, peer).await;
                    }
                });
            }
        })
    };
    let tcp_task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                continue;
            };
            tokio::spawn(serve_tcp(stream, state.clone()));
        }
    });
    Ok((addr, vec![udp_task, tcp_task]))
}

/// The UDP receive buffer asked for: room for tens of thousands of queries.
const UDP_RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking test thread must not wedge the server for the others.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsServer {
    /// Starts the server on an ephemeral loopback port, UDP and TCP.
    ///
    /// It runs on a thread and runtime of its own, so a test that blocks its own runtime
    /// (waiting for a child process, say) never starves the DNS answers.
    pub async fn start() -> std::io::Result<DnsServer> {
        let state = Arc::new(Mutex::new(State {
            ttl: 300,
            negative_ttl: 60,
            ..State::default()
        }));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_state = state.clone();
        std::thread::Builder::new()
            .name("test-dns".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match serve(thread_state).await {
                        Ok((addr, tasks)) => {
                            let _ = ready_tx.send(Ok(addr));
                            let _ = stop_rx.await;
                            for task in tasks {
                                task.abort();
                            }
                        }
                        Err(err) => {
                            let _ = ready_tx.send(Err(err));
                        }
                    }
                });
            })?;
        let addr = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("the DNS server thread died"))??;
        Ok(DnsServer {
            addr,
            state,
            stop: Some(stop_tx),
        })
    }

    /// Returns the address to give `--dns-server`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn zone(&self, name: &str, f: impl FnOnce(&mut Zone)) {
        let mut state = lock(&self.state);
        f(state.zones.entry(key(name)).or_default());
    }

    /// Sets the MX records of a name: (preference, exchange). An exchanger that has no
    /// records yet gets [`EXCHANGER_ADDR`], so the route leads somewhere; set its records
    /// after this call (or [`DnsServer::forget`] it) to test otherwise.
    pub fn mx(&self, name: &str, records: &[(u16, &str)]) {
        let mut state = lock(&self.state);
        for (_, host) in records {
            let host = key(host);
            if !host.is_empty() {
                state.zones.entry(host).or_insert_with(|| Zone {
                    a: vec![EXCHANGER_ADDR],
                    ..Zone::default()
                });
            }
        }
        let zone = state.zones.entry(key(name)).or_default();
        zone.behaviour = Behaviour::Records;
        zone.mx = records.iter().map(|(p, h)| (*p, h.to_string())).collect();
    }

    /// Sets the MX records of a name and nothing else: exchangers without records of
    /// their own stay NXDOMAIN.
    pub fn mx_only(&self, name: &str, records: &[(u16, &str)]) {
        self.zone(name, |z| {
            z.behaviour = Behaviour::Records;
            z.mx = records.iter().map(|(p, h)| (*p, h.to_string())).collect();
        });
    }

    /// Makes a name an alias (CNAME) of another.
    pub fn cname(&self, name: &str, target: &str) {
        self.zone(name, |z| {
            *z = Zone {
                cname: Some(key(target)),
                ..Zone::default()
            }
        });
    }

    /// Removes a name: it is NXDOMAIN again.
    pub fn forget(&self, name: &str) {
        lock(&self.state).zones.remove(&key(name));
    }

    /// Sets a null MX (RFC 7505): one MX of preference 0 to the root.
    pub fn null_mx(&self, name: &str) {
        self.mx(name, &[(0, ".")]);
    }

    /// Sets the A records of a name.
    pub fn a(&self, name: &str, addrs: &[Ipv4Addr]) {
        self.zone(name, |z| {
            z.behaviour = Behaviour::Records;
            z.a = addrs.to_vec();
        });
    }

    /// Sets the AAAA records of a name.
    pub fn aaaa(&self, name: &str, addrs: &[Ipv6Addr]) {
        self.zone(name, |z| {
            z.behaviour = Behaviour::Records;
            z.aaaa = addrs.to_vec();
        });
    }

    /// Makes a name exist with no records at all (NODATA for every type).
    pub fn empty(&self, name: &str) {
        self.zone(name, |z| *z = Zone::default());
    }

    /// Sets how the server treats a name.
    pub fn behave(&self, name: &str, behaviour: Behaviour) {
        self.zone(name, |z| z.behaviour = behaviour);
    }

    /// Sets the TTL of positive answers and the SOA minimum of negative ones.
    pub fn set_ttls(&self, ttl: u32, negative_ttl: u32) {
        let mut state = lock(&self.state);
        state.ttl = ttl;
        state.negative_ttl = negative_ttl;
    }

    /// Delays every answer by this much (zero: answer at once).
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.state).delay = delay;
    }

    /// Lets each answer's delay stray up to this much either way of the delay set, drawn
    /// uniformly (never below zero); zero, the default, holds every answer exactly.
    pub fn set_delay_spread(&self, spread: Duration) {
        lock(&self.state).spread = spread;
    }

    /// Returns the most queries the server held at once (waiting out the delay).
    pub fn peak_in_flight(&self) -> usize {
        lock(&self.state).peak_in_flight
    }

    /// Starts counting the peak again from the queries held now, and the mean hold.
    pub fn reset_peak_in_flight(&self) {
        let mut state = lock(&self.state);
        state.peak_in_flight = state.in_flight;
        state.held_total = Duration::ZERO;
        state.held_count = 0;
    }

    /// The mean time from a query's receipt to its answer since the last reset: the delay
    /// set, plus what it took this server to get to the answer (zero if none answered).
    pub fn mean_held(&self) -> Duration {
        let state = lock(&self.state);
        let count = u32::try_from(state.held_count.max(1)).unwrap_or(u32::MAX);
        state.held_total / count
    }

    /// The queries answered since the last reset (`reset_peak_in_flight`), or since the
    /// server started.
    pub fn answered(&self) -> u64 {
        lock(&self.state).held_count
    }

    /// Stops answering anything (an outage) or starts again.
    pub fn set_down(&self, down: bool) {
        lock(&self.state).down = down;
    }

    /// Returns how many queries of a type arrived for a name.
    pub fn queries(&self, name: &str, rtype: RecordType) -> usize {
        lock(&self.state)
            .queries
            .get(&(key(name), rtype))
            .copied()
            .unwrap_or(0)
    }

    /// Returns how many queries arrived for a name, all types together.
    pub fn queries_for(&self, name: &str) -> usize {
        let name = key(name);
        lock(&self.state)
            .queries
            .iter()
            .filter(|((n, _), _)| *n == name)
            .map(|(_, count)| count)
            .sum()
    }

    /// Returns how many queries arrived in all.
    pub fn total_queries(&self) -> usize {
        lock(&self.state).queries.values().sum()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve_tcp(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        let Some(reply) = respond(&state, &query, Transport::Tcp).await else {
            continue;
        };
        let Ok(reply_len) = u16::try_from(reply.len()) else {
            return;
        };
        if stream.write_all(&reply_len.to_be_bytes()).await.is_err()
            || stream.write_all(&reply).await.is_err()
        {
            return;
        }
    }
}

/// How a query came: a UDP answer must fit the client's payload size.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

/// Waits out the delay, counting the query as in flight meanwhile, then answers it.
async fn respond(state: &Mutex<State>, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let received = std::time::Instant::now();
    let delay = {
        let mut state = lock(state);
        state.in_flight += 1;
        state.peak_in_flight = state.peak_in_flight.max(state.in_flight);
        held_for(state.delay, state.spread)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let reply = answer(state, query, transport);
    let mut state = lock(state);
    state.in_flight -= 1;
    state.held_total += received.elapsed();
    state.held_count += 1;
    reply
}

/// How long to hold one answer: `delay`, strayed from by up to `spread` either way,
/// uniformly, never below zero.
fn held_for(delay: Duration, spread: Duration) -> Duration {
    if spread.is_zero() || delay.is_zero() {
        return delay;
    }
    rand::random_range(delay.saturating_sub(spread)..=delay + spread)
}

/// The records of a zone for one type, owned by `owner`.
fn records(zone: &Zone, owner: &Name, rtype: RecordType, ttl: u32) -> Vec<Record> {
    match rtype {
        RecordType::MX => zone
            .mx
            .iter()
            .filter_map(|(pref, host)| {
                let exchange = Name::from_ascii(format!("{}.", key(host))).ok()?;
                Some(Record::from_rdata(
                    owner.clone(),
                    ttl,
                    RData::MX(MX::new(*pref, exchange)),
                ))
            })
            .collect(),
        RecordType::A => zone
            .a
            .iter()
            .map(|ip| Record::from_rdata(owner.clone(), ttl, RData::A(A(*ip))))
            .collect(),
        RecordType::AAAA => zone
            .aaaa
            .iter()
            .map(|ip| Record::from_rdata(owner.clone(), ttl, RData::AAAA(AAAA(*ip))))
            .collect(),
        _ => Vec::new(),
    }
}

/// Builds the reply to one query, or None to stay silent.
fn answer(state: &Mutex<State>, query: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let request = Message::from_vec(query).ok()?;
    let question = request.queries.first()?.clone();
    let name = key(&question.name().to_ascii());
    let rtype = question.query_type();
    let mut state = lock(state);
    *state.queries.entry((name.clone(), rtype)).or_insert(0) += 1;
    if state.down {
        return None;
    }
    let mut reply = Message::new(request.metadata.id, MessageType::Response, OpCode::Query);
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.metadata.authoritative = true;
    reply.add_query(question.clone());
    let owner = question.name().clone();
    let soa = || {
        let zone = Name::from_ascii("test.").unwrap_or_default();
        let rdata = SOA::new(
            zone.clone(),
            zone.clone(),
            1,
            3600,
            600,
            86400,
            state.negative_ttl,
        );
        Record::from_rdata(zone, state.negative_ttl, RData::SOA(rdata))
    };
    match state.zones.get(&name) {
        None => {
            reply.metadata.response_code = ResponseCode::NXDomain;
            reply.add_authority(soa());
        }
        Some(zone) => match zone.behaviour {
            Behaviour::Silent => return None,
            Behaviour::ServFail => reply.metadata.response_code = ResponseCode::ServFail,
            Behaviour::Refused => reply.metadata.response_code = ResponseCode::Refused,
            Behaviour::NxDomain => {
                reply.metadata.response_code = ResponseCode::NXDomain;
                reply.add_authority(soa());
            }
            Behaviour::Records => {
                let ttl = state.ttl;
                let answers = match &zone.cname {
                    // An alias: the CNAME, then what the target holds (one hop, as a
                    // recursive resolver hands it over).
                    Some(target) => {
                        let target_name = Name::from_ascii(format!("{target}.")).ok()?;
                        let mut answers = vec![Record::from_rdata(
                            owner.clone(),
                            ttl,
                            RData::CNAME(CNAME(target_name.clone())),
                        )];
                        if let Some(target_zone) = state.zones.get(target) {
                            answers.extend(records(target_zone, &target_name, rtype, ttl));
                        }
                        answers
                    }
                    None => records(zone, &owner, rtype, ttl),
                };
                if answers.is_empty() {
                    reply.add_authority(soa());
                } else {
                    reply.add_answers(answers);
                }
            }
        },
    }
    let bytes = reply.to_vec().ok()?;
    if transport == Transport::Udp && bytes.len() > usize::from(request.max_payload()) {
        // Too large for UDP: truncated, the client asks again over TCP.
        return reply.truncate().to_vec().ok();
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_delay_strays_both_ways_within_its_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(held_for(ms(100), Duration::ZERO), ms(100));
        assert_eq!(held_for(Duration::ZERO, ms(50)), Duration::ZERO);
        let draws: Vec<Duration> = (0..200).map(|_| held_for(ms(100), ms(50))).collect();
        assert!(draws.iter().all(|d| (ms(50)..=ms(150)).contains(d)));
        assert!(draws.iter().any(|d| *d < ms(90)) && draws.iter().any(|d| *d > ms(110)));
        let wide: Vec<Duration> = (0..200).map(|_| held_for(ms(20), ms(50))).collect();
        assert!(
            wide.iter().all(|d| *d <= ms(70)),
            "never below zero, so at most 70 ms"
        );
    }
}
