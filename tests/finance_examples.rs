//! The two finance examples (examples/global-posting, examples/fee-allocation):
//! their sample events give the outcomes in their `expected.jsonl` with both
//! engines, their own Canon tests pass, and `canon process` sends each
//! legal entity's ledger lines to that member's own sink.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use serde_json::Value as Json;

mod common;
use common::canon;

fn ok(args: &[&str]) -> String {
    let out = canon(args);
    assert_eq!(out.status.code(), Some(0), "canon {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("canon-finance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_examples_give_their_expected_outcomes_with_both_engines() {
    for pkg in ["examples/global-posting", "examples/fee-allocation"] {
        let want = std::fs::read_to_string(format!("{}/{pkg}/expected.jsonl", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for engine in ["jit", "interp"] {
            let got = ok(&["run", pkg, "--input", &format!("{pkg}/events.jsonl"), "--engine", engine]);
            assert!(got == want, "{pkg} with --engine {engine}:\n{got}");
        }
        let tests = ok(&["test", pkg]);
        assert!(tests.trim_end().ends_with(" 0 failed"), "{pkg}: {tests}");
    }
}

#[test]
fn fee_shares_add_up_to_the_fee_to_the_minor_unit() {
    let want =
        std::fs::read_to_string(format!("{}/examples/fee-allocation/expected.jsonl", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    let mut accepted = 0;
    for line in want.lines() {
        let o: Json = serde_json::from_str(line).unwrap();
        if o["status"] != "accepted" {
            continue;
        }
        accepted += 1;
        let parts: Vec<&Json> = o["emits"].as_array().unwrap().iter().map(|e| &e["record"]["share"]).collect();
        let scale = |s: &str| s.split('.').nth(1).map_or(0, str::len);
        let cur = parts[0]["currency"].as_str().unwrap();
        let unit = match cur {
            "JPY" => 0,
            "BHD" => 3,
            _ => 2,
        };
        let mut total: i128 = 0;
        for p in &parts {
            let a = p["amount"].as_str().unwrap();
            assert_eq!(scale(a), unit, "{a} {cur}: a whole number of minor units");
            total += a.replace('.', "").parse::<i128>().unwrap();
        }
        // The fee, from the event of the same id.
        let events =
            std::fs::read_to_string(format!("{}/examples/fee-allocation/events.jsonl", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        let ev: Json =
            events.lines().map(|l| serde_json::from_str::<Json>(l).unwrap()).find(|e| e["id"] == o["id"]).unwrap();
        let fee = ev["data"]["fee"]["amount"].as_str().unwrap();
        let fee_units: i128 = {
            let (i, f) = fee.split_once('.').unwrap_or((fee, ""));
            let f = format!("{f:0<width$}", width = unit);
            format!("{i}{f}").parse().unwrap()
        };
        assert_eq!(total, fee_units, "{}: the shares add up to {fee} {cur}", o["id"]);
    }
    assert_eq!(accepted, 5);
}

#[test]
fn canon_process_posts_each_entity_to_its_own_ledger() {
    let state = temp("ledgers");
    let s = state.to_str().unwrap();
    let pkg = "examples/global-posting";
    ok(&["process", pkg, "--input", &format!("{pkg}/events.jsonl"), "--state", s]);
    let lines = |member: &str| -> Vec<Json> {
        std::fs::read_to_string(state.join("out").join(format!("{member}.jsonl")))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // Two lines (value and cost) per accepted event of each entity.
    let (us, uk, de) = (lines("ledger.US01"), lines("ledger.UK01"), lines("ledger.DE01"));
    assert_eq!((us.len(), uk.len(), de.len()), (10, 8, 6), "{us:?}\n{uk:?}\n{de:?}");
    assert!(uk.iter().all(|l| l.to_string().contains("GBP")), "{uk:?}");
    assert!(de.iter().all(|l| l.to_string().contains("EUR")), "{de:?}");
    let status = ok(&["status", "--state", s, "--format", "json"]);
    let st: Json = serde_json::from_str(&status).unwrap();
    assert!(status.contains("ledger.DE01"), "{st}");
    let _ = std::fs::remove_dir_all(&state);
}
