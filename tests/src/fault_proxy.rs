//! A fault-injecting HTTP/1.1 proxy on loopback in front of RGW: for each request a test-supplied rule decides to
//! pass it through (at once, late, or with one byte of its body altered), answer 503 SlowDown or 400 BadDigest,
//! reset the connection (after the request or halfway through its body), never answer, or cut the response body
//! short. It listens on loopback unless told another local address. It records every
//! request head so tests can check what the client retried, resumed or aborted. One request per connection
//! (`Connection: close`), which keeps the framing trivial; it stops when dropped.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward it unchanged.
    Pass,
    /// Answer `503 SlowDown` without contacting RGW.
    SlowDown,
    /// Read the request, then close the connection without an answer.
    Reset,
    /// Read half the request body, then close the connection: a reset in the middle of an upload.
    ResetMidBody,
    /// Forward, but send only this many body bytes of the answer before closing.
    Truncate(usize),
    /// Answer `400 BadDigest` without contacting RGW.
    BadDigest,
    /// Forward after this many milliseconds.
    Delay(u64),
    /// Read the request body 64 KiB at a time with this many milliseconds between reads (a slow link), then
    /// forward it.
    SlowBody(u64),
    /// Read the request and never answer (the connection closes after a minute).
    Stall,
    /// Forward it with the middle byte of its body inverted: bytes altered on the way.
    Corrupt,
}

/// A request as the proxy saw it: `METHOD /path?query` and lower-case headers.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request line without `HTTP/1.1`.
    pub line: String,
    /// Lower-case names, trimmed values.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

type Rule = dyn Fn(&Seen, usize) -> Fault + Send + Sync;

/// A running proxy.
pub struct FaultProxy {
    /// `http://IP:PORT`, to configure a client with.
    pub endpoint: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy on loopback to `upstream` (`host:port`); `rule` gets each request and its index (0-based).
    pub fn start(upstream: &str, rule: impl Fn(&Seen, usize) -> Fault + Send + Sync + 'static) -> Self {
        Self::start_on("127.0.0.1".parse().unwrap(), upstream, rule)
    }

    /// Starts a proxy listening on the local address `ip`.
    pub fn start_on(
        ip: std::net::IpAddr,
        upstream: &str,
        rule: impl Fn(&Seen, usize) -> Fault + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind((ip, 0)).expect("bind the proxy's address");
        listener.set_nonblocking(true).expect("nonblocking");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let rule: Arc<Rule> = Arc::new(rule);
        let (seen2, stop2, upstream) = (Arc::clone(&seen), Arc::clone(&stop), upstream.to_string());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (seen, rule, upstream) = (Arc::clone(&seen2), Arc::clone(&rule), upstream.clone());
                        std::thread::spawn(move || {
                            let _ = serve(client, &upstream, &seen, &*rule);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultProxy { endpoint, seen, stop, thread: Some(thread) }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(client: TcpStream, upstream: &str, seen: &Mutex<Vec<Seen>>, rule: &Rule) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let crate::Head { line, headers, length } = crate::read_head(&mut reader)?;
    let mut head = format!("{line}\r\n");
    for (k, v) in headers.iter().filter(|(k, _)| k != "connection") {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let request = Seen { line, headers };
    let index = {
        let mut seen = seen.lock().unwrap();
        seen.push(request.clone());
        seen.len() - 1
    };
    let mut client = client;
    let fault = rule(&request, index);
    let mut body = vec![0; if fault == Fault::ResetMidBody { length / 2 } else { length }];
    if let Fault::SlowBody(ms) = fault {
        for chunk in body.chunks_mut(64 << 10) {
            std::thread::sleep(Duration::from_millis(ms));
            reader.read_exact(chunk)?;
        }
    } else {
        reader.read_exact(&mut body)?;
    }
    match fault {
        Fault::Reset | Fault::ResetMidBody => {
            client.shutdown(Shutdown::Both)?;
        }
        Fault::SlowDown => answer(&mut client, "503 Slow Down", "SlowDown", "Please reduce your request rate.")?,
        Fault::BadDigest => {
            answer(&mut client, "400 Bad Request", "BadDigest", "The Content-MD5 you specified did not match.")?
        }
        Fault::Stall => std::thread::sleep(Duration::from_secs(60)),
        Fault::Pass | Fault::Truncate(_) | Fault::Delay(_) | Fault::SlowBody(_) | Fault::Corrupt => {
            if let Fault::Delay(ms) = fault {
                std::thread::sleep(Duration::from_millis(ms));
            }
            if fault == Fault::Corrupt && !body.is_empty() {
                let middle = body.len() / 2;
                body[middle] = !body[middle];
            }
            let mut up = TcpStream::connect(upstream)?;
            up.write_all(head.as_bytes())?;
            up.write_all(&body)?;
            let mut response = Vec::new();
            up.read_to_end(&mut response)?;
            if let Fault::Truncate(n) = fault {
                let body_start = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |p| p + 4);
                response.truncate((body_start + n).min(response.len()));
            }
            client.write_all(&response)?;
            client.shutdown(Shutdown::Both)?;
        }
    }
    Ok(())
}

fn answer(client: &mut TcpStream, status: &str, code: &str, message: &str) -> std::io::Result<()> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    client.shutdown(Shutdown::Both)
}
