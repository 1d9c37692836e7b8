//! A running `spaces serve` (or `spaces edge`, or another runtime serving the edge component) for the service
//! tests: started on a free loopback port (`spaces` prints the address it bound), with a token the test knows, its
//! stderr (including the audit lines) collected, and an HTTP client that does not treat 4xx/5xx as errors.
//! Stopped by SIGTERM, as an operator would; killed if a test panics.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The service on its embedded store: no endpoint, no credentials, data and token under `dir`.
pub fn embedded_command(dir: &std::path::Path) -> Command {
    let mut c = Command::new(crate::spaces_bin());
    c.current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("SPACES_DATA_DIR", dir.join("data"))
        .env("SPACES_CACHE_DIR", std::env::temp_dir().join("spaces-test-cache"))
        .env_remove("SPACES_ENDPOINT")
        .env_remove("SPACES_BUCKET")
        .env_remove("SPACES_ACCESS_KEY_ID")
        .env_remove("SPACES_SECRET_ACCESS_KEY")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    c
}

/// A running server of the HTTP API, and a client for it.
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The bearer token it was started with.
    pub token: String,
    log: Arc<Mutex<String>>,
    /// The HTTP client the helpers use.
    pub agent: ureq::Agent,
    /// It leads a process group of its own (another runtime's server), all of which ends with it.
    own_group: bool,
}

/// An answer, whatever its status.
pub type Answer = ureq::http::Response<ureq::Body>;

/// An HTTP client that hands back 4xx/5xx answers instead of failing on them.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

impl Service {
    /// Starts `command` (a `spaces` command configured by the caller) as `serve --listen 127.0.0.1:0 ARGS` with
    /// `token` in SPACES_TOKEN (none when empty), and waits until it listens.
    pub fn start(mut command: Command, token: &str, args: &[&str]) -> Self {
        command.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
        Self::spawn(command, token)
    }

    /// Starts `command` (a configured `spaces`) as `edge --listen 127.0.0.1:0`, like [`Service::start`].
    pub fn edge(mut command: Command, token: &str) -> Self {
        command.args(["edge", "--listen", "127.0.0.1:0"]);
        Self::spawn(command, token)
    }

    /// Starts `jco serve` (Node.js) on the edge component this build embeds, configured for `bucket`.
    pub fn jco_serve(bucket: &crate::Bucket, token: &str) -> Self {
        let jco = crate::manifest_dir().join("jco/node_modules/.bin/jco");
        let port = free_port();
        let mut command = Command::new(jco);
        bucket.configure(&mut command).arg("serve").arg(crate::edge_component_path()).args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ]);
        Self::external(command, token, port)
    }

    /// Starts `wasmtime serve` (wasmtime-cli, built by tests/scripts/setup.sh) on the edge component this build
    /// embeds, configured for `bucket`: `-S cli` links `wasi:cli/environment`, the one interface the edge imports
    /// beyond the proxy world, and each setting is handed over by name with `--env`, nothing else of the test's
    /// environment.
    pub fn wasmtime_serve(bucket: &crate::Bucket, token: &str) -> Self {
        let port = free_port();
        let mut command = Command::new(crate::tool("wasmtime"));
        bucket.configure(&mut command).args(["serve", "-S", "cli", "--addr", &format!("127.0.0.1:{port}")]);
        for name in [
            "SPACES_ENDPOINT",
            "SPACES_REGION",
            "SPACES_BUCKET",
            "SPACES_ACCESS_KEY_ID",
            "SPACES_SECRET_ACCESS_KEY",
            "SPACES_TOKEN",
        ] {
            command.args(["--env", name]);
        }
        command.arg(crate::edge_component_path());
        Self::external(command, token, port)
    }

    /// Starts any HTTP server that will listen on `port` (another runtime serving a component) and waits until its
    /// `/healthz` answers 200.
    pub fn external(mut command: Command, token: &str, port: u16) -> Self {
        command.env("SPACES_TOKEN", token).stdout(Stdio::null()).stderr(Stdio::piped());
        // A group of its own: `jco serve` runs the server as a child of its own, which must end with it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().expect("spawn the server");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let base = format!("http://127.0.0.1:{port}");
        let service = Service { child, base, token: token.into(), log, agent: agent(), own_group: true };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let up = service.agent.get(service.url("/healthz")).call().is_ok_and(|r| r.status() == 200);
            if up {
                return service;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the server did not answer /healthz within 60 s:\n{}", service.log());
    }

    fn spawn(mut command: Command, token: &str) -> Self {
        if token.is_empty() {
            command.env_remove("SPACES_TOKEN");
        } else {
            command.env("SPACES_TOKEN", token);
        }
        if !command.get_envs().any(|(k, _)| k == "SPACES_LOG") {
            command.env("SPACES_LOG", "warn,spaces::audit=info");
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn spaces");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("spaces: serving ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("spaces did not start ({status:?}):\n{}", log.lock().unwrap());
            }
        };
        Service { child, base, token: token.to_string(), log, agent: agent(), own_group: false }
    }

    /// Everything the service wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Standard output so far is only ever the generated token; take it.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A raw TCP connection to the server, for requests no HTTP client would send.
    pub fn connect(&self) -> std::net::TcpStream {
        std::net::TcpStream::connect(self.base.trim_start_matches("http://")).expect("connect to the server")
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The `Authorization` value with the token.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// A request with the token.
    pub fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Answer {
        let bearer = self.bearer();
        let auth: [(&str, &str); 1] = [("authorization", &bearer)];
        self.raw(method, path, &[&auth[..], headers].concat(), body)
    }

    /// A request with exactly these headers.
    pub fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Answer {
        let mut req = ureq::http::Request::builder().method(method).uri(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let result = match body {
            Some(b) => self.agent.run(req.body(b.to_vec()).expect("request")),
            None => self.agent.run(req.body(()).expect("request")),
        };
        result.unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Waits until `/readyz` answers 200.
    pub fn wait_ready(&self, within: Duration) {
        let started = Instant::now();
        loop {
            let mut r = self.raw("GET", "/readyz", &[], None);
            if r.status() == 200 {
                return;
            }
            assert!(
                started.elapsed() < within,
                "not ready after {within:?}: {}",
                r.body_mut().read_to_string().unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Peak resident memory of the service process so far, in bytes (VmHWM).
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("proc status");
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
        line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).expect("VmHWM kB") * 1024
    }

    /// SIGTERM, then waits for the process to end (at most `within`).
    pub fn terminate(mut self, within: Duration) -> ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) on the pid of a child this test started and has not yet reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM delivered");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(started.elapsed() < within, "spaces serve still running {within:?} after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // What an external server started in its group (`jco serve`'s Node.js server) ends too.
        if self.own_group {
            let group = libc::pid_t::try_from(self.child.id()).expect("pid fits");
            // SAFETY: a plain signal to the process group this test created for the server.
            let _ = unsafe { libc::kill(-group, libc::SIGKILL) };
        }
    }
}

/// A loopback port no one listens on now, for a server that takes its port as an argument.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
}
