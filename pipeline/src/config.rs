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

    /// Parses the text of a `canon.toml` (for tests and tools).
    pub fn parse(text: &str, pkg: &ir::Package) -> Result<Config> {
        let path = PathBuf::from(FILE_NAME);
        let raw = toml::from_str::<RawConfig>(text)
            .map_err(|e| Error::Config { path: path.clone(), message: toml_message(&e) })?;
        Config::from_raw(raw, pkg, &path, Path::new("."))
    }

    fn from_raw(raw: RawConfig, pkg: &ir::Package, path: &Path, root: &Path) -> Result<Config> {
        let mut warnings = Vec::new();
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
                        SinkConfig::File { path: s.path.clone() }
                    }
                    "http" => {
                        let Some(raw_url) = &s.url else {
                            return Err(bad(format!("`[sinks.{}]`: an http sink needs `url`", d.name)));
                        };
                        let url = resolve(raw_url, &d.name, "`url`", root, path)?;
                        let shown_url = match raw_url {
                            RawValue::Literal(u) => without_password(u),
                            RawValue::From(from) => from.shown(),
                        };
                        if !(url.expose().starts_with("http://") || url.expose().starts_with("https://")) {
                            return Err(bad(format!(
                                "`[sinks.{}]`: `url` must start with http:// or https://, got `{shown_url}`",
                                d.name
                            )));
                        }
                        if let RawValue::Literal(u) = raw_url {
                            if shown_url != *u {
                                warnings.push(literal_warning(path, &d.name, "`url` has a password in it", "url"));
                            }
                        }
                        let mut headers = Vec::with_capacity(s.headers.len());
                        for (name, value) in &s.headers {
                            let setting = format!("header `{name}`");
                            if let RawValue::Literal(_) = value {
                                if looks_secret(name) {
                                    warnings.push(literal_warning(
                                        path,
                                        &d.name,
                                        &format!("header `{name}` holds a literal value"),
                                        &format!("headers = {{ {name} = {{ env = \"{}\" }} }}", env_name(&d.name, name)),
                                    ));
                                }
                            }
                            let v = resolve(value, &d.name, &setting, root, path)?;
                            if v.expose().chars().any(|c| c.is_control() && c != '\t') {
                                return Err(bad(format!(
                                    "`[sinks.{}]`: {setting}: the value has a line break or another control character",
                                    d.name
                                )));
                            }
                            headers.push((name.clone(), v));
                        }
                        let max_attempts = s.max_attempts.unwrap_or(8);
                        if max_attempts == 0 {
                            return Err(bad(format!("`[sinks.{}]`: `max_attempts` must be at least 1", d.name)));
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
        Ok(Config { sinks, warnings })
    }
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
        || ["token", "secret", "password", "passwd", "api-key", "api_key", "apikey", "cookie"].iter().any(|w| h.contains(w))
}

/// `ERP_POSTING_AUTHORIZATION`: a name to suggest for a header's variable.
fn env_name(sink: &str, header: &str) -> String {
    format!("{sink}_{header}").chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
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
    let bad = |message: String| Error::Config { path: path.to_path_buf(), message: format!("`[sinks.{sink}]`: {setting}: {message}") };
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
