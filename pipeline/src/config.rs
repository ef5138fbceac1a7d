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
//! headers = { Authorization = { env = "ERP_TOKEN", prefix = "Bearer " } }
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
//!
//! Secrets stay out of the rules' directory: an HTTP sink's `url` and each
//! header value is either a literal string or names where its value comes
//! from, `{ env = "VAR" }` or `{ file = "/run/secrets/erp" }` (the file's
//! contents less one trailing newline; a relative path is relative to the
//! package directory), each with an optional `prefix` put before it. They are
//! resolved when the configuration is loaded, so a missing variable or file,
//! or a secret file that group or others may read or write, is an error
//! before any event is read. A literal value that looks like a secret (an
//! `Authorization` header, a header whose name has `token`, `secret`,
//! `password`, `api-key` or `apikey` in it, a URL with a password) is a
//! warning in [`Config::warnings`] (an error under `--strict-secrets`).
//! Resolved values are held as [`Secret`]s, which print as `***`.

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
    /// `[package]`: read by `canon_runtime::manifest`, not here.
    #[serde(default)]
    #[allow(dead_code)]
    package: Option<toml::Value>,
}

/// A setting's value: the value itself, or where it comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawValue {
    Literal(String),
    From(RawFrom),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrom {
    env: Option<String>,
    file: Option<PathBuf>,
    #[serde(default)]
    prefix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSink {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    path: Option<PathBuf>,
    url: Option<RawValue>,
    max_attempts: Option<u32>,
    initial_backoff_ms: Option<u64>,
    max_backoff_ms: Option<u64>,
    timeout_ms: Option<u64>,
    #[serde(default)]
    headers: BTreeMap<String, RawValue>,
    ca_file: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    allow_plain_http: Option<bool>,
}

/// A value that must not be shown: its `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, to send it (never to print it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
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
    /// Where records are POSTed (it may carry a token: never print it).
    pub url: Secret,
    /// The URL as errors and the state show it: the literal URL less any
    /// password, or `$VAR` / `file PATH` for one given by `env` / `file`.
    pub shown_url: String,
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub timeout: Duration,
    pub headers: Vec<(String, Secret)>,
    /// Trusted roots and client certificate, read when the config is loaded
    /// (boxed: most sinks are files).
    pub tls: Box<HttpTls>,
}

/// The sinks of every destination of a package, in destination order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub sinks: Vec<(String, SinkConfig)>,
    /// Literal secret-looking values, one message each (shown as warnings,
    /// or errors under `--strict-secrets`); none holds the value.
    pub warnings: Vec<String>,
}

impl Config {
    /// Reads `canon.toml` from the package root (every destination goes to
    /// its default file when there is none).
    pub fn load(root: &Path, pkg: &ir::Package) -> Result<Config> {
        let path = root.join(FILE_NAME);
        let raw = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str::<RawConfig>(&text)
                .map_err(|e| Error::Config { path: path.clone(), message: toml_message(&e) })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RawConfig::default(),
            Err(e) => return Err(Error::Read { path, source: e }),
        };
        Config::from_raw(raw, pkg, &path, root)
    }

    /// Parses the text of a `canon.toml` (for tests and tools); relative
    /// secret files, `ca_file`, `client_cert` and `client_key` are read from
    /// the current directory.
    pub fn parse(text: &str, pkg: &ir::Package) -> Result<Config> {
        Config::parse_in(text, pkg, Path::new(""))
    }

    /// Parses the text of a `canon.toml` as if it were in the package
    /// directory `root` (relative secret and TLS files are read from there).
    pub fn parse_in(text: &str, pkg: &ir::Package, root: &Path) -> Result<Config> {
        let path = root.join(FILE_NAME);
        let raw = toml::from_str::<RawConfig>(text)
            .map_err(|e| Error::Config { path: path.clone(), message: toml_message(&e) })?;
        Config::from_raw(raw, pkg, &path, root)
    }

    fn from_raw(raw: RawConfig, pkg: &ir::Package, path: &Path, root: &Path) -> Result<Config> {
        let mut warnings = Vec::new();
        let bad = |message: String| Error::Config { path: path.to_path_buf(), message };
        for name in raw.sinks.keys() {
            if pkg.destination_by_name(name).is_none() && pkg.family_by_name(name).is_none() {
                let known: Vec<&str> = pkg
                    .destinations
                    .iter()
                    .map(|d| d.name.as_str())
                    .chain(pkg.families.iter().map(|f| f.name.as_str()))
                    .collect();
                return Err(bad(format!(
                    "`[sinks.{name}]`: the package has no destination `{name}` (it has: {})",
                    known.join(", ")
                )));
            }
        }
        check_families(&raw, pkg).map_err(bad)?;
        let mut sinks = Vec::new();
        for d in &pkg.destinations {
            // A member bound on its own, else by its family's pattern, with
            // `{member}` the variant's wire name (LANGUAGE.md §4.3).
            let family = d.member_of.and_then(|(f, v)| {
                let fam = pkg.families.get(f as usize)?;
                let wire = pkg.enum_def(fam.index)?.variants.get(v as usize)?.wire.clone();
                Some((fam.name.as_str(), wire))
            });
            let (table, member, entry) = match (raw.sinks.get(&d.name), &family) {
                (Some(s), _) => (quoted(&d.name), None, Some(s)),
                (None, Some((fam, wire))) => (fam.to_string(), Some(wire.as_str()), raw.sinks.get(*fam)),
                (None, None) => (d.name.clone(), None, None),
            };
            let fill = |text: &str| match member {
                Some(w) => text.replace("{member}", w),
                None => text.to_string(),
            };
            let sink = match entry {
                None => SinkConfig::File { path: None },
                Some(s) => match s.kind.as_deref().unwrap_or("file") {
                    "file" => {
                        if s.url.is_some() {
                            return Err(bad(format!("`[sinks.{}]`: a file sink takes `path`, not `url`", table)));
                        }
                        if s.ca_file.is_some() || s.client_cert.is_some() || s.client_key.is_some() {
                            return Err(bad(format!(
                                "`[sinks.{}]`: `ca_file`, `client_cert` and `client_key` are for http sinks",
                                table
                            )));
                        }
                        match (member, &s.path) {
                            (Some(_), Some(p)) if !p.to_string_lossy().contains("{member}") => {
                                return Err(bad(format!(
                                    "`[sinks.{table}]`: a family's file `path` must contain `{{member}}`, so each member has its own file"
                                )))
                            }
                            (Some(_), Some(p)) => SinkConfig::File { path: Some(PathBuf::from(fill(&p.to_string_lossy()))) },
                            (_, p) => SinkConfig::File { path: p.clone() },
                        }
                    }
                    "http" => {
                        let Some(raw_url) = &s.url else {
                            return Err(bad(format!("`[sinks.{}]`: an http sink needs `url`", table)));
                        };
                        let url = resolve(raw_url, &table, "`url`", root, path)?;
                        let url = Secret::new(fill(url.expose()));
                        let shown_url = fill(&match raw_url {
                            RawValue::Literal(u) => without_password(u),
                            RawValue::From(from) => from.shown(),
                        });
                        if !(url.expose().starts_with("http://") || url.expose().starts_with("https://")) {
                            return Err(bad(format!(
                                "`[sinks.{}]`: `url` must start with http:// or https://, got `{shown_url}`",
                                table
                            )));
                        }
                        if let RawValue::Literal(u) = raw_url {
                            if shown_url != fill(u) {
                                warnings.push(literal_warning(path, &table, "`url` has a password in it", "url"));
                            }
                        }
                        let mut headers = Vec::with_capacity(s.headers.len());
                        for (name, value) in &s.headers {
                            let setting = format!("header `{name}`");
                            if let RawValue::Literal(_) = value {
                                if looks_secret(name) {
                                    warnings.push(literal_warning(
                                        path,
                                        &table,
                                        &format!("header `{name}` holds a literal value"),
                                        &format!("headers = {{ {name} = {{ env = \"{}\" }} }}", env_name(&table, name)),
                                    ));
                                }
                            }
                            let v = resolve(value, &table, &setting, root, path)?;
                            if v.expose().chars().any(|c| c.is_control() && c != '\t') {
                                return Err(bad(format!(
                                    "`[sinks.{}]`: {setting}: the value has a line break or another control character",
                                    table
                                )));
                            }
                            headers.push((name.clone(), v));
                        }
                        let tls = http_tls(s, url.expose(), &shown_url, root)
                            .map_err(|m| bad(format!("`[sinks.{}]`: {m}", table)))?;
                        let max_attempts = s.max_attempts.unwrap_or(8);
                        if max_attempts == 0 {
                            return Err(bad(format!("`[sinks.{}]`: `max_attempts` must be at least 1", table)));
                        }
                        let initial = Duration::from_millis(s.initial_backoff_ms.unwrap_or(500));
                        SinkConfig::Http(HttpConfig {
                            url,
                            shown_url,
                            max_attempts,
                            initial_backoff: initial,
                            max_backoff: Duration::from_millis(s.max_backoff_ms.unwrap_or(60_000)).max(initial),
                            timeout: Duration::from_millis(s.timeout_ms.unwrap_or(10_000)),
                            headers,
                            tls: Box::new(tls),
                        })
                    }
                    other => {
                        return Err(bad(format!(
                            "`[sinks.{}]`: unknown sink type `{other}` (use \"file\" or \"http\")",
                            table
                        )))
                    }
                },
            };
            sinks.push((d.name.clone(), sink));
        }
        Ok(Config { sinks, warnings })
    }
}

/// A `[sinks.NAME]` header as written: a family member's name has a dot, so it is quoted.
fn quoted(name: &str) -> String {
    if name.contains('.') {
        format!("\"{name}\"")
    } else {
        name.to_string()
    }
}

/// E0635: a family some of whose members are bound on their own and
/// others not at all (no `[sinks.FAMILY]` for them).
fn check_families(raw: &RawConfig, pkg: &ir::Package) -> std::result::Result<(), String> {
    for fam in &pkg.families {
        if raw.sinks.contains_key(&fam.name) {
            continue;
        }
        let names: Vec<&str> =
            fam.members.iter().filter_map(|m| pkg.destinations.get(m.0 as usize)).map(|d| d.name.as_str()).collect();
        let (bound, unbound): (Vec<&str>, Vec<&str>) = names.iter().partition(|n| raw.sinks.contains_key(**n));
        if !bound.is_empty() && !unbound.is_empty() {
            return Err(format!(
                "E0635: {} of the family `{}` {} a sink and {} not: bind each, or give the family a pattern with `[sinks.{}]` (see `canon explain E0635`)",
                bound.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                fam.name,
                if bound.len() == 1 { "has" } else { "have" },
                unbound.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                fam.name
            ));
        }
    }
    Ok(())
}

impl RawFrom {
    /// Where the value comes from, as messages show it.
    fn shown(&self) -> String {
        match (&self.env, &self.file) {
            (Some(var), _) => format!("${var}"),
            (None, Some(file)) => format!("file {}", file.display()),
            (None, None) => "(nothing)".to_string(),
        }
    }
}

/// The parser's message, with serde's "did not match any variant" spelled out.
fn toml_message(e: &toml::de::Error) -> String {
    let m = e.to_string().trim().to_string();
    m.replace(
        "data did not match any variant of untagged enum RawValue",
        "expected a string, or `{ env = \"VAR\" }` or `{ file = \"PATH\" }` with an optional `prefix = \"...\"`",
    )
}

/// Whether a header's value is a credential (by the header's name).
fn looks_secret(header: &str) -> bool {
    let h = header.to_ascii_lowercase();
    h.contains("authorization")
        || ["token", "secret", "password", "passwd", "api-key", "api_key", "apikey", "cookie"]
            .iter()
            .any(|w| h.contains(w))
}

/// `ERP_POSTING_AUTHORIZATION`: a name to suggest for a header's variable.
fn env_name(sink: &str, header: &str) -> String {
    format!("{sink}_{header}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect()
}

fn literal_warning(path: &Path, sink: &str, what: &str, fix: &str) -> String {
    format!(
        "`{}`: `[sinks.{sink}]`: {what}, and canon.toml is kept with the rules: give it from the environment or a file instead, e.g. `{fix}` (or `{{ file = \"/run/secrets/...\" }}`)",
        path.display()
    )
}

/// A URL less the password of its user info (`https://user:***@host/...`).
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_string(),
    }
}

/// A setting's value, read from the environment or a file when it names one.
fn resolve(value: &RawValue, sink: &str, setting: &str, root: &Path, path: &Path) -> Result<Secret> {
    let bad = |message: String| Error::Config {
        path: path.to_path_buf(),
        message: format!("`[sinks.{sink}]`: {setting}: {message}"),
    };
    let from = match value {
        RawValue::Literal(v) => return Ok(Secret(v.clone())),
        RawValue::From(from) => from,
    };
    let value = match (&from.env, &from.file) {
        (Some(var), None) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => v,
            Ok(_) => return Err(bad(format!("the environment variable `{var}` is empty"))),
            Err(std::env::VarError::NotPresent) => {
                return Err(bad(format!("the environment variable `{var}` is not set")))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(bad(format!("the environment variable `{var}` is not valid UTF-8")))
            }
        },
        (None, Some(file)) => {
            let full = root.join(file);
            let meta = std::fs::metadata(&full)
                .map_err(|e| bad(format!("cannot read the secret file `{}`: {e}", full.display())))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(bad(format!(
                        "the secret file `{}` may be read or written by group or others (mode {mode:o}); run `chmod 600 {}`",
                        full.display(),
                        full.display()
                    )));
                }
            }
            let _ = &meta;
            let mut text = std::fs::read_to_string(&full)
                .map_err(|e| bad(format!("cannot read the secret file `{}`: {e}", full.display())))?;
            if text.ends_with('\n') {
                text.pop();
                if text.ends_with('\r') {
                    text.pop();
                }
            }
            text
        }
        _ => return Err(bad("give either `env = \"VAR\"` or `file = \"PATH\"`".to_string())),
    };
    Ok(Secret(format!("{}{value}", from.prefix)))
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
/// `shown` is the URL as messages may show it.
fn http_tls(s: &RawSink, url: &str, shown: &str, root: &Path) -> std::result::Result<HttpTls, String> {
    if url.starts_with("http://") && !s.allow_plain_http.unwrap_or(false) {
        let host = url_host(url);
        if !is_loopback(host) {
            return Err(format!(
                "`url` {shown} is plain http to `{host}`, which is not this machine: records (pay, hours) would cross \
                 the network unencrypted; use https://, or set `allow_plain_http = true` if the network is trusted"
            ));
        }
    }
    let https = url.starts_with("https://");
    if !https && (s.ca_file.is_some() || s.client_cert.is_some() || s.client_key.is_some()) {
        return Err(format!("`ca_file`, `client_cert` and `client_key` need an https:// `url`, got {shown}"));
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
