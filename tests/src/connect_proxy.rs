//! An HTTP CONNECT proxy on loopback, like the company proxies `HTTPS_PROXY` points at: it records each tunnel's
//! target, connects to it, answers 200, and copies bytes both ways until either side closes. It stops accepting
//! when dropped.

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running proxy.
pub struct ConnectProxy {
    /// `http://127.0.0.1:PORT`, for HTTPS_PROXY.
    pub url: String,
    targets: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl ConnectProxy {
    /// Starts the proxy.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (targets, stop) = (Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let (seen, stopping) = (Arc::clone(&targets), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let seen = Arc::clone(&seen);
                        std::thread::spawn(move || tunnel(client, &seen));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        ConnectProxy { url, targets, stop }
    }

    /// `host:port` of every tunnel asked for, in order.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn tunnel(client: TcpStream, seen: &Mutex<Vec<String>>) {
    client.set_nonblocking(false).expect("blocking");
    let Ok(head) = crate::read_head(&mut BufReader::new(client.try_clone().expect("clone"))) else { return };
    let mut parts = head.line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else { return };
    seen.lock().unwrap().push(target.to_string());
    let Ok(upstream) = TcpStream::connect(target) else { return };
    let mut answer = client.try_clone().expect("clone");
    if answer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err() {
        return;
    }
    let (mut up_read, mut up_write) = (upstream.try_clone().expect("clone"), upstream);
    let (mut down_read, mut down_write) = (client.try_clone().expect("clone"), client);
    let there = std::thread::spawn(move || {
        let _ = std::io::copy(&mut down_read, &mut up_write);
        let _ = up_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut down_write);
    let _ = down_write.shutdown(std::net::Shutdown::Write);
    let _ = there.join();
}
