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
        Config::from_raw(raw, pkg, &path)
    }

    /// Parses the text of a `canon.toml` (for tests and tools).
    pub fn parse(text: &str, pkg: &ir::Package) -> Result<Config> {
        let path = PathBuf::from(FILE_NAME);
        let raw = toml::from_str::<RawConfig>(text)
            .map_err(|e| Error::Config { path: path.clone(), message: e.to_string().trim().to_string() })?;
        Config::from_raw(raw, pkg, &path)
    }

    fn from_raw(raw: RawConfig, pkg: &ir::Package, path: &Path) -> Result<Config> {
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
                        let Some(url) = s.url.clone() else {
                            return Err(bad(format!("`[sinks.{}]`: an http sink needs `url`", d.name)));
                        };
                        if !(url.starts_with("http://") || url.starts_with("https://")) {
                            return Err(bad(format!(
                                "`[sinks.{}]`: `url` must start with http:// or https://, got `{url}`",
                                d.name
                            )));
                        }
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
