//! `canon.toml` in the package directory: which sink each destination goes to.
//!
//! ```toml
//! [sinks.erp_posting]
//! type = "http"                       # "file" (the default) or "http"
//! url = "https://erp.example.com/journal-lines"
//! max_attempts = 8                    # then the delivery is dead-lettered
//! initial_backoff_ms = 500            # doubled after each failure, with jitter
//! max_backoff_ms = 60000
//! timeout_ms = 10000
//! headers = { Authorization = "Bearer ..." }
//! ca_file = "/etc/ssl/erp-ca.pem"     # optional: the only trusted roots (else the system's)
//! client_cert = "tls/canon.pem"       # optional, with client_key: mutual TLS
//! client_key = "tls/canon.key"        # relative to the package directory; mode 0600
//! allow_plain_http = false            # http:// to a host other than loopback needs true
//!
//! [sinks.payroll_staging]
//! type = "file"
//! path = "exports/payroll.jsonl"      # relative to the state directory
//! ```
//!
//! A destination without an entry goes to `STATE/out/<destination>.jsonl`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use canon_compiler::ir;
use serde::Deserialize;

use crate::error::{Error, Result};

/// The name of the file, in the package directory.
pub const FILE_NAME: &str = "canon.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    sinks: BTreeMap<String, RawSink>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    path: Option<PathBuf>,
    url: Option<String>,
    max_attempts: Option<u32>,
    initial_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    timeout_ms: Option<u64>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    ca_file: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    allow_plain_http: Option<bool>,
}

/// Where one destination's records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkConfig {
    /// A JSONL file; `None` is the default `out/<destination>.jsonl`.
    File {
        path: Option<PathBuf>,
    },
    Http(HttpConfig),
}

/// An HTTP endpoint that receives one POST per record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    pub url: String,
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub timeout: Duration,
    pub headers: Vec<(String, String)>,
    /// Trusted roots and client certificate, read when the config is loaded.
    pub tls: HttpTls,
}

/// The sinks of every destination of a package, in destination order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub sinks: Vec<(String, SinkConfig)>,
}

impl Config {
    /// Reads `canon.toml` from the package root (every destination goes to
    /// its default file when there is none).
    pub fn load(root: &Path, pkg: &ir::Package) -> Result<Config> {
        let path = root.join(FILE_NAME);
        let raw = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<RawConfig>(&text)
                .map_err(|e| Error::Config { path: path.clone(), message: e.to_string().trim().to_string() })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RawConfig::default(),
            Err(e) => return Err(Error::Read { path, source: e }),
        };
        Config::from_raw(raw, pkg, &path, root)
    }

    /// Parses the text of a `canon.toml` (for tests and tools); relative
    /// `ca_file`, `client_cert` and `client_key` are read from the current
    /// directory.
    pub fn parse(text: &str, pkg: &ir::Package) -> Result<Config> {
        Config::parse_in(text, pkg, Path::new(""))
    }

    /// Parses the text of a `canon.toml` as if it were in the package
    /// directory `root` (relative TLS files are read from there).
    pub fn parse_in(text: &str, pkg: &ir::Package, root: &Path) -> Result<Config> {
        let path = root.join(FILE_NAME);
        let raw = toml::from_str::<RawConfig>(text)
            .map_err(|e| Error::Config { path: path.clone(), message: e.to_string().trim().to_string() })?;
        Config::from_raw(raw, pkg, &path, root)
    }

    fn from_raw(raw: RawConfig, pkg: &ir::Package, path: &Path, root: &Path) -> Result<Config> {
        let bad = |message: String| Error::Config { path: path.to_path_buf(), message };
        for name in raw.sinks.keys() {
            if pkg.destination_by_name(name).is_none() {
                let known: Vec<&str> = pkg.destinations.iter().map(|d| d.name.as_str()).collect();
                return Err(bad(format!(
                    "`[sinks.{name}]`: the package has no destination `{name}` (it has: {})",
                    known.join(", ")
                )));
            }
        }
        let mut sinks = Vec::new();
        for d in &pkg.destinations {
            let sink = match raw.sinks.get(&d.name) {
                None => SinkConfig::File { path: None },
                Some(s) => match s.kind.as_deref().unwrap_or("file") {
                    "file" => {
                        if s.url.is_some() {
                            return Err(bad(format!("`[sinks.{}]`: a file sink takes `path`, not `url`", d.name)));
                        }
                        if s.ca_file.is_some() || s.client_cert.is_some() || s.client_key.is_some() {
                            return Err(bad(format!(
                                "`[sinks.{}]`: `ca_file`, `client_cert` and `client_key` are for http sinks",
                                d.name
                            )));
                        }
                        SinkConfig::File { path: s.path.clone() }
                    }
                    "http" => {
                        let Some(url) = s.url.clone() else {
                            return Err(bad(format!("`[sinks.{}]`: an http sink needs `url`", d.name)));
                        };
                        if !(url.starts_with("http://") || url.starts_with("https://")) {
                            return Err(bad(format!(
                                "`[sinks.{}]`: `url` must start with http:// or https://, got `{url}`",
                                d.name
                            )));
                        }
                        let tls = http_tls(s, &url, root).map_err(|m| bad(format!("`[sinks.{}]`: {m}", d.name)))?;
                        let max_attempts = s.max_attempts.unwrap_or(8);
                        if max_attempts == 0 {
                            return Err(bad(format!("`[sinks.{}]`: `max_attempts` must be at least 1", d.name)));
                        }
                        let initial = Duration::from_millis(s.initial_backoff_ms.unwrap_or(500));
                        SinkConfig::Http(HttpConfig {
                            url,
                            max_attempts,
                            initial_backoff: initial,
                            max_backoff: Duration::from_millis(s.max_backoff_ms.unwrap_or(60_000)).max(initial),
                            timeout: Duration::from_millis(s.timeout_ms.unwrap_or(10_000)),
                            headers: s.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                            tls,
                        })
                    }
                    other => {
                        return Err(bad(format!(
                            "`[sinks.{}]`: unknown sink type `{other}` (use \"file\" or \"http\")",
                            d.name
                        )))
                    }
                },
            };
            sinks.push((d.name.clone(), sink));
        }
        Ok(Config { sinks })
    }
}

/// The TLS settings of an HTTP sink. The files are read and checked when
/// `canon.toml` is loaded; without `ca_file` the server's certificate is
/// verified against the operating system's trust store.
#[derive(Clone, Default)]
pub struct HttpTls {
    /// `ca_file`: when set, its certificates are the only trusted roots.
    pub ca_file: Option<PathBuf>,
    /// `client_cert` and `client_key`, for mutual TLS.
    pub client: Option<(PathBuf, PathBuf)>,
    roots: Option<Vec<ureq::tls::Certificate<'static>>>,
    identity: Option<ureq::tls::ClientCert>,
}

impl HttpTls {
    /// The agent's TLS configuration: the system's trust store (through the
    /// platform verifier) or the `ca_file`'s roots, and the client certificate.
    pub fn ureq_config(&self) -> ureq::tls::TlsConfig {
        let roots = match &self.roots {
            Some(certs) => ureq::tls::RootCerts::new_with_certs(certs),
            None => ureq::tls::RootCerts::PlatformVerifier,
        };
        ureq::tls::TlsConfig::builder().root_certs(roots).client_cert(self.identity.clone()).build()
    }
}

// The key is never printed: only the paths.
impl std::fmt::Debug for HttpTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTls").field("ca_file", &self.ca_file).field("client", &self.client).finish()
    }
}

impl PartialEq for HttpTls {
    fn eq(&self, other: &Self) -> bool {
        self.ca_file == other.ca_file && self.client == other.client
    }
}

impl Eq for HttpTls {}

/// Checks an HTTP sink's `url` against `allow_plain_http` and reads its TLS
/// files (relative to the package directory `root`). The message names the key.
fn http_tls(s: &RawSink, url: &str, root: &Path) -> std::result::Result<HttpTls, String> {
    if url.starts_with("http://") && !s.allow_plain_http.unwrap_or(false) {
        let host = url_host(url);
        if !is_loopback(host) {
            return Err(format!(
                "`url` {url} is plain http to `{host}`, which is not this machine: records (pay, hours) would cross \
                 the network unencrypted; use https://, or set `allow_plain_http = true` if the network is trusted"
            ));
        }
    }
    let https = url.starts_with("https://");
    if !https && (s.ca_file.is_some() || s.client_cert.is_some() || s.client_key.is_some()) {
        return Err(format!("`ca_file`, `client_cert` and `client_key` need an https:// `url`, got {url}"));
    }
    let mut tls = HttpTls::default();
    if let Some(file) = &s.ca_file {
        let file = root.join(file);
        let pem = read("ca_file", &file)?;
        let mut certs = Vec::new();
        let mut store = rustls::RootCertStore::empty();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => {
                    store.add(rustls::pki_types::CertificateDer::from(c.der().to_vec())).map_err(|e| {
                        format!("`ca_file` {}: a certificate in it is not usable as a root: {e}", file.display())
                    })?;
                    certs.push(c);
                }
                Ok(_) => {}
                Err(e) => return Err(format!("`ca_file` {}: not valid PEM: {e}", file.display())),
            }
        }
        if certs.is_empty() {
            return Err(format!(
                "`ca_file` {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
                file.display()
            ));
        }
        tls.roots = Some(certs);
        tls.ca_file = Some(file);
    }
    match (&s.client_cert, &s.client_key) {
        (None, None) => {}
        (Some(_), None) => return Err("`client_cert` needs `client_key` (both or neither)".into()),
        (None, Some(_)) => return Err("`client_key` needs `client_cert` (both or neither)".into()),
        (Some(cert), Some(key)) => {
            let (cert, key) = (root.join(cert), root.join(key));
            let pem = read("client_cert", &cert)?;
            let chain = ureq::tls::parse_pem(&pem)
                .filter_map(|i| match i {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| format!("`client_cert` {}: not valid PEM: {e}", cert.display()))?;
            if chain.is_empty() {
                return Err(format!("`client_cert` {}: no PEM certificate in it", cert.display()));
            }
            key_is_private(&key)?;
            let pem = read("client_key", &key)?;
            let private = ureq::tls::PrivateKey::from_pem(&pem)
                .map_err(|e| format!("`client_key` {}: no PEM private key in it ({e})", key.display()))?;
            let der = rustls::pki_types::PrivateKeyDer::try_from(private.der().to_vec())
                .map_err(|e| format!("`client_key` {}: {e}", key.display()))?;
            let ders = chain.iter().map(|c| rustls::pki_types::CertificateDer::from(c.der().to_vec())).collect();
            rustls::sign::CertifiedKey::from_der(ders, der, &rustls::crypto::ring::default_provider()).map_err(
                |e| match e {
                    rustls::Error::InconsistentKeys(_) => format!(
                        "`client_key` {} is not the key of `client_cert` {} (the first certificate in it)",
                        key.display(),
                        cert.display()
                    ),
                    e => format!("`client_key` {}: not a usable private key: {e}", key.display()),
                },
            )?;
            tls.identity = Some(ureq::tls::ClientCert::new_with_certs(&chain, private));
            tls.client = Some((cert, key));
        }
    }
    Ok(tls)
}

fn read(key: &str, file: &Path) -> std::result::Result<Vec<u8>, String> {
    std::fs::read(file).map_err(|e| format!("`{key}` {}: cannot read it: {e}", file.display()))
}

/// A client key that the group or others can read is refused.
#[cfg(unix)]
fn key_is_private(key: &Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(key).map_err(|e| format!("`client_key` {}: cannot read it: {e}", key.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "`client_key` {} can be read by others than its owner (mode {mode:o}); run `chmod 600 {}`",
            key.display(),
            key.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn key_is_private(_key: &Path) -> std::result::Result<(), String> {
    Ok(())
}

/// The host of an http(s) URL: after the scheme and any user info, before
/// the port or path; an IPv6 literal without its brackets.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

/// 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and `localhost`.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => a.is_loopback(),
        Ok(std::net::IpAddr::V6(a)) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_loopback() {
        assert_eq!(url_host("http://127.0.0.1:8080/x"), "127.0.0.1");
        assert_eq!(url_host("http://user:pw@erp.example.com/x?y"), "erp.example.com");
        assert_eq!(url_host("http://[::1]:80/"), "::1");
        assert_eq!(url_host("http://localhost"), "localhost");
        for h in ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST", "::ffff:127.0.0.1"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["10.0.0.1", "erp.example.com", "localhost.example.com", "128.0.0.1", "::2", "0.0.0.0", ""] {
            assert!(!is_loopback(h), "{h}");
        }
        // user info cannot pass for the host
        assert_eq!(url_host("http://127.0.0.1@erp.example.com/"), "erp.example.com");
    }
}
