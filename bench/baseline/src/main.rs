//! `timesheet-baseline DATA_DIR EVENTS.jsonl OUT.jsonl`: the timesheet
//! workload (../workload/WORKLOAD.md) written by hand in Rust, printing
//! for every input line exactly the outcome line that
//! `canon run examples/timesheets --engine interp` prints. It is the baseline
//! of Canon's speed benchmark (issue 3, `scripts/bench_baseline.sh`).
//!
//! Written the way a careful engineer would write it for speed: serde-derived
//! structs borrowing from the line, rust_decimal arithmetic, hash maps for the
//! reference data, buffered IO, outcomes written straight into one reused
//! buffer. Lines that are not well-formed timesheet events take a slower path
//! that reproduces Canon's envelope and schema checks (`fallback`).
//!
//! `-` reads events from stdin or writes outcomes to stdout.

mod event;
mod fallback;
mod json;
mod rules;
mod tables;
mod values;

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use fallback::Decoded;
use rules::Rules;
use tables::Tables;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, input, output] = args.as_slice() else {
        eprintln!("usage: timesheet-baseline DATA_DIR EVENTS.jsonl OUT.jsonl");
        return ExitCode::from(2);
    };
    let tables = match Tables::load(Path::new(data)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    match run(&tables, input, output) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(tables: &Tables, input: &str, output: &str) -> std::io::Result<()> {
    let reader: Box<dyn BufRead> = if input == "-" {
        Box::new(BufReader::with_capacity(1 << 16, std::io::stdin().lock()))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, std::fs::File::open(input)?))
    };
    let writer: Box<dyn Write> =
        if output == "-" { Box::new(std::io::stdout().lock()) } else { Box::new(std::fs::File::create(output)?) };
    let mut writer = BufWriter::with_capacity(1 << 16, writer);
    process(tables, reader, &mut writer)?;
    writer.flush()
}

/// Reads events line by line and writes one outcome line for each.
fn process(tables: &Tables, mut reader: impl BufRead, writer: &mut impl Write) -> std::io::Result<()> {
    let mut rules = Rules::new(tables);
    let mut buf = Vec::with_capacity(1024);
    let mut out = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        line_no += 1;
        out.clear();
        match std::str::from_utf8(&buf) {
            Err(_) => rules::write_invalid(&mut out, line_no, None, None, "the line is not valid UTF-8"),
            Ok(line) if line.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) => continue,
            Ok(line) => outcome(&mut rules, &mut out, line_no, line.trim_end_matches(['\n', '\r'])),
        }
        out.push(b'\n');
        writer.write_all(&out)?;
    }
}

/// The outcome of one (non-blank) line.
fn outcome(rules: &mut Rules<'_>, out: &mut Vec<u8>, line_no: u64, line: &str) {
    if let Some((meta, ts)) = event::decode_fast(line) {
        rules.run(out, line_no, &meta, &ts);
        return;
    }
    match fallback::decode(line) {
        Decoded::Invalid { id, event_type, message } => {
            rules::write_invalid(out, line_no, id.as_deref(), event_type.as_deref(), &message)
        }
        Decoded::Ignored(meta) => rules::write_ignored(out, line_no, &meta),
        Decoded::Violation(meta, e) => rules::write_violation(out, line_no, &meta, &e),
        Decoded::Ready(meta, ts) => rules.run(out, line_no, &meta, &ts),
    }
}
