//! Starts the real `leadcheck` binary on an ephemeral loopback port and connects to it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use leadcheck::pb::lead_check_client::LeadCheckClient;
use tonic::transport::Channel;

/// The arguments of `leadcheck serve` on an ephemeral port with this DNS server, short DNS
/// waits unless `extra` sets its own, and `extra`.
fn serve_args(dns: SocketAddr, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "serve".to_string(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--dns-server".into(),
        dns.to_string(),
    ];
    // Each default also gives way to the old name of its flag (`--dns-timeout-ms`).
    for (flag, value, old) in [
        ("--dns-timeout", "300ms", "--dns-timeout-ms"),
        ("--dns-attempts", "1", "--dns-attempts"),
    ] {
        if !extra.contains(&flag) && !extra.contains(&old) {
            args.extend([flag.to_string(), value.to_string()]);
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A running `leadcheck serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Everything the server wrote to stderr (its logs), collected by a thread.
    pub logs: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Starts `leadcheck serve --listen 127.0.0.1:0` with the given DNS server and flags.
    pub fn start(dns: SocketAddr, extra: &[&str]) -> Server {
        Server::start_args(&serve_args(dns, extra))
    }

    /// Like [`Server::start`], but no special-use name is looked up, `.test` included.
    pub fn start_strict(dns: SocketAddr, extra: &[&str]) -> Server {
        Server::start_exact(&serve_args(dns, extra), &[])
    }

    /// Starts `leadcheck` with exactly these arguments.
    pub fn start_args(args: &[String]) -> Server {
        Server::start_env(args, &[])
    }

    /// Starts `leadcheck` with these arguments and environment variables. A `serve`
    /// looks up `.test` names, which the test zones use (`--dns-allow-suffix test`),
    /// unless the arguments say otherwise.
    pub fn start_env(args: &[String], env: &[(&str, &str)]) -> Server {
        let mut args = args.to_vec();
        if args.first().is_some_and(|a| a == "serve")
            && !args.iter().any(|a| a == "--dns-allow-suffix")
        {
            args.extend(["--dns-allow-suffix".to_string(), "test".to_string()]);
        }
        Server::start_exact(&args, env)
    }

    /// Starts `leadcheck` with exactly these arguments and environment variables.
    pub fn start_exact(args: &[String], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
            .args(args)
            .env_remove("LEADCHECK_LOG")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start leadcheck");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut logs = sink.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let announced = leadcheck::testkit::process::announced_addr(
            stdout,
            "leadcheck listening on ",
            Duration::from_secs(60),
        );
        let Some(addr) = announced else {
            let _ = child.kill();
            panic!("leadcheck did not start; logs:\n{}", logs.lock().unwrap());
        };
        Server { child, addr, logs }
    }

    /// Returns `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connects a LeadCheck client.
    pub async fn client(&self) -> LeadCheckClient<Channel> {
        LeadCheckClient::connect(self.url()).await.expect("connect")
    }

    /// Asks for one email verdict on a new connection.
    pub async fn validate_email(&self, email: &str) -> leadcheck::pb::EmailVerdict {
        self.client()
            .await
            .validate_email(leadcheck::pb::ValidateEmailRequest {
                email: email.to_string(),
            })
            .await
            .expect("ValidateEmail")
            .into_inner()
    }

    /// Connects a raw channel (health, reflection).
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }

    /// Sends a signal to the server process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Returns the logs so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
