//! A small seeded generator (splitmix64) for the jit crate's data-driven
//! tests, and the one text an outcome and its lineage are compared as.
//! Included by `#[path]` (the rest of `common` is not wanted there); each
//! test uses some of it.
#![allow(dead_code)]

use canon_runtime::outcome::TraceEvent;
use canon_runtime::Outcome;

/// splitmix64.
pub struct Rng(pub u64);

impl Rng {
    /// A generator whose first numbers differ however close the seeds.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn gen_range(&mut self, r: std::ops::Range<usize>) -> usize {
        r.start + self.below(r.end - r.start)
    }

    /// True with probability `p` (to 1/10,000).
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }

    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs.get(self.below(xs.len())).copied().unwrap_or_default()
    }
}

/// An outcome and its lineage as one text, for comparison.
pub fn traced((o, trace): &(Outcome, Vec<TraceEvent>)) -> String {
    let mut s = format!("{o:?}\n");
    for t in trace {
        t.write_json(&mut s);
        s.push('\n');
    }
    s
}
