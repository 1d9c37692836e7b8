//! HTTPS, as Spaces is: the tests' RGW also listens with TLS (a certificate for 127.0.0.1 from a CA the test setup
//! makes, tests/scripts/rgw.sh). The CLI, the service and the edge build work over it once told to trust that CA
//! (`--ca-bundle` or AWS_CA_BUNDLE); an untrusted certificate, or a trusted one for another name, fails at once with
//! a clear message, never retried. And the proxies company networks put in the way: HTTPS_PROXY, HTTP_PROXY,
//! NO_PROXY.

use spaces_tests::proxies::{Forwarder, Proxy};
use spaces_tests::service::Service;
use spaces_tests::{pattern, sha256, Bucket};
use std::path::PathBuf;
use std::time::Duration;

const TOKEN: &str = "tls-token-0123456789";

/// The TLS endpoint of the tests' RGW and the CA that signed its certificate.
fn tls() -> (String, PathBuf) {
    let plain = spaces_tests::rgw().endpoint;
    let port: u16 = plain.rsplit(':').next().and_then(|p| p.parse().ok()).expect("RGW port");
    let dir = std::env::var("RGW_DIR").expect("RGW_DIR is set by tests/run.sh");
    (format!("https://127.0.0.1:{}", port + 2000), PathBuf::from(dir).join("tls/ca.pem"))
}

/// `spaces` for `b` over TLS, trusting `ca` (or only the usual roots when `None`).
fn over_tls(b: &Bucket, ca: Option<&PathBuf>) -> std::process::Command {
    let (endpoint, _) = tls();
    let mut c = b.spaces();
    c.env("SPACES_ENDPOINT", endpoint).env_remove("AWS_CA_BUNDLE").env_remove("SSL_CERT_FILE");
    if let Some(ca) = ca {
        c.env("AWS_CA_BUNDLE", ca);
    }
    c
}

#[test]
fn the_cli_works_over_tls_with_the_test_ca_and_refuses_without_it() {
    let b = Bucket::new("tlscli");
    let (_, ca) = tls();
    let data = pattern(12 << 20, 9);
    std::fs::write(b.path("big.bin"), &data).unwrap();
    let out = over_tls(&b, Some(&ca)).args(["put", "big.bin", "big.bin"]).output().unwrap();
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    let out = over_tls(&b, Some(&ca)).args(["get", "big.bin", "back.bin"]).output().unwrap();
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    assert_eq!(sha256(&std::fs::read(b.path("back.bin")).unwrap()), sha256(&data), "multipart over TLS, whole");

    let out = over_tls(&b, None).args(["head", "big.bin", "--print-metrics"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("TLS certificate that is not trusted") && err.contains("--ca-bundle"), "{err}");
    assert!(err.contains("spaces_operation_retries_total{operation=\"head-object\",status=\"error\"} 0"), "{err}");

    let missing = over_tls(&b, None).args(["ls", "--ca-bundle", "/nonexistent/ca.pem"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2), "{}", spaces_tests::describe(&missing));
}

#[test]
fn a_trusted_certificate_for_another_name_is_refused_at_once() {
    let b = Bucket::new("tlsname");
    let (endpoint, ca) = tls();
    // 127.0.0.2 is loopback too, but the certificate names only 127.0.0.1 and localhost.
    let forwarder = Forwarder::start("127.0.0.2", endpoint.trim_start_matches("https://"));
    let out = over_tls(&b, Some(&ca))
        .env("SPACES_ENDPOINT", format!("https://{}", forwarder.addr))
        .args(["head", "anything", "--print-metrics"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("presented a TLS certificate that is not trusted, or not for that name"), "{err}");
    assert!(err.contains("spaces_operation_retries_total{operation=\"head-object\",status=\"error\"} 0"), "{err}");
}

#[test]
fn plain_http_goes_through_the_proxy_http_proxy_names_with_its_credentials() {
    let b = Bucket::new("httpproxy");
    let proxy = Proxy::start();
    let with_credentials = proxy.url.replace("http://", "http://someone:s3cret@");
    std::fs::write(b.path("note.txt"), b"forwarded").unwrap();
    let mut put = b.spaces();
    put.env("HTTP_PROXY", &with_credentials).env("SPACES_LOG", "trace").args(["put", "note.txt", "note.txt"]);
    let out = put.output().unwrap();
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("s3cret") && !log.contains("c29tZW9uZTpzM2NyZXQ"), "the proxy's password in the log: {log}");
    let authority = b.rgw.endpoint.trim_start_matches("http://").to_string();
    assert!(!proxy.targets().is_empty() && proxy.targets().iter().all(|t| *t == authority), "{:?}", proxy.targets());
    // base64("someone:s3cret")
    let sent = Some("Basic c29tZW9uZTpzM2NyZXQ=".to_string());
    assert!(proxy.authorizations().iter().all(|a| *a == sent), "{:?}", proxy.authorizations());
    let forwarded = proxy.targets().len();
    let mut get = b.spaces();
    get.env("HTTP_PROXY", &proxy.url).env("NO_PROXY", "127.0.0.1").args(["get", "note.txt", "back.txt"]);
    let out = get.output().unwrap();
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    assert_eq!(std::fs::read(b.path("back.txt")).unwrap(), b"forwarded");
    assert_eq!(proxy.targets().len(), forwarded, "NO_PROXY: reached directly");
}

#[test]
fn the_service_and_the_edge_work_over_tls() {
    let b = Bucket::new("tlsfaces");
    let (_, ca) = tls();
    let body = pattern(100_000, 3);
    let serve = Service::start(over_tls(&b, Some(&ca)), TOKEN, &[]);
    serve.wait_ready(Duration::from_secs(30));
    let edge = Service::edge(over_tls(&b, Some(&ca)), TOKEN);
    for (face, s) in [("serve", &serve), ("edge", &edge)] {
        let path = format!("/v1/objects/{face}.bin");
        assert_eq!(s.call("PUT", &path, &[], Some(&body)).status(), 200, "{face}: {}", s.log());
        let mut got = s.call("GET", &path, &[], None);
        assert_eq!(got.status(), 200, "{face}");
        assert_eq!(sha256(&got.body_mut().read_to_vec().unwrap()), sha256(&body), "{face}");
    }
    assert!(serve.terminate(Duration::from_secs(30)).success());
    assert!(edge.terminate(Duration::from_secs(30)).success());
}

#[test]
fn https_goes_through_the_proxy_https_proxy_names_unless_no_proxy_says_otherwise() {
    let b = Bucket::new("tlsproxy");
    let (endpoint, ca) = tls();
    let authority = endpoint.trim_start_matches("https://").to_string();
    let proxy = Proxy::start();
    std::fs::write(b.path("note.txt"), b"through the proxy").unwrap();
    let out = over_tls(&b, Some(&ca)).env("HTTPS_PROXY", &proxy.url).args(["put", "note.txt", "note.txt"]).output();
    let out = out.unwrap();
    assert!(out.status.success(), "{}", spaces_tests::describe(&out));
    assert!(proxy.targets().iter().all(|t| *t == authority) && !proxy.targets().is_empty(), "{:?}", proxy.targets());
    let tunnels = proxy.targets().len();
    let direct = over_tls(&b, Some(&ca))
        .env("HTTPS_PROXY", &proxy.url)
        .env("NO_PROXY", "127.0.0.1")
        .args(["get", "note.txt", "back.txt"])
        .output()
        .unwrap();
    assert!(direct.status.success(), "{}", spaces_tests::describe(&direct));
    assert_eq!(std::fs::read(b.path("back.txt")).unwrap(), b"through the proxy");
    assert_eq!(proxy.targets().len(), tunnels, "NO_PROXY: reached directly");
}
