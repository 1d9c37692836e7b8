//! Shared helpers for the end-to-end tests: where the RGW under test is (set by `tests/run.sh`), the real `spaces`
//! binary from this build, one fresh bucket per test, and the s3cmd/curl peers used to check interoperability.

pub mod blobstore;
pub mod fake_do;
pub mod fault_proxy;
pub mod proxies;
pub mod service;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The RGW the tests run against, from the environment `tests/run.sh` exports.
pub struct Rgw {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The test user's access key id.
    pub access_key: String,
    /// The test user's secret.
    pub secret_key: String,
}

/// The RGW under test; panics with how to start it when the environment does not say.
pub fn rgw() -> Rgw {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the end-to-end tests through tests/run.sh, which starts Ceph RGW")
        })
    };
    Rgw {
        endpoint: var("SPACES_TEST_ENDPOINT"),
        access_key: var("SPACES_TEST_ACCESS_KEY"),
        secret_key: var("SPACES_TEST_SECRET_KEY"),
    }
}

/// This crate's directory (`tests/`), as cargo says when it runs the tests. A target directory shared by two clones
/// (CI's and a working tree's) can hold a test built in the other one, whose compile-time path is the other clone.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The workspace's target profile directory (`target/debug`), found from this test executable's path.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target/PROFILE/deps/TEST").to_path_buf()
}

/// The `spaces` binary cargo built beside these tests.
pub fn spaces_bin() -> PathBuf {
    profile_dir().join("spaces")
}

/// The edge build of the component (a `wasi:http/proxy` server), which `spaces edge` embeds.
pub fn edge_component_path() -> PathBuf {
    profile_dir().parent().expect("target dir").join("component-edge/spaces-edge.wasm")
}

/// The blobstore build of the component (the `wasi:blobstore` interfaces), built beside the other two.
pub fn blobstore_component_path() -> PathBuf {
    profile_dir().parent().expect("target dir").join("component-blobstore/spaces-blobstore.wasm")
}

/// The component file the binary embeds.
pub fn component_path() -> PathBuf {
    profile_dir().parent().expect("target dir").join("component/spaces-client.wasm")
}

/// A tool tests/scripts/setup.sh builds from crates.io into its cache (`$SPACES_TOOLS/bin`, by default
/// `~/.cache/spaces-tools/bin`), so a fresh clone finds the pinned version without a rebuild.
pub fn tool(name: &str) -> PathBuf {
    let root = std::env::var_os("SPACES_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/spaces-tools"));
    root.join("bin").join(name)
}

/// A bucket created for one test, with the commands that work on it.
pub struct Bucket {
    /// Unique per test process and test.
    pub name: String,
    /// Where it lives.
    pub rgw: Rgw,
    /// The working directory commands run in.
    pub dir: tempfile::TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Bucket {
    /// A new empty bucket named after `purpose`.
    pub fn new(purpose: &str) -> Self {
        let rgw = rgw();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{purpose}-{}-{n}", std::process::id());
        let dir = tempfile::tempdir().expect("temp dir");
        let bucket = Bucket { name, rgw, dir };
        bucket.s3cmd_ok(&["mb", &format!("s3://{}", bucket.name)]);
        bucket
    }

    /// `spaces` configured for this bucket through the environment, run in the bucket's temp dir.
    pub fn spaces(&self) -> Command {
        let mut c = Command::new(spaces_bin());
        self.configure(&mut c);
        c
    }

    /// Gives `c` (`spaces`, or a program that runs it) this bucket's configuration and temp dir.
    pub fn configure<'c>(&self, c: &'c mut Command) -> &'c mut Command {
        c.current_dir(self.dir.path())
            .env("SPACES_ENDPOINT", &self.rgw.endpoint)
            .env("SPACES_REGION", "us-east-1")
            .env("SPACES_BUCKET", &self.name)
            .env("SPACES_ACCESS_KEY_ID", &self.rgw.access_key)
            .env("SPACES_SECRET_ACCESS_KEY", &self.rgw.secret_key)
            .env("SPACES_CACHE_DIR", std::env::temp_dir().join("spaces-test-cache"))
            // Each test's own uploads journal, so that no test resumes another's upload.
            .env("SPACES_STATE_DIR", self.dir.path().join(".state"))
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("DIGITALOCEAN_TOKEN")
            .env_remove("SPACES_PATH_STYLE")
            // Whatever proxy the machine names, the tests reach their loopback servers directly.
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
    }

    /// Runs `spaces ARGS` and expects success.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(args, run(self.spaces().args(args)))
    }

    /// Runs `spaces ARGS` and expects exit code `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        String::from_utf8_lossy(&exited(args, run(self.spaces().args(args)), code).stderr).into_owned()
    }

    /// A path in the bucket's working directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn s3cmd_config(&self) -> PathBuf {
        let path = self.path(".s3cfg");
        if !path.exists() {
            let host = self.rgw.endpoint.trim_start_matches("http://");
            let text = format!(
                "[default]\naccess_key = {}\nsecret_key = {}\nhost_base = {host}\nhost_bucket = {host}\nuse_https = \
                    False\nsignature_v2 = False\n",
                self.rgw.access_key, self.rgw.secret_key
            );
            std::fs::write(&path, text).expect("write s3cmd config");
        }
        path
    }

    /// Runs s3cmd against the same RGW and expects success.
    pub fn s3cmd_ok(&self, args: &[&str]) -> String {
        let out = run(Command::new("s3cmd").arg("-c").arg(self.s3cmd_config()).args(args));
        assert!(out.status.success(), "s3cmd {args:?} failed: {}", describe(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The stdout of `spaces ARGS`, which must have succeeded.
pub fn succeeded(args: &[&str], out: Output) -> String {
    assert!(out.status.success(), "spaces {args:?} failed: {}", describe(&out));
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// The output of `spaces ARGS`, which must have exited with `code`.
pub fn exited(args: &[&str], out: Output, code: i32) -> Output {
    assert_eq!(out.status.code(), Some(code), "spaces {args:?}: {}", describe(&out));
    out
}

/// Runs `cmd` to completion.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Deterministic pseudo-random bytes (so a failure can be reproduced), not compressible.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// SHA-256 as lower-case hex.
pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// `curl` with a method, optional upload file, returning (HTTP status, body).
pub fn curl(method: &str, url: &str, upload: Option<&Path>, headers: &[&str]) -> (u16, Vec<u8>) {
    let mut c = Command::new("curl");
    c.args(["-s", "-X", method, "-o", "-", "-w", "\n%{http_code}", url]);
    if let Some(f) = upload {
        c.arg("--upload-file").arg(f);
    }
    for h in headers {
        c.args(["-H", h]);
    }
    let out = run(&mut c);
    let mut body = out.stdout;
    let split = body.iter().rposition(|b| *b == b'\n').expect("curl status line");
    let status = String::from_utf8_lossy(&body[split + 1..]).trim().parse().expect("status code");
    body.truncate(split);
    (status, body)
}

/// A request head as the loopback test servers read it off a connection.
pub struct Head {
    /// `METHOD /path?query HTTP/1.1`, without the line end.
    pub line: String,
    /// Header names lower-cased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// Content-Length, 0 when absent.
    pub length: usize,
}

/// The status of the answer arriving on `stream`, or `None` if it closes first.
pub fn read_status(stream: &std::net::TcpStream) -> Option<u16> {
    let head = read_head(&mut std::io::BufReader::new(stream.try_clone().ok()?)).ok()?;
    head.line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads one request head (request line and headers, up to the blank line).
pub fn read_head(reader: &mut impl BufRead) -> std::io::Result<Head> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h == "\r\n" || h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    Ok(Head { line: line.trim_end().to_string(), headers, length })
}

/// How many `operation` calls the `--print-metrics` text on stderr counts.
pub fn ops(stderr: &str, operation: &str) -> u64 {
    let start = format!("spaces_operations_total{{operation=\"{operation}\",");
    stderr.lines().filter(|l| l.starts_with(&start)).filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum()
}

/// Waits (up to 60 s) until the incomplete upload of `key` has at least `n` parts stored.
pub fn wait_for_parts(b: &Bucket, key: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let listed =
            run(Command::new("s3cmd").arg("-c").arg(b.path(".s3cfg")).args(["multipart", &format!("s3://{}", b.name)]));
        let text = String::from_utf8_lossy(&listed.stdout);
        if let Some(id) = text.lines().filter(|l| l.contains(key)).find_map(|l| l.split_whitespace().last()) {
            let parts = run(Command::new("s3cmd").arg("-c").arg(b.path(".s3cfg")).args([
                "listmp",
                &format!("s3://{}/{key}", b.name),
                id,
            ]));
            // One line per part, each with its quoted ETag.
            if String::from_utf8_lossy(&parts.stdout).lines().filter(|l| l.contains('"')).count() >= n {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the upload of {key} never stored {n} parts");
}

/// Sends SIGINT (what Ctrl-C sends) and collects the output, failing if the process does not end within 20 s.
pub fn interrupt(child: std::process::Child) -> Output {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits");
    // SAFETY: a plain signal to our own child process, which has not been reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "SIGINT delivered");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("spaces did not stop within 20 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}
