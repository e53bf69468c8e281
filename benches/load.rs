//! The load benchmark: the real `leadcheck serve` against a DNS server on loopback, driven
//! by a tonic client of ours, next to the floor of the gRPC stack and the Python stack.
//!
//! ```sh
//! cargo bench --bench load                 # everything, a few minutes on 2 cores
//! cargo bench --bench load -- --help       # the knobs
//! ```
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it makes a smoke run of 2,000
//! leads and one-second unary runs without the Python stack, so the steps cannot rot.
//!
//! One run measures, in this order:
//! 1. `AssessLeads`, 100,000 unique leads over 300 domains, on a cold server;
//! 2. the DNS queries of that cold run, per distinct domain and per distinct exchanger,
//!    against the record types asked of each;
//! 3. `AssessLeads` again with 100,000 other unique leads (new emails and phones, same
//!    domains): the warm domain cache;
//! 4. `leadcheck batch` on a 100,000-row CSV of yet other leads, right after step 3, in
//!    rounds (`--batch-rounds`, 3 by default), each after a warm stream of fresh leads
//!    (the first round's is step 3): its leads/s against the streams', pooled over the
//!    rounds;
//! 5. the floors, on a minimal tonic server this benchmark starts as a child process of
//!    its own binary, under the same client and load as our server: `AssessLeads` and
//!    (in step 6) `AssessLead` answered with no work, every lead getting the typical
//!    response of step 3 (its median size), the limit of the gRPC stack for this
//!    contract's messages, which no implementation of it can pass; and
//!    `grpc.health.v1.Health/Check`, a unary RPC with a near-empty message;
//! 6. the unary runs, taking turns in rounds so that a change in the machine's speed falls
//!    on all of them alike: the floor's `Health/Check`, the no-work `AssessLead`, warm
//!    `AssessLead` on our server (5,000 leads of step 3, cached), and `Health/Check` on
//!    our server, which splits the gap to the floor into what our server's layers cost
//!    and what the lead's messages and assessment cost; requests/s, p50/p99, ratios;
//! 7. the server's peak RSS (VmHWM) after all of the above;
//! 8. the Python stack (email-validator + dnspython, phonenumbers, disposable-email-domains)
//!    on leads of step 3, with a warm DNS cache, via `scripts/bench_python_stack.py`;
//! 9. cold `leadcheck batch` runs as a B2B export makes them: 20,000 leads (`--cold-leads`)
//!    over as many distinct domains, with the client's defaults, each on a fresh server
//!    against the DNS server answering after a delay (`--cold-delays`, 0, 20 and 100 ms),
//!    the delays taking turns over rounds (`--cold-rounds`, 3): leads/s at each delay, over
//!    the whole run and over the middle half of its DNS answers (steady), the ratio of
//!    each to its round's undelayed run and their median, how busy the machine's
//!    CPU was, the peak RSS of server and client, and the most queries the DNS server held
//!    at once. `--only-cold` runs this step alone.
//!
//! Results print as a table and land in `target/loadbench.json`.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt, TryStreamExt};
use leadcheck::pb::lead_check_server::{LeadCheck, LeadCheckServer};
use leadcheck::pb::{
    AssessLeadRequest, EmailVerdict, Lead, LeadAssessment, PhoneVerdict, ValidateEmailRequest,
    ValidatePhoneRequest,
};
use leadcheck::testkit::{process, DnsServer};
use prost::Message;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status, Streaming};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::HealthCheckResponse;

/// The server's allocator for the floor server and the load generator too: the floor is
/// then the best a minimal tonic server does, and the load generator's own malloc and
/// free take less of the two cores the servers share.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// What one run does; every field has a flag.
#[derive(Debug, Clone)]
struct Options {
    leads: usize,
    domains: usize,
    seconds: u64,
    rounds: usize,
    batch_rounds: usize,
    concurrency: usize,
    connections: usize,
    streams: usize,
    python_leads: usize,
    skip_python: bool,
    skip_batch: bool,
    /// Leads (over as many distinct domains) of each cold batch run.
    cold_leads: usize,
    /// The DNS delays of the cold batch runs, in milliseconds.
    cold_delays: Vec<u64>,
    /// Rounds of the cold batch runs, every delay once a round.
    cold_rounds: usize,
    /// How far each delayed answer may stray from its delay, either way, in milliseconds.
    cold_spread: u64,
    /// Run only the cold batch runs.
    only_cold: bool,
    /// A configuration file given to the server (`--config`).
    server_config: Option<String>,
    /// Another `leadcheck` binary to serve (an older build, to compare in one sitting).
    server_bin: Option<String>,
    /// Another `leadcheck` binary to run `leadcheck batch` with (likewise, for the client).
    batch_bin: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            leads: 100_000,
            domains: 300,
            seconds: 10,
            rounds: 4,
            batch_rounds: 3,
            concurrency: 64,
            connections: 4,
            streams: 1,
            python_leads: 20_000,
            skip_python: false,
            skip_batch: false,
            cold_leads: 20_000,
            cold_delays: vec![0, 20, 100],
            cold_rounds: 3,
            cold_spread: 0,
            only_cold: false,
            server_config: None,
            server_bin: None,
            batch_bin: None,
        }
    }
}

const HELP: &str = "cargo bench --bench load -- [flags]
  --leads N          unique leads per stream run (default 100000)
  --domains N        distinct email domains (default 300)
  --seconds N        measured seconds of each unary target (default 10)
  --rounds N         rounds the unary targets take turns in (default 4)
  --batch-rounds N   rounds of a warm stream then `leadcheck batch` (default 3)
  --concurrency N    unary requests in flight (default 64)
  --connections N    HTTP/2 connections of the unary runs (default 4)
  --streams N        AssessLeads streams the leads are split over (default 1)
  --python-leads N   leads given to the Python stack (default 20000)
  --skip-python      leave the Python stack out
  --skip-batch       leave `leadcheck batch` out
  --cold-leads N     leads over as many distinct domains of each cold batch run (default 20000)
  --cold-delays L    DNS delays of the cold batch runs, in ms, comma-separated (default 0,20,100)
  --cold-rounds N    rounds of the cold batch runs, each delay once a round (default 3)
  --cold-spread MS   let each delayed answer stray up to MS either way, uniformly (default 0)
  --only-cold        run only the cold batch runs
  --server-config F  start the server with --config F (to compare settings)
  --server-bin PATH  serve with another leadcheck binary (to compare builds)
  --batch-bin PATH   run `leadcheck batch` with another leadcheck binary (likewise)";

fn parse_options() -> Options {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it. Then a small smoke run checks that every step still works, in seconds.
    let mut options = if std::env::args().any(|a| a == "--bench") {
        Options::default()
    } else {
        Options {
            leads: 2_000,
            domains: 30,
            seconds: 1,
            python_leads: 0,
            skip_python: true,
            cold_leads: 500,
            cold_delays: vec![0, 20],
            cold_rounds: 1,
            ..Options::default()
        }
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} wants a number"))
        };
        match arg.as_str() {
            "--leads" => options.leads = number("--leads"),
            "--domains" => options.domains = number("--domains").max(1),
            "--seconds" => options.seconds = number("--seconds") as u64,
            "--rounds" => options.rounds = number("--rounds").max(1),
            "--batch-rounds" => options.batch_rounds = number("--batch-rounds").max(1),
            "--concurrency" => options.concurrency = number("--concurrency").max(1),
            "--connections" => options.connections = number("--connections").max(1),
            "--streams" => options.streams = number("--streams").max(1),
            "--python-leads" => options.python_leads = number("--python-leads"),
            "--skip-python" => options.skip_python = true,
            "--skip-batch" => options.skip_batch = true,
            "--cold-leads" => options.cold_leads = number("--cold-leads").max(1),
            "--cold-delays" => {
                options.cold_delays = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|d| d.trim().parse().expect("--cold-delays wants numbers"))
                    .collect()
            }
            "--cold-rounds" => options.cold_rounds = number("--cold-rounds").max(1),
            "--cold-spread" => options.cold_spread = number("--cold-spread") as u64,
            "--only-cold" => options.only_cold = true,
            "--server-config" => options.server_config = args.next(),
            "--server-bin" => options.server_bin = args.next(),
            "--batch-bin" => options.batch_bin = args.next(),
            "--help" | "-h" => {
                println!("{HELP}");
                std::process::exit(0);
            }
            // `cargo bench` passes `--bench`; a filter may follow. Neither means anything here.
            _ => {}
        }
    }
    options
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--floor-server") {
        floor_server(std::env::args().nth(2).map(PathBuf::from));
        return;
    }
    let options = parse_options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(options));
}

// ---------------------------------------------------------------------------------------
// The floor: a minimal tonic server, in a child process like the real one.

/// Serves `grpc.health.v1.Health`; given the file of a typical `LeadAssessment` (prost
/// bytes), also `LeadCheck`, answering `AssessLead` and `AssessLeads` with that message
/// and no work: what the gRPC stack alone costs for this contract's messages.
fn floor_server(canned: Option<PathBuf>) {
    let canned = canned.map(|path| {
        let bytes = std::fs::read(&path).expect("the canned assessment");
        std::sync::Arc::new(LeadAssessment::decode(bytes.as_slice()).expect("a LeadAssessment"))
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (reporter, service) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!(
            "floor listening on {}",
            listener.local_addr().expect("addr")
        );
        let canned = canned.map(|canned| {
            LeadCheckServer::new(Canned(canned))
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(usize::MAX)
        });
        tonic::transport::Server::builder()
            .add_service(service)
            .add_optional_service(canned)
            // The same socket as leadcheck's: the no-work calls stay the limit of the stack
            // leadcheck runs on. The floor's own call is too small for it to matter.
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(listener)
                    .with_nodelay(Some(true))
                    .map_ok(leadcheck::server::Socket),
            )
            .await
            .expect("serve");
    });
}

/// `LeadCheck` answering every lead with the same assessment, its request id echoed.
struct Canned(std::sync::Arc<LeadAssessment>);

impl Canned {
    fn answer(canned: &LeadAssessment, request: AssessLeadRequest) -> LeadAssessment {
        LeadAssessment {
            request_id: request.request_id,
            ..canned.clone()
        }
    }
}

#[tonic::async_trait]
impl LeadCheck for Canned {
    async fn validate_email(
        &self,
        _: Request<ValidateEmailRequest>,
    ) -> Result<Response<EmailVerdict>, Status> {
        Err(Status::unimplemented(
            "the floor answers AssessLead(s) only",
        ))
    }

    async fn validate_phone(
        &self,
        _: Request<ValidatePhoneRequest>,
    ) -> Result<Response<PhoneVerdict>, Status> {
        Err(Status::unimplemented(
            "the floor answers AssessLead(s) only",
        ))
    }

    async fn assess_lead(
        &self,
        request: Request<AssessLeadRequest>,
    ) -> Result<Response<LeadAssessment>, Status> {
        Ok(Response::new(Canned::answer(&self.0, request.into_inner())))
    }

    type AssessLeadsStream =
        std::pin::Pin<Box<dyn Stream<Item = Result<LeadAssessment, Status>> + Send>>;

    async fn assess_leads(
        &self,
        request: Request<Streaming<AssessLeadRequest>>,
    ) -> Result<Response<Self::AssessLeadsStream>, Status> {
        let canned = self.0.clone();
        let answers = request
            .into_inner()
            .map(move |item| item.map(|request| Canned::answer(&canned, request)));
        Ok(Response::new(Box::pin(answers)))
    }
}

/// A child process that prints `PREFIX ADDR` once it listens; killed on drop.
struct Process {
    child: Child,
    addr: SocketAddr,
}

impl Process {
    fn start(mut command: Command, prefix: &'static str) -> Process {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a server");
        let stdout = child.stdout.take().expect("stdout");
        let addr = process::announced_addr(stdout, prefix, Duration::from_secs(120))
            .expect("the server did not start");
        Process { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Peak resident memory so far, in KiB (Linux `VmHWM`; 0 if unreadable).
    fn peak_rss_kib(&self) -> u64 {
        process::peak_rss_kib(self.child.id()).unwrap_or(0)
    }

    /// CPU time spent so far (zero if unreadable).
    fn cpu(&self) -> Duration {
        process::cpu_time(self.child.id()).unwrap_or_default()
    }
}

/// CPU time of this process (the load generator) so far.
fn own_cpu() -> Duration {
    process::cpu_time(std::process::id()).unwrap_or_default()
}

/// CPU time of the children this process has waited for (the batch client) so far.
fn waited_children_cpu() -> Duration {
    process::waited_children_cpu_time().unwrap_or_default()
}

/// Microseconds of CPU per unit of work.
fn micros_per(spent: Duration, count: usize) -> f64 {
    spent.as_secs_f64() * 1e6 / count.max(1) as f64
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Leads: unique emails and phones over a fixed set of domains.

/// The domains and what DNS says of them: most have MX records (one in three at one of
/// three shared hosting exchangers, the others at exchangers of their own, each with an A
/// record), some only an A record (implicit MX: MX, A and AAAA are asked), a few do not
/// exist.
struct Domains {
    names: Vec<String>,
    /// The distinct exchangers the service resolves: each MX domain's first.
    exchangers: Vec<String>,
    /// Queries the service asks, summed over the distinct domains (MX; A and AAAA for an
    /// implicit MX) and the distinct exchangers (A, which they all have): the cold run's
    /// query bound.
    query_bound: usize,
}

/// The shared hosting exchangers, as Google Workspace or Microsoft 365 domains share theirs.
const HOSTED_EXCHANGERS: [&str; 3] = [
    "mx1.hosting-a.com",
    "mx1.hosting-b.com",
    "mx1.hosting-c.com",
];

fn set_up_domains(dns: &DnsServer, count: usize) -> Domains {
    let mut names = Vec::with_capacity(count);
    let mut exchangers: Vec<String> = Vec::new();
    let mut query_bound = 0;
    for i in 0..count {
        let name = format!("leads{:03}.com", i + 1);
        match i % 30 {
            // One in thirty: no such domain; MX is asked, NXDOMAIN ends it.
            29 => query_bound += 1,
            // One in thirty: an A record only; MX, then A and AAAA.
            28 => {
                dns.a(&name, &[Ipv4Addr::new(192, 0, 2, (i % 250) as u8 + 1)]);
                query_bound += 3;
            }
            // One in three: a shared hosting exchanger, with its own as a backup.
            n if n % 3 == 0 => {
                let hosted = HOSTED_EXCHANGERS[(i / 3) % HOSTED_EXCHANGERS.len()];
                dns.mx(&name, &[(1, hosted), (20, &format!("mx2.{name}"))]);
                if !exchangers.iter().any(|e| e == hosted) {
                    exchangers.push(hosted.to_string());
                }
                query_bound += 1;
            }
            _ => {
                let own = format!("mx1.{name}");
                dns.mx(&name, &[(10, &own), (20, &format!("mx2.{name}"))]);
                exchangers.push(own);
                query_bound += 1;
            }
        }
        names.push(name);
    }
    // Every exchanger resolved has an A record: one query each.
    query_bound += exchangers.len();
    // Positive answers outlive the benchmark; negative ones too.
    dns.set_ttls(3600, 3600);
    Domains {
        names,
        exchangers,
        query_bound,
    }
}

const FIRST: [&str; 12] = [
    "ana", "bruno", "carla", "dmitri", "elena", "felipe", "greta", "hugo", "irina", "joao",
    "katja", "luis",
];
const LAST: [&str; 12] = [
    "silva",
    "garcia",
    "ivanova",
    "muller",
    "costa",
    "lopez",
    "petrov",
    "schmidt",
    "santos",
    "fernandez",
    "smirnov",
    "weber",
];
const TITLES: [&str; 6] = [
    "Head of Marketing",
    "CTO",
    "Sales Manager",
    "Analyst",
    "Director de Ventas",
    "Gerente Comercial",
];
const SOURCES: [&str; 4] = [
    "Google-Search | 1001.77",
    "Facebook-Form | 2002.12",
    "LinkedIn-Ads | 3003.5",
    "Webinar-Signup | 4004.9",
];

/// A phone number unique for `n` (n < 10^7 per country), written the way exports write
/// them: some E.164, some national with the lead's country.
fn phone(n: usize) -> (String, &'static str) {
    let sub = n / 5;
    match n % 5 {
        // US: area 212, exchange 2xx-9xx (never 555), 4-digit line.
        0 => (
            format!(
                "+1 212 {}{:02} {:04}",
                2 + (sub / 1_000_000) % 8,
                (sub / 10_000) % 100,
                sub % 10_000
            ),
            "US",
        ),
        // Germany, Berlin: 030 then 8 digits, national format.
        1 => (format!("030 {:08}", 20_000_000 + sub % 70_000_000), "DE"),
        // Brazil, São Paulo mobile: 11 9xxxx-xxxx.
        2 => (
            format!(
                "+55 11 9{:04}-{:04}",
                6000 + (sub / 10_000) % 4000,
                sub % 10_000
            ),
            "BR",
        ),
        // Spain mobile: 6xx xxx xxx.
        3 => (
            format!(
                "6{:02} {:03} {:03}",
                10 + (sub / 1_000_000) % 90,
                (sub / 1000) % 1000,
                sub % 1000
            ),
            "ES",
        ),
        // Russia mobile: +7 9xx xxx-xx-xx.
        _ => (
            format!(
                "+7 9{:02} {:03}-{:02}-{:02}",
                10 + (sub / 10_000_000) % 90,
                (sub / 10_000) % 1000,
                (sub / 100) % 100,
                sub % 100
            ),
            "RU",
        ),
    }
}

/// Lead `n` of set `set`: its email and phone are unique across every set.
fn lead(domains: &Domains, set: usize, n: usize) -> Lead {
    let global = set * 1_000_000 + n;
    let first = FIRST[n % FIRST.len()];
    let last = LAST[(n / FIRST.len()) % LAST.len()];
    let domain = &domains.names[n % domains.names.len()];
    let (phone, country) = phone(global);
    Lead {
        first_name: first.to_string(),
        last_name: last.to_string(),
        email: format!("{first}.{last}.{global}@{domain}"),
        phone,
        country: country.to_string(),
        company: format!("Company {}", n % 997),
        title: TITLES[n % TITLES.len()].to_string(),
        lead_source: SOURCES[n % SOURCES.len()].to_string(),
        created_at: None,
        ..Lead::default()
    }
}

fn leads(domains: &Domains, set: usize, count: usize) -> Vec<Lead> {
    (0..count).map(|n| lead(domains, set, n)).collect()
}

// ---------------------------------------------------------------------------------------
// Load generators.

/// Requests/s and latency of a fixed-length unary run.
#[derive(Debug, Default, Clone, Copy)]
struct Unary {
    requests: usize,
    errors: usize,
    per_second: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn channels(url: &str, count: usize) -> Vec<Channel> {
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        let channel = Endpoint::from_shared(url.to_string())
            .expect("url")
            .connect()
            .await
            .expect("connect");
        channels.push(channel);
    }
    channels
}

/// The empty call the floor is made of: a health check of the whole server, its empty
/// request sent as the (zero) bytes it encodes to.
async fn health_check(channel: Channel) -> bool {
    unary_raw(channel, HEALTH_CHECK, bytes::Bytes::new())
        .await
        .is_some_and(|answer| {
            HealthCheckResponse::decode(answer).is_ok_and(|r| r.status == SERVING as i32)
        })
}

/// The `AssessLead` call of the unary runs, its request encoded before the run: an answer
/// that reads back as one.
async fn assess_lead(channel: Channel, request: bytes::Bytes) -> bool {
    unary_raw(channel, ASSESS_LEAD, request)
        .await
        .is_some_and(|answer| AnswerId::decode(answer).is_ok_and(|a| a.quality != 0))
}

/// One unary call through [`Raw`]: the answer's bytes, or None for a failed call.
async fn unary_raw(
    channel: Channel,
    path: &'static str,
    request: bytes::Bytes,
) -> Option<bytes::Bytes> {
    let mut grpc = answers_client(channel);
    grpc.ready().await.ok()?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
    let answer = grpc.unary(Request::new(request), path, Raw).await.ok()?;
    Some(answer.into_inner())
}

/// The requests of the unary `AssessLead` runs, each encoded once, before the run.
fn unary_requests(leads: &[Lead]) -> std::sync::Arc<Vec<bytes::Bytes>> {
    let encode = |lead: &Lead| {
        let request = AssessLeadRequest {
            request_id: String::new(),
            lead: Some(lead.clone()),
            as_of: None,
        };
        bytes::Bytes::from(request.encode_to_vec())
    };
    std::sync::Arc::new(leads.iter().map(encode).collect())
}

const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";
const SERVING: ServingStatus = ServingStatus::Serving;
const ASSESS_LEAD: &str = "/leadcheck.v1.LeadCheck/AssessLead";
const ASSESS_LEADS: &str = "/leadcheck.v1.LeadCheck/AssessLeads";

/// A client of `AssessLead(s)` through [`Answers`], without message size limits.
fn answers_client(channel: Channel) -> tonic::client::Grpc<Channel> {
    tonic::client::Grpc::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX)
}

/// The load generator's codec for `AssessLead(s)`: requests encoded by prost, answers
/// kept as their bytes (a slice of the received buffer, not a copy). The generator reads
/// of most answers only what checks them ([`AnswerId`]) and decodes whole only the ones
/// it samples: decoding each of the ~37 strings of every answer would spend the
/// generator's CPU, on the two cores it shares with the server it measures. A real
/// client reads what it needs, as `leadcheck batch` does for CSV (`src/batch/view.rs`).
#[derive(Debug, Clone, Copy, Default)]
struct Answers;

impl tonic::codec::Codec for Answers {
    type Encode = AssessLeadRequest;
    type Decode = bytes::Bytes;
    type Encoder = tonic_prost::ProstEncoder<AssessLeadRequest>;
    type Decoder = Answers;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Answers {
        Answers
    }
}

impl tonic::codec::Decoder for Answers {
    type Item = bytes::Bytes;
    type Error = Status;

    fn decode(
        &mut self,
        buf: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<bytes::Bytes>, Status> {
        use bytes::Buf;
        Ok(Some(buf.copy_to_bytes(buf.remaining())))
    }
}

/// The unary runs' codec: each request sent as bytes encoded before the run, as h2load
/// sends its requests, each answer kept as its bytes. The same for the floor's empty call
/// and for `AssessLead`: cloning and encoding a lead for every call would spend the load
/// generator's CPU, on the two cores it shares with the server it measures.
#[derive(Debug, Clone, Copy, Default)]
struct Raw;

impl tonic::codec::Codec for Raw {
    type Encode = bytes::Bytes;
    type Decode = bytes::Bytes;
    type Encoder = Raw;
    type Decoder = Answers;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Answers {
        Answers
    }
}

impl tonic::codec::Encoder for Raw {
    type Item = bytes::Bytes;
    type Error = Status;

    fn encode(
        &mut self,
        item: bytes::Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Status> {
        use bytes::BufMut;
        dst.put(item);
        Ok(())
    }
}

/// What the load generator checks of every answer: whose it is, and that it has a
/// quality. prost skips the fields a message does not declare.
#[derive(Clone, PartialEq, prost::Message)]
struct AnswerId {
    #[prost(string, tag = "1")]
    request_id: String,
    #[prost(int32, tag = "5")]
    quality: i32,
}

/// A unary call of the load generator.
#[derive(Clone)]
enum Call {
    /// The floor's empty `Health/Check`.
    Health,
    /// `AssessLead`, the requests of a working set taken in turn.
    Assess(std::sync::Arc<Vec<bytes::Bytes>>),
}

impl Call {
    async fn make(&self, channel: Channel, n: usize) -> bool {
        match self {
            Call::Health => health_check(channel).await,
            Call::Assess(set) => assess_lead(channel, set[n % set.len()].clone()).await,
        }
    }
}

/// Warm-up of each unary slice, on its fresh connections, before calls count.
const WARM_UP: Duration = Duration::from_millis(500);

/// What one unary slice measured: the latency of every call, how many failed, and the CPU
/// the server and this process spent meanwhile.
struct Slice {
    latencies: Vec<u64>,
    errors: usize,
    server_cpu: Duration,
    client_cpu: Duration,
}

/// Makes `call` to `server` from `concurrency` tasks over `connections` connections:
/// [`WARM_UP`], then `measured`, the only part whose calls and CPU count.
async fn unary_load(server: &Process, options: &Options, call: &Call, measured: Duration) -> Slice {
    let channels = channels(&server.url(), options.connections).await;
    let warm_until = Instant::now() + WARM_UP;
    let stop_at = warm_until + measured;
    let mut tasks = Vec::new();
    for worker in 0..options.concurrency {
        let channel = channels[worker % channels.len()].clone();
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(1 << 16);
            let mut errors = 0;
            let mut n = worker;
            loop {
                let started = Instant::now();
                if started >= stop_at {
                    break;
                }
                let ok = call.make(channel.clone(), n).await;
                n += 1 << 10;
                if started >= warm_until {
                    latencies.push(started.elapsed().as_micros() as u64);
                    errors += usize::from(!ok);
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep_until(warm_until.into()).await;
    let (server_cpu, client_cpu) = (server.cpu(), own_cpu());
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("worker");
        latencies.extend(l);
        errors += e;
    }
    Slice {
        latencies,
        errors,
        server_cpu: server.cpu() - server_cpu,
        client_cpu: own_cpu() - client_cpu,
    }
}

impl Unary {
    /// The rate and latencies of calls made over `seconds`.
    fn from_latencies(mut latencies: Vec<u64>, errors: usize, seconds: f64) -> Unary {
        latencies.sort_unstable();
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * q) as usize)
                .copied()
                .unwrap_or(0)
        };
        Unary {
            requests: latencies.len(),
            errors,
            per_second: latencies.len() as f64 / seconds,
            p50_us: at(0.50),
            p99_us: at(0.99),
        }
    }
}

/// One measured unary run, and microseconds of CPU per call spent by the server and by
/// this process (the client).
struct MeasuredUnary {
    unary: Unary,
    server_cpu: f64,
    client_cpu: f64,
}

/// One target of the unary runs: a server, and the call made to it.
struct UnaryTarget<'a> {
    server: &'a Process,
    call: Call,
}

/// The unary runs of several targets, interleaved: `options.rounds` rounds, each giving
/// every target in turn its share of `options.seconds`. A shared machine's speed moves
/// with its neighbours within minutes; run one after another, a slow spell falls on
/// whichever target runs then and moves the ratio between them (BENCHMARKS.md).
/// Interleaved, it falls on all of them alike.
/// Measures the CPU each target's calls cost its server and this process, warm-ups left
/// out.
async fn interleaved_unary(targets: &[UnaryTarget<'_>], options: &Options) -> Vec<MeasuredUnary> {
    let rounds = options.rounds.max(1);
    let slice = Duration::from_secs_f64(options.seconds as f64 / rounds as f64);
    let mut runs: Vec<(Vec<u64>, usize, Duration, Duration)> = targets
        .iter()
        .map(|_| (Vec::new(), 0, Duration::ZERO, Duration::ZERO))
        .collect();
    for _ in 0..rounds {
        for (target, run) in targets.iter().zip(&mut runs) {
            let measured = unary_load(target.server, options, &target.call, slice).await;
            run.0.extend(measured.latencies);
            run.1 += measured.errors;
            run.2 += measured.server_cpu;
            run.3 += measured.client_cpu;
        }
    }
    let seconds = slice.as_secs_f64() * rounds as f64;
    runs.into_iter()
        .map(|(latencies, errors, server_cpu, client_cpu)| {
            let unary = Unary::from_latencies(latencies, errors, seconds);
            MeasuredUnary {
                server_cpu: micros_per(server_cpu, unary.requests),
                client_cpu: micros_per(client_cpu, unary.requests),
                unary,
            }
        })
        .collect()
}

/// One measured `AssessLeads` run: leads/s, microseconds of CPU per lead spent by the
/// server and by this process (the client), and a typical response.
struct Streamed {
    rate: f64,
    server_cpu: f64,
    client_cpu: f64,
    /// The response of median encoded size among the first [`SAMPLED_RESPONSES`].
    typical: Option<LeadAssessment>,
    /// The smallest and the largest encoded size among them, in bytes.
    response_bytes: (usize, usize),
}

/// How many responses of a stream run are kept to choose its typical one from.
const SAMPLED_RESPONSES: usize = 1_000;

/// Pushes `leads` as [`stream_run`] does, checks every one was answered, and measures the
/// CPU the run cost the server and the client.
async fn measured_stream(
    server: &Process,
    url: &str,
    leads: Vec<Lead>,
    streams: usize,
) -> Streamed {
    let count = leads.len();
    let (server_cpu, client_cpu) = (server.cpu(), own_cpu());
    let (rate, received, mut sample) = stream_run(url, leads, streams).await;
    assert_eq!(received, count, "every lead answered");
    let server_cpu = micros_per(server.cpu() - server_cpu, received);
    let client_cpu = micros_per(own_cpu() - client_cpu, received);
    sample.sort_by_key(Message::encoded_len);
    let response_bytes = (
        sample.first().map_or(0, Message::encoded_len),
        sample.last().map_or(0, Message::encoded_len),
    );
    let typical = (!sample.is_empty()).then(|| sample.swap_remove(sample.len() / 2));
    Streamed {
        rate,
        server_cpu,
        client_cpu,
        typical,
        response_bytes,
    }
}

/// Leads/s of pushing `leads` through `AssessLeads` over `streams` concurrent streams,
/// how many answers came back, and the first [`SAMPLED_RESPONSES`] of them.
async fn stream_run(
    url: &str,
    leads: Vec<Lead>,
    streams: usize,
) -> (f64, usize, Vec<LeadAssessment>) {
    let channel = channels(url, 1).await.remove(0);
    let total = leads.len();
    let per_stream = total.div_ceil(streams).max(1);
    let mut chunks: Vec<(usize, Vec<AssessLeadRequest>)> = Vec::new();
    let mut requests = leads
        .into_iter()
        .enumerate()
        .map(|(i, lead)| AssessLeadRequest {
            request_id: i.to_string(),
            lead: Some(lead),
            as_of: None,
        });
    loop {
        let first = chunks.len() * per_stream;
        let chunk: Vec<_> = requests.by_ref().take(per_stream).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push((first, chunk));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (first, chunk) in chunks {
        let mut client = answers_client(channel.clone());
        tasks.push(tokio::spawn(async move {
            client.ready().await.expect("AssessLeads: the channel");
            let path = tonic::codegen::http::uri::PathAndQuery::from_static(ASSESS_LEADS);
            let request = Request::new(tokio_stream::iter(chunk));
            let mut responses: Streaming<bytes::Bytes> = client
                .streaming(request, path, Answers)
                .await
                .expect("AssessLeads")
                .into_inner();
            let mut received = 0;
            let mut sample = Vec::new();
            while let Some(answer) = responses.message().await.expect("stream") {
                // Answers come in request order: each is the next lead's.
                let id = AnswerId::decode(answer.clone()).expect("an answer");
                assert_eq!(
                    id.request_id.parse::<usize>().ok(),
                    Some(first + received),
                    "answers in request order"
                );
                assert_ne!(id.quality, 0, "an answer without a quality");
                if sample.len() < SAMPLED_RESPONSES {
                    sample.push(LeadAssessment::decode(answer).expect("an assessment"));
                }
                received += 1;
            }
            (received, sample)
        }));
    }
    let mut received = 0;
    let mut sample = Vec::new();
    for task in tasks {
        let (count, some) = task.await.expect("stream task");
        received += count;
        sample.extend(some);
    }
    let seconds = started.elapsed().as_secs_f64();
    (total as f64 / seconds, received, sample)
}

// ---------------------------------------------------------------------------------------
// The batch client and the Python stack.

fn write_csv(path: &Path, leads: &[Lead]) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    writeln!(
        out,
        "first_name,last_name,email,phone,country,company,title,lead_source"
    )
    .unwrap();
    for l in leads {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            l.first_name,
            l.last_name,
            l.email,
            l.phone,
            l.country,
            l.company,
            l.title,
            l.lead_source
        )
        .unwrap();
    }
}

/// Leads/s of `leadcheck batch` on a CSV of `leads`, process start to exit.
/// One `leadcheck batch` run: leads/s, and microseconds of CPU per lead spent by the
/// server and by the batch client.
struct Batch {
    rate: f64,
    server_cpu: f64,
    client_cpu: f64,
}

/// The batch rounds: each a warm stream of fresh leads, then `leadcheck batch` on other
/// fresh leads, as many of each. A run of either lasts a third of a second, and alone one
/// pair moved from 0.70 to 1.07 on the same build: in rounds, a slow spell of the VM
/// weighs on the pooled ratio, not decides it.
#[derive(Default)]
struct BatchRounds {
    /// Leads/s of each round's stream and of its batch.
    streams: Vec<f64>,
    batches: Vec<f64>,
    /// Sums of each batch run's CPU per lead, server and client.
    server_cpu: f64,
    client_cpu: f64,
}

impl BatchRounds {
    fn push(&mut self, stream_rate: f64, batch: Batch) {
        self.streams.push(stream_rate);
        self.batches.push(batch.rate);
        self.server_cpu += batch.server_cpu;
        self.client_cpu += batch.client_cpu;
    }

    /// Leads/s of all runs together: total leads over total time (runs of equal size).
    fn pooled(rates: &[f64]) -> f64 {
        rates.len() as f64 / rates.iter().map(|r| 1.0 / r).sum::<f64>()
    }

    /// The batch client's leads/s over all its runs.
    fn rate(&self) -> f64 {
        Self::pooled(&self.batches)
    }

    /// The batch's leads/s against the streams' over all rounds: their total time over
    /// the batch's.
    fn ratio(&self) -> f64 {
        self.rate() / Self::pooled(&self.streams)
    }

    /// Each round's batch / stream, in order.
    fn each(&self) -> Vec<f64> {
        self.batches
            .iter()
            .zip(&self.streams)
            .map(|(b, s)| b / s)
            .collect()
    }

    /// CPU per batch lead, averaged over the runs: server, client.
    fn cpu(&self) -> (f64, f64) {
        let runs = self.batches.len().max(1) as f64;
        (self.server_cpu / runs, self.client_cpu / runs)
    }
}

fn batch_run(server: &Process, dir: &Path, leads: &[Lead], binary: Option<&str>) -> Batch {
    let input = dir.join("leads.csv");
    let output = dir.join("assessed.csv");
    write_csv(&input, leads);
    let (server_cpu, client_cpu) = (server.cpu(), waited_children_cpu());
    let started = Instant::now();
    let status = Command::new(binary.unwrap_or(env!("CARGO_BIN_EXE_leadcheck")))
        .args(["batch", "--server", &server.url(), "--quiet", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .status()
        .expect("leadcheck batch");
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success(), "leadcheck batch failed");
    let server_cpu = micros_per(server.cpu() - server_cpu, leads.len());
    let client_cpu = micros_per(waited_children_cpu() - client_cpu, leads.len());
    let rows = BufReader::new(std::fs::File::open(&output).expect("output"))
        .lines()
        .count();
    assert_eq!(
        rows,
        leads.len() + 1,
        "one output row a lead, plus the header"
    );
    Batch {
        rate: leads.len() as f64 / seconds,
        server_cpu,
        client_cpu,
    }
}

/// Runs the Python stack on `leads` with a warm DNS cache; returns its JSON report.
fn python_run(dns: SocketAddr, dir: &Path, leads: &[Lead]) -> Option<serde_json::Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let setup = Command::new("bash")
        .arg(root.join("scripts/bench_python_setup.sh"))
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    if !setup.status.success() {
        eprintln!("the Python stack could not be installed; left out");
        return None;
    }
    let python = String::from_utf8_lossy(&setup.stdout)
        .lines()
        .last()?
        .trim()
        .to_string();
    let input = dir.join("leads.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&input).ok()?);
    for l in leads {
        let line = serde_json::json!({"email": l.email, "phone": l.phone, "country": l.country});
        writeln!(out, "{line}").ok()?;
    }
    drop(out);
    let output = Command::new(python)
        .arg(root.join("scripts/bench_python_stack.py"))
        .args(["--warm", "--dns", &dns.to_string(), "--leads"])
        .arg(&input)
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!("the Python stack failed; left out");
        return None;
    }
    serde_json::from_slice(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()?
            .as_bytes(),
    )
    .ok()
}

// ---------------------------------------------------------------------------------------

async fn run(options: Options) {
    eprintln!("load benchmark: {options:?}");
    let dns = DnsServer::start().await.expect("DNS server");
    let domains = set_up_domains(&dns, options.domains);
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut report = serde_json::Map::new();

    if options.only_cold {
        let cold = cold_batches(&dns, &options, scratch.path());
        print_cold(&options, &cold);
        report.insert("options".into(), format!("{options:?}").into());
        report.insert("cold_batch".into(), cold_json(&cold));
        write_report(&report, "loadbench-cold.json");
        return;
    }

    let server = start_server(&dns, &options);
    let url = server.url();
    eprintln!("server started; peak RSS {} KiB", server.peak_rss_kib());

    // 1-2. Cold stream, and the DNS queries it cost.
    let before = dns.total_queries();
    let cold_leads = leads(&domains, 1, options.leads);
    let cold = measured_stream(&server, &url, cold_leads, options.streams).await;
    let cold_queries = dns.total_queries() - before;
    let on = |names: &[String]| names.iter().map(|n| dns.queries_for(n)).sum::<usize>();
    let (domain_queries, exchanger_queries) = (on(&domains.names), on(&domains.exchangers));
    assert!(
        cold_queries <= domains.query_bound,
        "{cold_queries} DNS queries for {} domains and {} exchangers: more than the record types asked ({})",
        domains.names.len(),
        domains.exchangers.len(),
        domains.query_bound
    );
    assert_eq!(
        domain_queries + exchanger_queries,
        cold_queries,
        "queries for names that are neither a domain nor a first exchanger"
    );
    eprintln!(
        "cold stream: {:.0} leads/s, {cold_queries} DNS queries; server peak RSS {} KiB",
        cold.rate,
        server.peak_rss_kib()
    );

    // 3. Warm stream: other leads, same domains.
    let warm_leads = leads(&domains, 2, options.leads);
    let warm = measured_stream(&server, &url, warm_leads.clone(), options.streams).await;
    let warm_queries = dns.total_queries() - before - cold_queries;
    eprintln!(
        "warm stream: {:.0} leads/s, {warm_queries} DNS queries; server peak RSS {} KiB",
        warm.rate,
        server.peak_rss_kib()
    );

    // 4. The batch client on fresh leads, each run right after a warm stream of other
    // fresh leads (the first, step 3's) that it is compared with.
    let batch = if options.skip_batch {
        None
    } else {
        let mut rounds = BatchRounds::default();
        for round in 0..options.batch_rounds {
            let stream_rate = if round == 0 {
                warm.rate
            } else {
                let fresh = leads(&domains, 10 + round, options.leads);
                measured_stream(&server, &url, fresh, options.streams)
                    .await
                    .rate
            };
            let fresh = leads(
                &domains,
                if round == 0 { 3 } else { 20 + round },
                options.leads,
            );
            let batch = batch_run(
                &server,
                scratch.path(),
                &fresh,
                options.batch_bin.as_deref(),
            );
            eprintln!(
                "batch round {}: warm stream {stream_rate:.0} leads/s, batch {:.0} leads/s",
                round + 1,
                batch.rate
            );
            rounds.push(stream_rate, batch);
        }
        Some(rounds)
    };

    // 5. The floor, on a minimal tonic server of this binary: `AssessLeads` answered with
    // the warm stream's typical assessment and no work, then the unary runs.
    let typical = warm.typical.clone().expect("the warm stream answered");
    let typical_bytes = typical.encoded_len();
    let canned_path = scratch.path().join("typical-assessment.bin");
    std::fs::write(&canned_path, typical.encode_to_vec()).expect("write the canned assessment");
    let floor_process = {
        let mut command = Command::new(std::env::current_exe().expect("own binary"));
        command.arg("--floor-server").arg(&canned_path);
        Process::start(command, "floor listening on ")
    };
    let canned_stream = measured_stream(
        &floor_process,
        &floor_process.url(),
        warm_leads.clone(),
        options.streams,
    )
    .await;
    eprintln!(
        "AssessLeads on the floor: {:.0} leads/s",
        canned_stream.rate
    );

    // 6. The unary runs, taking turns: the floor's empty call; `AssessLead` answered with
    // no work on the floor server; warm `AssessLead` on ours; and the floor's empty call on
    // ours, which tells what our server's layers (the arrival deadline, the connection
    // wrapper, routing among four services) cost over a bare tonic server. `AssessLead` sends a
    // working set of the warm stream's leads that fits the phone cache (a number enters it
    // on its second sighting), so that on our server domains and phone verdicts are cached.
    let working_set = Call::Assess(unary_requests(&warm_leads[..warm_leads.len().min(5_000)]));
    let targets = [
        UnaryTarget {
            server: &floor_process,
            call: Call::Health,
        },
        UnaryTarget {
            server: &floor_process,
            call: working_set.clone(),
        },
        UnaryTarget {
            server: &server,
            call: working_set,
        },
        UnaryTarget {
            server: &server,
            call: Call::Health,
        },
    ];
    let [floor_run, canned_run, assess_run, own_floor_run] =
        <[MeasuredUnary; 4]>::try_from(interleaved_unary(&targets, &options).await)
            .unwrap_or_else(|_| unreachable!("one run a target"));
    drop(floor_process);
    let MeasuredUnary {
        unary: floor,
        server_cpu: floor_cpu_per_call,
        client_cpu: floor_client_cpu_per_call,
    } = floor_run;
    let MeasuredUnary {
        unary: canned_assess,
        server_cpu: canned_assess_cpu_per_call,
        client_cpu: canned_assess_client_cpu_per_call,
    } = canned_run;
    let MeasuredUnary {
        unary: assess,
        server_cpu: assess_cpu_per_call,
        client_cpu: assess_client_cpu_per_call,
    } = assess_run;
    let MeasuredUnary {
        unary: own_floor,
        server_cpu: own_floor_cpu_per_call,
        ..
    } = own_floor_run;
    eprintln!("floor: {floor:?}");
    eprintln!("AssessLead on the floor: {canned_assess:?}");
    eprintln!("AssessLead: {assess:?}");
    eprintln!("Health/Check on leadcheck: {own_floor:?}");

    // 7. The server's peak memory through all of it.
    let peak_rss_kib = server.peak_rss_kib();
    drop(server);

    // 8. The Python stack.
    let python = if options.skip_python || options.python_leads == 0 {
        None
    } else {
        let count = options.python_leads.min(warm_leads.len());
        python_run(dns.addr(), scratch.path(), &warm_leads[..count])
    };
    let python_rate = python
        .as_ref()
        .and_then(|p| p.get("leads_per_s"))
        .and_then(|v| v.as_f64());

    // The report.
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| floor (Health/Check) req/s | {:.0} (p50 {} µs, p99 {} µs, {} errors) |",
        floor.per_second, floor.p50_us, floor.p99_us, floor.errors
    );
    println!(
        "| AssessLead warm req/s | {:.0} (p50 {} µs, p99 {} µs, {} errors) |",
        assess.per_second, assess.p50_us, assess.p99_us, assess.errors
    );
    println!(
        "| AssessLead / floor | {:.2} (target ≥ 0.8) |",
        ratio(assess.per_second, floor.per_second)
    );
    println!(
        "| AssessLead answered with no work (floor server) req/s | {:.0}, {:.2} of the floor; ours is {:.2} of it |",
        canned_assess.per_second,
        ratio(canned_assess.per_second, floor.per_second),
        ratio(assess.per_second, canned_assess.per_second)
    );
    println!(
        "| server CPU per unary call: floor / AssessLead with no work / AssessLead | {floor_cpu_per_call:.1} µs / {canned_assess_cpu_per_call:.1} µs / {assess_cpu_per_call:.1} µs |"
    );
    println!(
        "| load generator CPU per unary call: floor / AssessLead with no work / AssessLead | {floor_client_cpu_per_call:.1} µs / {canned_assess_client_cpu_per_call:.1} µs / {assess_client_cpu_per_call:.1} µs |"
    );
    println!(
        "| Health/Check on leadcheck / floor | {:.2} of the req/s, {own_floor_cpu_per_call:.1} µs of server CPU per call |",
        ratio(own_floor.per_second, floor.per_second)
    );
    println!(
        "| AssessLeads cold, {} leads | {:.0} leads/s, {:.2} s |",
        options.leads,
        cold.rate,
        options.leads as f64 / cold.rate
    );
    println!(
        "| AssessLeads warm, {} leads | {:.0} leads/s, {:.2} s (target < 1.0 s) |",
        options.leads,
        warm.rate,
        options.leads as f64 / warm.rate
    );
    println!(
        "| AssessLeads answered with no work (floor server), {} leads | {:.0} leads/s, {:.2} s; ours (warm) is {:.2} of it |",
        options.leads,
        canned_stream.rate,
        options.leads as f64 / canned_stream.rate,
        ratio(warm.rate, canned_stream.rate)
    );
    for (name, run) in [
        ("cold", &cold),
        ("warm", &warm),
        ("no-work (floor server)", &canned_stream),
    ] {
        println!(
            "| CPU per {name} streamed lead: server / this client | {:.1} µs / {:.1} µs |",
            run.server_cpu, run.client_cpu
        );
    }
    println!(
        "| the warm stream's first {SAMPLED_RESPONSES} responses: median (the no-work answer), smallest, largest | {typical_bytes} / {} / {} bytes |",
        warm.response_bytes.0, warm.response_bytes.1
    );
    println!(
        "| DNS queries cold / bound ({} domains, {} exchangers) | {} / {}: {:.2} a domain, {:.2} an exchanger |",
        domains.names.len(),
        domains.exchangers.len(),
        cold_queries,
        domains.query_bound,
        domain_queries as f64 / domains.names.len() as f64,
        exchanger_queries as f64 / domains.exchangers.len().max(1) as f64
    );
    println!("| DNS queries warm | {warm_queries} |");
    if let Some(batch) = &batch {
        let each: Vec<String> = batch.each().iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "| leadcheck batch, {} rows, {} rounds each after a warm stream | {:.0} leads/s, {:.2} of the streams (target ≥ 0.7); each round {} |",
            options.leads,
            batch.batches.len(),
            batch.rate(),
            batch.ratio(),
            each.join(" / ")
        );
        let (server_cpu, client_cpu) = batch.cpu();
        println!(
            "| CPU per batch lead: server / leadcheck batch | {server_cpu:.1} µs / {client_cpu:.1} µs |"
        );
    }
    println!(
        "| server peak RSS | {:.1} MiB (target < 200) |",
        peak_rss_kib as f64 / 1024.0
    );
    if let Some(rate) = python_rate {
        println!("| Python stack, warm DNS, one process | {:.0} leads/s; ours is {:.1}x (target ≥ 20x) |", rate, ratio(warm.rate, rate));
    }

    let unary_json = |u: &Unary| serde_json::json!({"requests": u.requests, "errors": u.errors, "per_second": u.per_second, "p50_us": u.p50_us, "p99_us": u.p99_us});
    report.insert("options".into(), format!("{options:?}").into());
    report.insert("floor".into(), unary_json(&floor));
    report.insert("assess_lead".into(), unary_json(&assess));
    report.insert("own_floor".into(), unary_json(&own_floor));
    report.insert(
        "own_floor_server_cpu_us_per_call".into(),
        own_floor_cpu_per_call.into(),
    );
    report.insert("floor_assess_lead".into(), unary_json(&canned_assess));
    report.insert(
        "floor_assess_lead_server_cpu_us_per_call".into(),
        canned_assess_cpu_per_call.into(),
    );
    report.insert(
        "floor_assess_lead_client_cpu_us_per_call".into(),
        canned_assess_client_cpu_per_call.into(),
    );
    report.insert("typical_response_bytes".into(), typical_bytes.into());
    report.insert(
        "response_bytes_min_max".into(),
        serde_json::json!([warm.response_bytes.0, warm.response_bytes.1]),
    );
    for (name, run) in [("cold", &cold), ("warm", &warm), ("floor", &canned_stream)] {
        report.insert(format!("stream_{name}_leads_per_s"), run.rate.into());
        report.insert(
            format!("stream_{name}_server_cpu_us_per_lead"),
            run.server_cpu.into(),
        );
        report.insert(
            format!("stream_{name}_client_cpu_us_per_lead"),
            run.client_cpu.into(),
        );
    }
    report.insert(
        "floor_server_cpu_us_per_call".into(),
        floor_cpu_per_call.into(),
    );
    report.insert(
        "assess_lead_server_cpu_us_per_call".into(),
        assess_cpu_per_call.into(),
    );
    report.insert(
        "floor_client_cpu_us_per_call".into(),
        floor_client_cpu_per_call.into(),
    );
    report.insert(
        "assess_lead_client_cpu_us_per_call".into(),
        assess_client_cpu_per_call.into(),
    );
    report.insert("dns_queries_cold".into(), cold_queries.into());
    report.insert("dns_query_bound".into(), domains.query_bound.into());
    report.insert("dns_queries_cold_domains".into(), domain_queries.into());
    report.insert(
        "dns_queries_cold_exchangers".into(),
        exchanger_queries.into(),
    );
    report.insert("dns_distinct_domains".into(), domains.names.len().into());
    report.insert(
        "dns_distinct_exchangers".into(),
        domains.exchangers.len().into(),
    );
    report.insert("dns_queries_warm".into(), warm_queries.into());
    report.insert(
        "batch_leads_per_s".into(),
        batch.as_ref().map(BatchRounds::rate).into(),
    );
    report.insert(
        "batch_to_stream".into(),
        batch.as_ref().map(BatchRounds::ratio).into(),
    );
    report.insert(
        "batch_rounds".into(),
        batch
            .as_ref()
            .map(|b| serde_json::json!({"stream_leads_per_s": b.streams, "batch_leads_per_s": b.batches}))
            .into(),
    );
    report.insert(
        "batch_server_cpu_us_per_lead".into(),
        batch.as_ref().map(|b| b.cpu().0).into(),
    );
    report.insert(
        "batch_client_cpu_us_per_lead".into(),
        batch.as_ref().map(|b| b.cpu().1).into(),
    );
    report.insert("server_peak_rss_kib".into(), peak_rss_kib.into());
    report.insert("python".into(), python.unwrap_or_default());

    // 9. Cold batch runs, each on a fresh server (the others are stopped).
    let cold = cold_batches(&dns, &options, scratch.path());
    print_cold(&options, &cold);
    report.insert("cold_batch".into(), cold_json(&cold));

    let name = if options.skip_python {
        "loadbench-partial.json"
    } else {
        "loadbench.json"
    };
    write_report(&report, name);
}

/// Writes the report as `target/NAME`.
fn write_report(report: &serde_json::Map<String, serde_json::Value>, name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(name);
    let _ = std::fs::write(
        &path,
        serde_json::to_string_pretty(report).unwrap_or_default(),
    );
    eprintln!("report written to {}", path.display());
}

/// The real server, as a user would start it, asking only the loopback DNS server.
fn start_server(dns: &DnsServer, options: &Options) -> Process {
    let binary = options
        .server_bin
        .as_deref()
        .unwrap_or(env!("CARGO_BIN_EXE_leadcheck"));
    let mut command = Command::new(binary);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--dns-server"])
        .arg(dns.addr().to_string())
        .env_remove("LEADCHECK_LOG");
    if let Some(config) = &options.server_config {
        command.args(["--config", config]);
    }
    Process::start(command, "leadcheck listening on ")
}

// ---------------------------------------------------------------------------------------
// Cold batch runs: every lead at a domain of its own, DNS answering after a delay.

/// One cold `leadcheck batch` run.
struct ColdRun {
    round: usize,
    delay_ms: u64,
    rate: f64,
    /// Leads a second over the middle half of the run's DNS answers: the rate once the
    /// window is full, without the first leads' wait for their answers and the last
    /// leads' for theirs, which no window hides.
    steady_rate: f64,
    /// The share of the machine's CPU (all cores) busy during the run: near 1, the run
    /// was bound by the CPU, not by waiting.
    machine_busy: f64,
    server_peak_rss_kib: u64,
    client_peak_rss_kib: u64,
    /// The most queries the DNS server held at once during the run.
    dns_peak: usize,
    /// The DNS server's mean time from a query to its answer: the delay, and how late
    /// the loaded machine let it answer.
    dns_held: Duration,
    /// CPU a lead, in microseconds: the server's, the client's, and this process's (the
    /// DNS server's, holding the delayed answers).
    cpu_micros: [f64; 3],
}

/// A cold batch run at each of `options.cold_delays`, every round: a fresh server
/// (nothing cached) and fresh leads each time, over `options.cold_leads` distinct domains,
/// with the client's defaults. The delays take turns, so that a ratio pairs runs of one
/// round, close in time on a machine whose speed wanders.
fn cold_batches(dns: &DnsServer, options: &Options, dir: &Path) -> Vec<ColdRun> {
    let domains = set_up_domains(dns, options.cold_leads);
    let input = dir.join("cold-leads.csv");
    let output = dir.join("cold-assessed.csv");
    let mut runs = Vec::new();
    let turns = (0..options.cold_rounds)
        .flat_map(|round| options.cold_delays.iter().map(move |&delay| (round, delay)));
    for (i, (round, delay_ms)) in turns.enumerate() {
        write_csv(&input, &leads(&domains, 100 + i, options.cold_leads));
        dns.set_delay(Duration::from_millis(delay_ms));
        dns.set_delay_spread(Duration::from_millis(options.cold_spread.min(delay_ms)));
        dns.reset_peak_in_flight();
        let server = start_server(dns, options);
        let cpu_before = [server.cpu(), waited_children_cpu(), own_cpu()];
        let machine_before = process::machine_cpu_ticks();
        let started = Instant::now();
        let mut child = Command::new(
            options
                .batch_bin
                .as_deref()
                .unwrap_or(env!("CARGO_BIN_EXE_leadcheck")),
        )
        .args(["batch", "--server", &server.url(), "--quiet", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .spawn()
        .expect("leadcheck batch");
        // The client's peak RSS is read while it runs: it is gone once it has exited.
        let mut client_peak_rss_kib = 0;
        // The DNS answers given by each moment of the run, for its steady rate.
        let mut answers = vec![(0.0, 0)];
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for leadcheck batch") {
                break status;
            }
            if let Some(rss) = process::peak_rss_kib(child.id()) {
                client_peak_rss_kib = client_peak_rss_kib.max(rss);
            }
            answers.push((started.elapsed().as_secs_f64(), dns.answered()));
            std::thread::sleep(Duration::from_millis(10));
        };
        let seconds = started.elapsed().as_secs_f64();
        answers.push((seconds, dns.answered()));
        let cpu_after = [server.cpu(), waited_children_cpu(), own_cpu()];
        let machine_busy = match (machine_before, process::machine_cpu_ticks()) {
            (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => {
                (busy1 - busy0) as f64 / (total1 - total0) as f64
            }
            _ => f64::NAN,
        };
        let cpu_micros = [0, 1, 2].map(|i| {
            micros_per(
                cpu_after[i].saturating_sub(cpu_before[i]),
                options.cold_leads,
            )
        });
        assert!(status.success(), "leadcheck batch failed");
        let rows = BufReader::new(std::fs::File::open(&output).expect("output"))
            .lines()
            .count();
        assert_eq!(rows, options.cold_leads + 1, "one output row a lead");
        let run = ColdRun {
            round,
            delay_ms,
            rate: options.cold_leads as f64 / seconds,
            steady_rate: steady_rate(&answers, options.cold_leads),
            machine_busy,
            server_peak_rss_kib: server.peak_rss_kib(),
            client_peak_rss_kib,
            dns_peak: dns.peak_in_flight(),
            dns_held: dns.mean_held(),
            cpu_micros,
        };
        eprintln!(
            "cold batch, round {}, DNS delay {delay_ms} ms: {:.0} leads/s",
            round + 1,
            run.rate
        );
        runs.push(run);
    }
    dns.set_delay(Duration::ZERO);
    dns.set_delay_spread(Duration::ZERO);
    runs
}

fn print_cold(options: &Options, runs: &[ColdRun]) {
    println!();
    println!(
        "| cold `leadcheck batch`, {} leads over as many domains, defaults | leads/s | of the round's undelayed rate | steady leads/s (of undelayed) | machine CPU busy | peak RSS server / client | DNS queries held at once, mean hold | CPU µs a lead: server / client / DNS server |",
        options.cold_leads
    );
    println!("|---|---|---|---|---|---|---|---|");
    for run in runs {
        let undelayed = undelayed(runs, run.round);
        let ratio = undelayed.map_or(String::from("-"), |u| format!("{:.2}", run.rate / u.rate));
        let steady = undelayed.map_or(String::from("-"), |u| {
            format!("{:.2}", run.steady_rate / u.steady_rate)
        });
        let spread = options.cold_spread.min(run.delay_ms);
        let spread = if spread > 0 {
            format!(" ± {spread}")
        } else {
            String::new()
        };
        println!(
            "| round {}, DNS delay {}{spread} ms | {:.0} | {ratio} | {:.0} ({steady}) | {:.0}% | {:.1} MiB / {:.1} MiB | {}, {:.0} ms | {:.0} / {:.0} / {:.0} |",
            run.round + 1,
            run.delay_ms,
            run.rate,
            run.steady_rate,
            run.machine_busy * 100.0,
            run.server_peak_rss_kib as f64 / 1024.0,
            run.client_peak_rss_kib as f64 / 1024.0,
            run.dns_peak,
            run.dns_held.as_secs_f64() * 1000.0,
            run.cpu_micros[0],
            run.cpu_micros[1],
            run.cpu_micros[2]
        );
    }
    let whole = delayed_ratios(options, runs, |r| r.rate);
    let steady = delayed_ratios(options, runs, |r| r.steady_rate);
    for ((delay_ms, ratios), (_, steady)) in whole.into_iter().zip(steady) {
        let (median, low, high) = median_and_range(&ratios);
        let (s_median, s_low, s_high) = median_and_range(&steady);
        let target = if delay_ms == 100 {
            " (target ≥ 0.8, aim 0.9)"
        } else {
            ""
        };
        println!(
            "| ratio at {delay_ms} ms / 0 ms, median of {} rounds (range) | {median:.2} ({low:.2}-{high:.2}){target} | | steady: {s_median:.2} ({s_low:.2}-{s_high:.2}) | | | | |",
            ratios.len()
        );
    }
}

/// Leads a second between the moments a quarter and three quarters of the run's DNS
/// answers were given (`answers`: seconds into the run and answers by then, in order),
/// for a run of `leads` leads that asks the same queries of each lead.
fn steady_rate(answers: &[(f64, u64)], leads: usize) -> f64 {
    let total = answers.last().map_or(0, |a| a.1);
    let at = |share: u64| answers.iter().find(|a| a.1 * 4 >= total * share).copied();
    match (at(1), at(3)) {
        (Some((t1, a1)), Some((t3, a3))) if t3 > t1 && total > 0 => {
            (a3 - a1) as f64 / total as f64 * leads as f64 / (t3 - t1)
        }
        _ => f64::NAN,
    }
}

/// The undelayed run of a round, if it has one.
fn undelayed(runs: &[ColdRun], round: usize) -> Option<&ColdRun> {
    runs.iter().find(|r| r.round == round && r.delay_ms == 0)
}

/// For each delay but 0, the ratio of each round's run at that delay to the round's
/// undelayed run, of the rate `rate` reads off a run.
fn delayed_ratios(
    options: &Options,
    runs: &[ColdRun],
    rate: fn(&ColdRun) -> f64,
) -> Vec<(u64, Vec<f64>)> {
    let mut delays: Vec<u64> = options.cold_delays.clone();
    delays.sort_unstable();
    delays.dedup();
    delays
        .into_iter()
        .filter(|&delay| delay > 0)
        .filter_map(|delay| {
            let ratios: Vec<f64> = runs
                .iter()
                .filter(|r| r.delay_ms == delay)
                .filter_map(|r| Some(rate(r) / rate(undelayed(runs, r.round)?)))
                .collect();
            (!ratios.is_empty()).then_some((delay, ratios))
        })
        .collect()
}

/// The median, the least and the most of values, at least one.
fn median_and_range(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = (sorted[(n - 1) / 2] + sorted[n / 2]) / 2.0;
    (median, sorted[0], sorted[n - 1])
}

fn cold_json(runs: &[ColdRun]) -> serde_json::Value {
    runs.iter()
        .map(|r| {
            serde_json::json!({
                "round": r.round + 1,
                "dns_delay_ms": r.delay_ms,
                "leads_per_s": r.rate,
                "steady_leads_per_s": r.steady_rate,
                "machine_cpu_busy": r.machine_busy,
                "server_peak_rss_kib": r.server_peak_rss_kib,
                "client_peak_rss_kib": r.client_peak_rss_kib,
                "dns_peak_in_flight": r.dns_peak,
                "dns_mean_held_ms": r.dns_held.as_secs_f64() * 1000.0,
                "cpu_micros_a_lead_server": r.cpu_micros[0],
                "cpu_micros_a_lead_client": r.cpu_micros[1],
                "cpu_micros_a_lead_dns": r.cpu_micros[2],
            })
        })
        .collect()
}
