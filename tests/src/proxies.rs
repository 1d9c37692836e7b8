//! Proxies on loopback, like the company proxies `HTTPS_PROXY` and `HTTP_PROXY` point at: a CONNECT tunnel is
//! answered 200 and then copies bytes both ways; a plain request in absolute form (`GET http://host/path`) is passed
//! to that host as it came (servers accept the absolute form too), and later requests on the connection with it.
//! Each records where it went and the `Proxy-Authorization` it carried. A plain TCP forwarder, for reaching a server
//! under an address its certificate does not name, is here too. Each stops accepting when dropped.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What one proxied connection asked for.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    authorization: Option<String>,
}

/// A running proxy.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`, for HTTPS_PROXY or HTTP_PROXY.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    _accepting: Accepting,
}

impl Proxy {
    /// Starts the proxy.
    pub fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let (accepting, addr) = Accepting::start("127.0.0.1:0", move |client| proxy(client, &log));
        Proxy { url: format!("http://{addr}"), seen, _accepting: accepting }
    }

    /// `host:port` of every tunnel or forwarded connection asked for, in order.
    pub fn targets(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|s| s.target.clone()).collect()
    }

    /// The `Proxy-Authorization` each of them carried.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.seen.lock().unwrap().iter().map(|s| s.authorization.clone()).collect()
    }
}

/// A running TCP forwarder.
pub struct Forwarder {
    /// `IP:PORT` it listens on.
    pub addr: String,
    _accepting: Accepting,
}

impl Forwarder {
    /// Listens on `ip` (any free port) and joins each connection to a new one to `target`.
    pub fn start(ip: &str, target: &str) -> Self {
        let target = target.to_string();
        let (accepting, addr) = Accepting::start(&format!("{ip}:0"), move |client| {
            if let Ok(upstream) = TcpStream::connect(&target) {
                splice(client, upstream);
            }
        });
        Forwarder { addr, _accepting: accepting }
    }
}

/// An accept loop on its own thread, one thread per connection, until dropped.
struct Accepting(Arc<AtomicBool>);

impl Accepting {
    fn start(bind: &str, serve: impl Fn(TcpStream) + Send + Sync + 'static) -> (Self, String) {
        let listener = TcpListener::bind(bind).expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let (stopping, serve) = (Arc::clone(&stop), Arc::new(serve));
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).expect("blocking");
                        let serve = Arc::clone(&serve);
                        std::thread::spawn(move || serve(client));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        (Accepting(stop), addr)
    }
}

impl Drop for Accepting {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn proxy(client: TcpStream, seen: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(client.try_clone().expect("clone"));
    let Ok(head) = crate::read_head(&mut reader) else { return };
    let mut parts = head.line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else { return };
    let authorization = head.headers.iter().find(|(k, _)| k == "proxy-authorization").map(|(_, v)| v.clone());
    let authority = match (method, target.strip_prefix("http://")) {
        ("CONNECT", _) => target.to_string(),
        (_, Some(rest)) => rest.split('/').next().unwrap_or(rest).to_string(),
        _ => return,
    };
    seen.lock().unwrap().push(Seen { target: authority.clone(), authorization });
    let Ok(mut upstream) = TcpStream::connect(&authority) else { return };
    let mut answer = client.try_clone().expect("clone");
    let passed = if method == "CONNECT" {
        answer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
    } else {
        // The head as it came (proxy credentials are the proxy's, not the server's), then what was read past it.
        let mut bytes = format!("{}\r\n", head.line);
        for (k, v) in head.headers.iter().filter(|(k, _)| k != "proxy-authorization") {
            bytes.push_str(&format!("{k}: {v}\r\n"));
        }
        bytes.push_str("\r\n");
        upstream.write_all(bytes.as_bytes()).and_then(|()| upstream.write_all(reader.buffer()))
    };
    if passed.is_ok() {
        splice(client, upstream);
    }
}

/// Copies bytes both ways between `a` and `b` until either side closes.
fn splice(a: TcpStream, b: TcpStream) {
    let (mut a_read, mut a_write) = (a.try_clone().expect("clone"), a);
    let (mut b_read, mut b_write) = (b.try_clone().expect("clone"), b);
    let there = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a_read, &mut b_write);
        let _ = b_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b_read, &mut a_write);
    let _ = a_write.shutdown(std::net::Shutdown::Write);
    let _ = there.join();
}
