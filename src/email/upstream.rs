//! The name servers DNS questions go to, asked over hickory's UDP exchange (TCP when an
//! answer is truncated), one question at a time.
//!
//! Not hickory's `Resolver`: its layers above the exchange (the name server pool and its
//! shared lookups, the caching client, the lookup's records) cost a waiting question
//! about 7 KB more, and a cold batch holds thousands of questions waiting on a slow
//! resolver. What they did that this module needs, it does: name servers tried in turn,
//! attempts, TCP after truncation, answers kept to the question's name and the CNAME
//! chain from it. The exchange still checks each answer's source, ID and question, and
//! sends each question from a socket of its own on a random port.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_resolver::config::ProtocolConfig;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::tcp::TcpClientStream;
use hickory_resolver::net::udp::UdpClientStream;
use hickory_resolver::net::xfer::{DnsExchange, FirstAnswer};
use hickory_resolver::net::{DnsError, DnsHandle, NetError};
use hickory_resolver::proto::op::{DnsRequestOptions, DnsResponse, Query};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::sync::OnceCell;

/// The records that answer one question, and until when they hold.
pub(super) struct Answer {
    records: Vec<Record>,
    valid_until: Instant,
}

impl Answer {
    /// The answer section's records for the question's name and the CNAME chain from it.
    pub(super) fn answers(&self) -> &[Record] {
        &self.records
    }

    /// When the record with the shortest TTL expires.
    pub(super) fn valid_until(&self) -> Instant {
        self.valid_until
    }

    /// Keeps the records of `response` owned by `name` or by a name a kept CNAME points
    /// to, at most [`MAX_CNAME_LINKS`] links: a hostile server may add records for other
    /// names, which must not be taken for the answer, or a chain as long as the answer.
    /// Names compare without regard to case.
    fn of(response: DnsResponse, name: &Name) -> Answer {
        let answers = &response.answers;
        let mut chain: Vec<&Name> = vec![name];
        for _ in 0..MAX_CNAME_LINKS {
            let Some(&last) = chain.last() else { break };
            let next = answers.iter().find_map(|record| match &record.data {
                RData::CNAME(target) if record.name == *last => Some(&target.0),
                _ => None,
            });
            match next {
                Some(target) if !chain.contains(&target) => chain.push(target),
                _ => break,
            }
        }
        let records: Vec<Record> = answers
            .iter()
            .filter(|record| chain.contains(&&record.name))
            .cloned()
            .collect();
        let ttl = records.iter().map(|r| r.ttl).min().unwrap_or(0);
        Answer {
            records,
            valid_until: Instant::now() + Duration::from_secs(u64::from(ttl)),
        }
    }
}

/// The most CNAME links followed from a question's name within one answer.
const MAX_CNAME_LINKS: usize = 16;

/// One name server: its UDP exchange, made at the first question (it needs the runtime).
struct Server {
    addr: SocketAddr,
    udp: OnceCell<DnsExchange<TokioRuntimeProvider>>,
}

/// The name servers, asked in the order given.
pub(super) struct Upstream {
    servers: Vec<Server>,
    /// Holds the exchanges' background tasks: they stop when it is dropped.
    provider: TokioRuntimeProvider,
    timeout: Duration,
    attempts: usize,
}

impl Upstream {
    /// Asks `servers`, each question for at most `timeout` a server, `attempts` rounds.
    pub(super) fn new(servers: &[SocketAddr], timeout: Duration, attempts: usize) -> Upstream {
        Upstream {
            servers: servers
                .iter()
                .map(|&addr| Server {
                    addr,
                    udp: OnceCell::new(),
                })
                .collect(),
            provider: TokioRuntimeProvider::default(),
            timeout,
            attempts: attempts.max(1),
        }
    }

    /// The system's name servers (`/etc/resolv.conf` on Unix), over UDP.
    pub(super) fn system(timeout: Duration, attempts: usize) -> Result<Upstream, NetError> {
        let (config, _) = hickory_resolver::system_conf::read_system_conf()?;
        let servers: Vec<SocketAddr> = config
            .name_servers()
            .iter()
            .filter_map(|server| {
                let udp = server
                    .connections
                    .iter()
                    .find(|c| matches!(c.protocol, ProtocolConfig::Udp))?;
                Some(SocketAddr::new(server.ip, udp.port))
            })
            .collect();
        if servers.is_empty() {
            return Err(NetError::NoConnections);
        }
        Ok(Upstream::new(&servers, timeout, attempts))
    }

    /// Asks for the `rtype` records of the fully qualified `fqdn`: each server in turn
    /// until one answers, for `attempts` rounds while none does. An answer with no such
    /// records is `NoRecordsFound` (NXDOMAIN among them); SERVFAIL and REFUSED are errors
    /// after every server has said so, not asked again.
    pub(super) async fn query(&self, fqdn: &str, rtype: RecordType) -> Result<Answer, NetError> {
        let name = Name::from_ascii(fqdn)?;
        let query = Query::query(name.clone(), rtype);
        let mut last = NetError::NoConnections;
        for _ in 0..self.attempts {
            let mut transport_failed = false;
            for server in &self.servers {
                match self.ask(server, &query).await {
                    Ok(response) => match DnsError::from_response(response) {
                        Ok(response) => return Ok(Answer::of(response, &name)),
                        Err(err @ DnsError::NoRecordsFound(_)) => return Err(err.into()),
                        Err(err) => last = err.into(),
                    },
                    Err(err) => {
                        transport_failed = true;
                        last = err;
                    }
                }
            }
            if !transport_failed {
                break;
            }
        }
        Err(last)
    }

    /// One question to one server: over UDP, and again over TCP when the answer is
    /// truncated.
    async fn ask(&self, server: &Server, query: &Query) -> Result<DnsResponse, NetError> {
        let options = DnsRequestOptions::default();
        let udp = server
            .udp
            .get_or_init(|| async {
                UdpClientStream::builder(server.addr, self.provider.clone())
                    .with_timeout(Some(self.timeout))
                    // Attempts are this module's: no second query while the first waits.
                    .with_max_retries(1)
                    .exchange()
            })
            .await;
        let response = udp.lookup(query.clone(), options).first_answer().await?;
        if !response.truncation {
            return Ok(response);
        }
        // Boxed: rare, and inline it would take room in every waiting question's state.
        Box::pin(self.over_tcp(server, query, options)).await
    }

    /// One question over a TCP connection of its own, closed after: for the rare answer
    /// over the UDP payload.
    async fn over_tcp(
        &self,
        server: &Server,
        query: &Query,
        options: DnsRequestOptions,
    ) -> Result<DnsResponse, NetError> {
        let tcp = TcpClientStream::exchange(
            server.addr,
            None,
            self.timeout,
            Some(1),
            self.provider.clone(),
        )
        .await?;
        tcp.lookup(query.clone(), options).first_answer().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::{Message, OpCode};
    use hickory_resolver::proto::rr::rdata::{A, CNAME, MX};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    /// A hostile answer names other owners beside the question's: only the question's
    /// records and those down its CNAME chain are taken, whatever their case, and the
    /// answer holds as long as its shortest TTL.
    #[test]
    fn an_answer_keeps_the_questions_name_and_its_cname_chain_only() {
        let mut message = Message::response(7, OpCode::Query);
        message.add_answers([
            Record::from_rdata(
                name("Mail.Corp.com."),
                300,
                RData::CNAME(CNAME(name("relay.corp.com."))),
            ),
            Record::from_rdata(name("relay.corp.com."), 60, RData::A(A::new(192, 0, 2, 1))),
            Record::from_rdata(name("bank.com."), 5, RData::A(A::new(198, 51, 100, 9))),
            Record::from_rdata(
                name("mail.corp.com."),
                600,
                RData::MX(MX::new(10, name("bank.com."))),
            ),
        ]);
        let response = DnsResponse::from_message(message).unwrap();
        let before = Instant::now();
        let answer = Answer::of(response, &name("mail.corp.com."));
        let owners: Vec<String> = answer
            .answers()
            .iter()
            .map(|r| r.name.to_ascii().to_lowercase())
            .collect();
        assert_eq!(
            owners,
            ["mail.corp.com.", "relay.corp.com.", "mail.corp.com."]
        );
        let ttl = answer.valid_until() - before;
        assert!(
            ttl >= Duration::from_secs(59) && ttl <= Duration::from_secs(61),
            "{ttl:?}"
        );
    }

    /// A chain longer than [`MAX_CNAME_LINKS`] is cut there, in time linear in the
    /// answer, and a loop ends where it closes.
    #[test]
    fn a_long_or_looping_cname_chain_is_cut() {
        let mut message = Message::response(7, OpCode::Query);
        let link = |i: usize| name(&format!("c{i}.corp.com."));
        for i in 0..1000 {
            message.add_answer(Record::from_rdata(
                link(i),
                60,
                RData::CNAME(CNAME(link(i + 1))),
            ));
        }
        message.add_answer(Record::from_rdata(
            link(5),
            60,
            RData::A(A::new(192, 0, 2, 5)),
        ));
        message.add_answer(Record::from_rdata(
            link(500),
            60,
            RData::A(A::new(192, 0, 2, 9)),
        ));
        let response = DnsResponse::from_message(message).unwrap();
        let answer = Answer::of(response, &link(0));
        // The question's CNAME and the 16 links from it, and the address on the way.
        assert_eq!(answer.answers().len(), MAX_CNAME_LINKS + 1 + 1);
        assert!(answer
            .answers()
            .iter()
            .all(|r| !matches!(r.data, RData::A(a) if a == A::new(192, 0, 2, 9))));

        let mut message = Message::response(8, OpCode::Query);
        message.add_answers([
            Record::from_rdata(name("a.com."), 60, RData::CNAME(CNAME(name("b.com.")))),
            Record::from_rdata(name("b.com."), 60, RData::CNAME(CNAME(name("a.com.")))),
        ]);
        let response = DnsResponse::from_message(message).unwrap();
        assert_eq!(Answer::of(response, &name("a.com.")).answers().len(), 2);
    }

    /// A server that never answers: each question is given up after the timeout, every
    /// attempt, as a timeout (never a hang).
    #[tokio::test]
    async fn a_silent_server_times_out_every_attempt() {
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let upstream = Upstream::new(
            &[silent.local_addr().unwrap()],
            Duration::from_millis(100),
            2,
        );
        let err = upstream
            .query("a.example.com.", RecordType::MX)
            .await
            .err()
            .expect("no answer");
        assert!(matches!(err, NetError::Timeout), "{err:?}");
        let mut buf = [0u8; 512];
        for _ in 0..2 {
            let (len, _) = tokio::time::timeout(Duration::from_secs(1), silent.recv_from(&mut buf))
                .await
                .expect("a query each attempt")
                .unwrap();
            assert!(len > 12);
        }
    }
}
