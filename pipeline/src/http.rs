//! HTTP sinks: the outbox's pending rows are POSTed, one record a request,
//! with the delivery id in the `Canon-Delivery-Id` header (delivery is
//! at-least-once: a crash between a 2xx and its commit sends the row again,
//! and the receiver deduplicates by that id). Failures are retried with
//! exponential backoff and jitter; after `max_attempts`, or at once on a
//! client error other than 408/425/429, the row is dead-lettered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::config::HttpConfig;
use crate::error::Result;
use crate::sink::delivery_json;

/// The header that carries the delivery id.
pub const DELIVERY_ID_HEADER: &str = "Canon-Delivery-Id";

/// What one delivery run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub delivered: u64,
    pub retried: u64,
    pub dead: u64,
}

enum Attempt {
    Delivered,
    Retry(String),
    Dead(String),
}

struct Due {
    id: i64,
    delivery_id: String,
    record: Option<String>,
    attempts: i64,
    event_id: Option<String>,
    correlation_id: Option<String>,
}

/// Delivers pending rows of the HTTP destinations until none is left.
/// `wake` is signalled when new rows are committed; once it is disconnected
/// no new rows come, and the run ends when every row is delivered or dead
/// (or at once when `stop` is set: the rows stay pending for the next run).
pub(crate) fn deliver(
    conn: &Connection,
    sinks: &[(String, HttpConfig)],
    wake: &Receiver<()>,
    stop: &AtomicBool,
) -> Result<DeliveryCounts> {
    let mut counts = DeliveryCounts::default();
    let mut input_done = false;
    let agents: Vec<ureq::Agent> = sinks
        .iter()
        .map(|(_, h)| {
            ureq::Agent::config_builder()
                .timeout_global(Some(h.timeout))
                .http_status_as_error(false)
                .tls_config(h.tls.ureq_config())
                .build()
                .into()
        })
        .collect();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(counts);
        }
        let mut worked = false;
        for ((dest, cfg), agent) in sinks.iter().zip(&agents) {
            let due = due_rows(conn, dest)?;
            if due.is_empty() {
                continue;
            }
            worked = true;
            let mut results = Vec::with_capacity(due.len());
            for row in &due {
                let mut body = String::with_capacity(row.record.as_deref().map_or(0, str::len) + 96);
                delivery_json(
                    &mut body,
                    &row.delivery_id,
                    row.event_id.as_deref(),
                    row.correlation_id.as_deref(),
                    row.record.as_deref().unwrap_or("null"),
                );
                results.push(post(agent, cfg, &row.delivery_id, body.as_bytes()));
            }
            let now = crate::now();
            let now_ms = crate::now_ms();
            let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut ok = tx.prepare_cached(
                    "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?2, last_error = NULL WHERE id = ?1",
                )?;
                let mut retry = tx.prepare_cached(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
                )?;
                let mut dead = tx.prepare_cached(
                    "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                )?;
                for (row, result) in due.iter().zip(results) {
                    match result {
                        Attempt::Delivered => {
                            counts.delivered += 1;
                            ok.execute(rusqlite::params![row.id, now])?;
                        }
                        Attempt::Retry(why) if row.attempts + 1 < i64::from(cfg.max_attempts) => {
                            counts.retried += 1;
                            let wait = backoff(cfg, row.attempts + 1);
                            retry.execute(rusqlite::params![row.id, now_ms + wait.as_millis() as i64, why])?;
                        }
                        Attempt::Retry(why) | Attempt::Dead(why) => {
                            counts.dead += 1;
                            dead.execute(rusqlite::params![row.id, why])?;
                        }
                    }
                }
            }
            tx.commit()?;
        }
        if worked {
            continue;
        }
        // Nothing due now: wait for new rows or the next retry.
        let next = next_attempt(conn, sinks)?;
        let wait = next.map(|t| Duration::from_millis((t - crate::now_ms()).clamp(0, 60_000) as u64));
        match (wait, input_done) {
            (None, true) => return Ok(counts),
            (Some(w), true) => nap(w, stop),
            (w, false) => match wake.recv_timeout(w.unwrap_or(Duration::from_secs(3600))) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => input_done = true,
            },
        }
    }
}

/// Sleeps for `d`, waking early when `stop` is set.
fn nap(d: Duration, stop: &AtomicBool) {
    let end = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

fn due_rows(conn: &Connection, dest: &str) -> Result<Vec<Due>> {
    let mut st = conn.prepare_cached(
        "SELECT o.id, o.delivery_id, o.record, o.attempts, e.event_id, e.correlation_id
         FROM outbox o JOIN events e ON e.id = o.event
         WHERE o.state = 'pending' AND o.destination = ?1 AND o.next_attempt_at <= ?2
         ORDER BY o.id LIMIT 200",
    )?;
    let rows = st.query_map(rusqlite::params![dest, crate::now_ms()], |r| {
        Ok(Due {
            id: r.get(0)?,
            delivery_id: r.get(1)?,
            record: r.get(2)?,
            attempts: r.get(3)?,
            event_id: r.get(4)?,
            correlation_id: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn next_attempt(conn: &Connection, sinks: &[(String, HttpConfig)]) -> Result<Option<i64>> {
    let mut st =
        conn.prepare_cached("SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending' AND destination = ?1")?;
    let mut next: Option<i64> = None;
    for (dest, _) in sinks {
        let t: Option<i64> = st.query_row([dest], |r| r.get(0))?;
        next = match (next, t) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(next)
}

fn post(agent: &ureq::Agent, cfg: &HttpConfig, delivery_id: &str, body: &[u8]) -> Attempt {
    let mut req =
        agent.post(cfg.url.expose()).header(DELIVERY_ID_HEADER, delivery_id).header("Content-Type", "application/json");
    for (k, v) in &cfg.headers {
        req = req.header(k.as_str(), v.expose());
    }
    // What an error says: the URL as shown and the names of the headers
    // sent, never their values (nor the URL when it is a secret).
    let sent = if cfg.headers.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = cfg.headers.iter().map(|(k, _)| k.as_str()).collect();
        format!(" (sent with {})", names.join(", "))
    };
    match req.send(body) {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match status {
                200..=299 => Attempt::Delivered,
                408 | 425 | 429 | 500..=599 => Attempt::Retry(format!("HTTP {status} from {}{sent}", cfg.shown_url)),
                _ => Attempt::Dead(format!("HTTP {status} from {}{sent}", cfg.shown_url)),
            }
        }
        Err(e) => Attempt::Retry(redact(format!("{} ({}){sent}", cfg.shown_url, describe(&e, cfg)), cfg)),
    }
}

/// A failed request's reason; a certificate that fails verification says
/// why in words (never delivered: the row is retried, then dead-lettered).
fn describe(e: &ureq::Error, cfg: &HttpConfig) -> String {
    let tls = match e {
        ureq::Error::Rustls(t) => Some(t),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    let Some(tls) = tls else {
        // Under TLS 1.3 a server that wants a client certificate checks it
        // after the client's side of the handshake: the request then finds
        // the connection closed.
        let closed = matches!(e, ureq::Error::Io(io) if matches!(io.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted));
        if closed && cfg.url.expose().starts_with("https://") {
            let hint = if cfg.tls.client.is_some() {
                "it may not accept `client_cert`"
            } else {
                "if it requires a client certificate, set `client_cert` and `client_key`"
            };
            return format!("{e}: the server closed the connection; {hint}");
        }
        return e.to_string();
    };
    use rustls::CertificateError as C;
    match tls {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "certificate is not trusted: UnknownIssuer".to_string(),
            C::Expired => "certificate expired".to_string(),
            C::NotValidYet => "certificate not valid yet".to_string(),
            // "certificate expired: verification time ..., but ..."
            C::ExpiredContext { .. } | C::NotValidYetContext { .. } => c.to_string(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("certificate is for another host: {c}")
            }
            C::Revoked => "certificate revoked".to_string(),
            other => format!("certificate is not trusted: {other}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("the server refused the TLS handshake: {alert:?}")
        }
        other => format!("TLS: {other}"),
    }
}

/// `text` with every secret of `cfg` (the URL, its parts, the header values)
/// replaced by `***`: a transport error may quote what it was given.
fn redact(mut text: String, cfg: &HttpConfig) -> String {
    let url = cfg.url.expose();
    let mut secrets: Vec<&str> = cfg.headers.iter().map(|(_, v)| v.expose()).collect();
    if url != cfg.shown_url {
        secrets.push(url);
        // The parts a message may quote on their own: past the host, and the query.
        if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
            if let Some(i) = rest.find(['/', '?']) {
                secrets.push(rest.get(i..).unwrap_or(""));
            }
        }
        if let Some((_, q)) = url.split_once('?') {
            secrets.push(q);
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        if s.len() >= 4 && s != "/" {
            text = text.replace(s, "***");
        }
    }
    text
}

/// The wait before attempt `attempts + 1`: the initial backoff doubled per
/// earlier failure, capped, of which a random half is waited ("equal jitter").
pub fn backoff(cfg: &HttpConfig, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let base = cfg.initial_backoff.saturating_mul(1u32 << doublings).min(cfg.max_backoff);
    let half = base / 2;
    half + Duration::from_millis(fastrand::u64(0..=half.as_millis() as u64))
}
