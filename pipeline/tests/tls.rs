//! HTTPS sinks against a real TLS server on 127.0.0.1 with a CA made for
//! the test: the CA bundle (`ca_file`), certificates that must not be
//! trusted (unknown issuer, expired, another host), mutual TLS, and the
//! checks `canon.toml` gets when it is loaded (client key mode, plain http).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canon_pipeline::{process, Config, Error, Options, Rules, State};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::Value as Json;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/timesheets");

/// A copy of the timesheet example (sources and data) in a temporary directory.
fn package(tmp: &Path) -> PathBuf {
    let dir = tmp.join("pkg");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    for entry in std::fs::read_dir(EXAMPLE).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "canon") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    for f in ["projects.csv", "fx.csv"] {
        std::fs::copy(Path::new(EXAMPLE).join("data").join(f), dir.join("data").join(f)).unwrap();
    }
    dir
}

/// The package's rules, with its `canon.toml` loaded as `canon process` does.
fn rules(pkg: &Path) -> canon_pipeline::Result<Rules> {
    let loaded = canon_runtime::load(pkg).unwrap();
    assert!(!loaded.has_errors());
    let data = loaded.data_dir();
    let tables = canon_runtime::Tables::load(&loaded.package(), &data, false).unwrap();
    Rules::new(&loaded, tables, &data, canon_jit::Backend::Jit)
}

/// The first events of the example; returns how many records go to `erp_posting`.
fn run(state: &mut State, rules: &Rules) -> (canon_pipeline::Summary, usize) {
    let input: String = std::fs::read_to_string(Path::new(EXAMPLE).join("events.jsonl"))
        .unwrap()
        .lines()
        .take(4)
        .map(|l| format!("{l}\n"))
        .collect();
    let mut out = Vec::new();
    let opts =
        Options { batch_events: 16, batch_latency: Duration::from_millis(50), input_name: "test".into(), workers: 1 };
    let s = process(state, rules, Box::new(std::io::Cursor::new(input.into_bytes())), &mut out, &opts, &mut |_| {})
        .unwrap();
    let erp = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .flat_map(|o| o["emits"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["destination"] == "erp_posting")
        .count();
    assert!(erp > 0, "the sample sends records to erp_posting");
    (s, erp)
}

/// Each `erp_posting` row's state and last error.
fn outbox(state: &State) -> Vec<(String, Option<String>)> {
    let mut st =
        state.connection().prepare("SELECT state, last_error FROM outbox WHERE destination = 'erp_posting'").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<Vec<_>>>().unwrap()
}

/// A CA made for the test, and what it signs.
struct Pki {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, in PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let ca_pem = params.self_signed(&key).unwrap().pem();
        Pki { ca_pem, issuer: Issuer::new(params, key) }
    }

    fn leaf(&self, names: &[&str], expired: bool) -> Leaf {
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        Leaf { cert: params.signed_by(&key, &self.issuer).unwrap().pem(), key: key.serialize_pem() }
    }
}

fn certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    ureq::tls::parse_pem(pem.as_bytes())
        .filter_map(|i| match i.unwrap() {
            ureq::tls::PemItem::Certificate(c) => Some(rustls::pki_types::CertificateDer::from(c.der().to_vec())),
            _ => None,
        })
        .collect()
}

/// A real HTTPS server on 127.0.0.1 answering every request `200 OK` and
/// recording the delivery ids it was sent; with `client_ca`, it requires a
/// client certificate signed by that CA.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(leaf: &Leaf, client_ca: Option<&str>) -> Server {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in certs(ca) {
                    roots.add(c).unwrap();
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
        };
        let key = rustls::pki_types::PrivateKeyDer::try_from(
            ureq::tls::PrivateKey::from_pem(leaf.key.as_bytes()).unwrap().der().to_vec(),
        )
        .unwrap();
        let config = Arc::new(builder.with_single_cert(certs(&leaf.cert), key).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop: Arc<AtomicBool> = Arc::default();
        let (log, halt) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            // Bounded: the test stops it, and it never serves more than this.
            for _ in 0..500 {
                let Ok((tcp, _)) = listener.accept() else {
                    break;
                };
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                if let Some(id) = serve(&mut tls) {
                    log.lock().unwrap().push(id);
                }
            }
        });
        Server { url: format!("https://127.0.0.1:{}/postings", addr.port()), seen, stop, addr, thread: Some(thread) }
    }
}

/// Reads one HTTP/1.1 request and answers `200 OK`; the delivery id, or
/// `None` when the handshake or the request failed.
fn serve(tls: &mut rustls::StreamOwned<rustls::ServerConnection, TcpStream>) -> Option<String> {
    let mut reader = BufReader::new(&mut *tls);
    let mut id = None;
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("canon-delivery-id") {
                id = Some(v.trim().to_string());
            } else if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").ok()?;
    tls.conn.send_close_notify();
    tls.flush().ok()?;
    id
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes `canon.toml` with an http sink for `erp_posting` (`extra` added to
/// it) and loads the package as `canon process` does.
fn with_sink(pkg: &Path, url: &str, extra: &str) -> canon_pipeline::Result<Rules> {
    let text = format!(
        "[sinks.erp_posting]\ntype = \"http\"\nurl = \"{url}\"\nmax_attempts = 2\ninitial_backoff_ms = 5\nmax_backoff_ms = 10\ntimeout_ms = 3000\n{extra}\n"
    );
    std::fs::write(pkg.join("canon.toml"), text).unwrap();
    rules(pkg)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Runs the sample against `rules`: every erp record delivered, or every one
/// dead-lettered after its 2 attempts with a reason that contains one of `reason`.
fn expect(tmp: &Path, rules: &Rules, server: &Server, reason: Option<&[&str]>) {
    let mut state = State::open(&tmp.join("state")).unwrap();
    let (s, erp) = run(&mut state, rules);
    let rows = outbox(&state);
    assert_eq!(rows.len(), erp);
    match reason {
        None => {
            assert_eq!((s.http.delivered as usize, s.http.dead), (erp, 0), "{rows:?}");
            assert_eq!(server.seen.lock().unwrap().len(), erp);
            assert!(rows.iter().all(|(st, e)| st == "delivered" && e.is_none()), "{rows:?}");
            let st = serde_json::to_value(canon_pipeline::status::status(&state).unwrap()).unwrap();
            assert!(st["destinations"]["erp_posting"].get("last_error").is_none(), "{st}");
        }
        Some(why) => {
            assert_eq!((s.http.delivered, s.http.dead as usize, s.http.retried as usize), (0, erp, erp), "{rows:?}");
            assert!(server.seen.lock().unwrap().is_empty(), "nothing reaches the server");
            for (st, e) in &rows {
                assert_eq!(st, "dead");
                let e = e.as_deref().unwrap();
                eprintln!("last_error: {e}");
                assert!(why.iter().any(|w| e.contains(w)) && e.contains(&server.url), "{e}");
            }
            let st = serde_json::to_value(canon_pipeline::status::status(&state).unwrap()).unwrap();
            assert_eq!(st["destinations"]["erp_posting"]["dead"].as_u64().unwrap() as usize, erp);
            let last = st["destinations"]["erp_posting"]["last_error"].as_str().unwrap();
            assert!(why.iter().any(|w| last.contains(w)), "{last}");
        }
    }
}

#[test]
fn a_server_signed_by_the_ca_file_is_trusted_and_otherwise_not() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path());
    let pki = Pki::new("Test ERP CA");
    let server = Server::start(&pki.leaf(&["127.0.0.1", "localhost"], false), None);
    write(&pkg.join("tls/erp-ca.pem"), &pki.ca_pem);
    // Relative to the package directory.
    let trusting = with_sink(&pkg, &server.url, "ca_file = \"tls/erp-ca.pem\"").unwrap();
    expect(&tmp.path().join("a"), &trusting, &server, None);

    let server = Server::start(&pki.leaf(&["127.0.0.1", "localhost"], false), None);
    // The system's trust store does not know the test CA (or, on a machine
    // without CA certificates, is empty).
    let system = with_sink(&pkg, &server.url, "").unwrap();
    let untrusted = ["certificate is not trusted: UnknownIssuer", "No CA certificates were loaded from the system"];
    expect(&tmp.path().join("b"), &system, &server, Some(&untrusted));

    // Another CA's bundle is no better.
    write(&pkg.join("tls/other-ca.pem"), &Pki::new("Other CA").ca_pem);
    let other = with_sink(&pkg, &server.url, "ca_file = \"tls/other-ca.pem\"").unwrap();
    expect(&tmp.path().join("c"), &other, &server, Some(&["certificate is not trusted: UnknownIssuer"]));
}

#[test]
fn expired_and_wrong_host_certificates_are_not_delivered_to() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path());
    let pki = Pki::new("Test ERP CA");
    write(&pkg.join("ca.pem"), &pki.ca_pem);
    let expired = Server::start(&pki.leaf(&["127.0.0.1", "localhost"], true), None);
    let rules = with_sink(&pkg, &expired.url, "ca_file = \"ca.pem\"").unwrap();
    expect(&tmp.path().join("a"), &rules, &expired, Some(&["certificate expired"]));

    let elsewhere = Server::start(&pki.leaf(&["erp.example.com"], false), None);
    let rules = with_sink(&pkg, &elsewhere.url, "ca_file = \"ca.pem\"").unwrap();
    expect(&tmp.path().join("b"), &rules, &elsewhere, Some(&["certificate is for another host"]));
}

#[test]
fn mutual_tls_delivers_with_the_client_certificate_and_is_refused_without() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path());
    let pki = Pki::new("Test ERP CA");
    let clients = Pki::new("Test client CA");
    let me = clients.leaf(&["canon.example.com"], false);
    write(&pkg.join("tls/ca.pem"), &pki.ca_pem);
    write(&pkg.join("tls/canon.pem"), &me.cert);
    write(&pkg.join("tls/canon.key"), &me.key);
    std::fs::set_permissions(pkg.join("tls/canon.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let leaf = pki.leaf(&["127.0.0.1"], false);

    let server = Server::start(&leaf, Some(&clients.ca_pem));
    let rules = with_sink(
        &pkg,
        &server.url,
        "ca_file = \"tls/ca.pem\"\nclient_cert = \"tls/canon.pem\"\nclient_key = \"tls/canon.key\"",
    )
    .unwrap();
    expect(&tmp.path().join("a"), &rules, &server, None);

    let server = Server::start(&leaf, Some(&clients.ca_pem));
    let rules = with_sink(&pkg, &server.url, "ca_file = \"tls/ca.pem\"").unwrap();
    // Under TLS 1.3 the client's handshake is done before the server checks
    // its certificate: the request then meets the server's alert, or the
    // connection the server closed after it.
    let refused: &[&str] =
        &["the server refused the TLS handshake: CertificateRequired", "set `client_cert` and `client_key`"];
    expect(&tmp.path().join("b"), &rules, &server, Some(refused));
}

fn config_error(rules: canon_pipeline::Result<Rules>) -> String {
    match rules {
        Err(e @ Error::Config { .. }) => {
            eprintln!("{e}");
            e.to_string()
        }
        Err(e) => panic!("not a canon.toml error: {e}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn tls_files_are_checked_when_canon_toml_is_loaded() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path());
    let url = "https://erp.example.com/postings";
    let me = Pki::new("client CA").leaf(&["canon.example.com"], false);
    write(&pkg.join("canon.pem"), &me.cert);
    write(&pkg.join("canon.key"), &me.key);
    write(&pkg.join("garbage.pem"), "not a certificate\n");

    std::fs::set_permissions(pkg.join("canon.key"), PermissionsExt::from_mode(0o644)).unwrap();
    let e = config_error(with_sink(&pkg, url, "client_cert = \"canon.pem\"\nclient_key = \"canon.key\""));
    assert!(e.contains("[sinks.erp_posting]") && e.contains("`client_key`"), "{e}");
    assert!(e.contains(&format!("chmod 600 {}", pkg.join("canon.key").display())), "{e}");
    std::fs::set_permissions(pkg.join("canon.key"), PermissionsExt::from_mode(0o600)).unwrap();
    with_sink(&pkg, url, "client_cert = \"canon.pem\"\nclient_key = \"canon.key\"").unwrap();

    let stranger = Pki::new("client CA").leaf(&["canon.example.com"], false);
    write(&pkg.join("other.key"), &stranger.key);
    std::fs::set_permissions(pkg.join("other.key"), PermissionsExt::from_mode(0o600)).unwrap();
    let e = config_error(with_sink(&pkg, url, "client_cert = \"canon.pem\"\nclient_key = \"other.key\""));
    assert!(e.contains("`client_key`") && e.contains("is not the key of `client_cert`"), "{e}");
    let e = config_error(with_sink(&pkg, url, "client_cert = \"canon.pem\""));
    assert!(e.contains("`client_cert` needs `client_key`"), "{e}");
    write(&pkg.join("cert-as-key.pem"), &me.cert);
    std::fs::set_permissions(pkg.join("cert-as-key.pem"), PermissionsExt::from_mode(0o600)).unwrap();
    let e = config_error(with_sink(&pkg, url, "client_cert = \"canon.pem\"\nclient_key = \"cert-as-key.pem\""));
    assert!(e.contains("`client_key`") && e.contains("no PEM private key"), "{e}");
    let e = config_error(with_sink(&pkg, url, "ca_file = \"missing.pem\""));
    assert!(e.contains("[sinks.erp_posting]") && e.contains("`ca_file`") && e.contains("missing.pem"), "{e}");
    let e = config_error(with_sink(&pkg, url, "ca_file = \"garbage.pem\""));
    assert!(e.contains("`ca_file`") && e.contains("no PEM certificate"), "{e}");
    let e = config_error(with_sink(&pkg, url, "ca_file = \"canon.key\""));
    assert!(e.contains("`ca_file`") && e.contains("no PEM certificate"), "{e}");
}

#[test]
fn plain_http_to_another_machine_needs_allow_plain_http() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = package(tmp.path());
    for url in ["http://erp.example.com/postings", "http://10.1.2.3:8080/x", "http://127.0.0.1@erp.example.com/"] {
        let e = config_error(with_sink(&pkg, url, ""));
        assert!(e.contains("[sinks.erp_posting]") && e.contains("allow_plain_http = true"), "{e}");
        let e = config_error(with_sink(&pkg, url, "allow_plain_http = false"));
        assert!(e.contains("allow_plain_http = true"), "{e}");
        with_sink(&pkg, url, "allow_plain_http = true").unwrap();
    }
    for url in ["http://127.0.0.1:9/x", "http://localhost:9/", "http://[::1]:9/", "http://127.1.2.3/"] {
        with_sink(&pkg, url, "").unwrap();
    }
    // The TLS keys need https.
    write(&pkg.join("ca.pem"), &Pki::new("CA").ca_pem);
    let e = config_error(with_sink(&pkg, "http://127.0.0.1:9/", "ca_file = \"ca.pem\""));
    assert!(e.contains("need an https:// `url`"), "{e}");
    // Config::parse_in reads relative files from the given directory.
    let ir = with_sink(&pkg, "http://127.0.0.1:9/", "").unwrap().evaluator().package().clone();
    let text = "[sinks.erp_posting]\ntype = \"http\"\nurl = \"https://erp.example.com/\"\nca_file = \"ca.pem\"\n";
    let parsed = Config::parse_in(text, &ir, &pkg).unwrap();
    assert!(
        matches!(&parsed.sinks.iter().find(|(d, _)| d == "erp_posting").unwrap().1, canon_pipeline::config::SinkConfig::Http(h) if h.tls.ca_file == Some(pkg.join("ca.pem")))
    );
}
