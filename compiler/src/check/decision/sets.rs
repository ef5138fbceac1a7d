//! The §5.2 analysis over sets of atoms, without enumerating atoms.
//!
//! A row's cell in a column matches a set of the column's atoms (see the
//! parent module); as the atoms of an ordered column are sorted, a comparison
//! or a range is one run of atoms, and a list of values a few. So a set is kept
//! as its sorted runs ([`Set`]), and a row is a box: one set per column.
//!
//! The questions of the analysis are asked of many boxes at once by cutting
//! the space along one column at a time: the boundaries of the boxes' runs in
//! that column cut it into segments that every box covers entirely or not at
//! all, so the boxes of one segment are the sub-problem for the other columns
//! ([`segments`]). Rows that share no value of a column never meet again, so
//! a table of exclusive rows costs about rows x columns, not rows².

use std::collections::HashSet;

/// Sorted, disjoint, non-touching half-open runs `[start, end)` of atom indices.
pub(super) type Set = Vec<(u32, u32)>;

pub(super) fn normalize(mut v: Vec<(u32, u32)>) -> Set {
    v.retain(|(a, b)| a < b);
    v.sort_unstable();
    let mut out: Set = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

pub(super) fn full(n: u32) -> Set {
    normalize(vec![(0, n)])
}

pub(super) fn is_full(s: &[(u32, u32)], n: u32) -> bool {
    if n == 0 {
        s.is_empty()
    } else {
        s == [(0, n)]
    }
}

pub(super) fn union(a: &[(u32, u32)], b: &[(u32, u32)]) -> Set {
    normalize(a.iter().chain(b.iter()).copied().collect())
}

pub(super) fn intersect(a: &[(u32, u32)], b: &[(u32, u32)]) -> Set {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while let (Some(&(a0, a1)), Some(&(b0, b1))) = (a.get(i), b.get(j)) {
        let (lo, hi) = (a0.max(b0), a1.min(b1));
        if lo < hi {
            out.push((lo, hi));
        }
        if a1 < b1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The smallest atom in both sets.
pub(super) fn first_common(a: &[(u32, u32)], b: &[(u32, u32)]) -> Option<u32> {
    let (mut i, mut j) = (0, 0);
    while let (Some(&(a0, a1)), Some(&(b0, b1))) = (a.get(i), b.get(j)) {
        let (lo, hi) = (a0.max(b0), a1.min(b1));
        if lo < hi {
            return Some(lo);
        }
        if a1 < b1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    None
}

pub(super) fn complement(a: &[(u32, u32)], n: u32) -> Set {
    let mut out = Vec::new();
    let mut at = 0;
    for &(s, e) in a {
        if at < s {
            out.push((at, s.min(n)));
        }
        at = at.max(e);
    }
    if at < n {
        out.push((at, n));
    }
    normalize(out)
}

/// Whether `small` ⊆ `big`.
pub(super) fn contains(big: &[(u32, u32)], small: &[(u32, u32)]) -> bool {
    let mut j = 0;
    for &(s, e) in small {
        while big.get(j).is_some_and(|&(_, b1)| b1 <= s) {
            j += 1;
        }
        match big.get(j) {
            Some(&(b0, b1)) if b0 <= s && e <= b1 => {}
            _ => return false,
        }
    }
    true
}

pub(super) fn to_bools(s: &[(u32, u32)], n: u32) -> Vec<bool> {
    let mut out = vec![false; n as usize];
    for &(a, b) in s {
        for x in out.iter_mut().take(b as usize).skip(a as usize) {
            *x = true;
        }
    }
    out
}

pub(super) fn from_bools(bits: &[bool]) -> Set {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in bits.iter().enumerate() {
        match (b, start) {
            (true, None) => start = Some(i as u32),
            (false, Some(s)) => {
                out.push((s, i as u32));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, bits.len() as u32));
    }
    out
}

/// A row as a box: one set of atoms per column.
pub(super) type Row = Vec<Set>;

fn row_full(r: &[Set], cols: &[usize], n: &[u32]) -> bool {
    cols.iter().all(|c| r.get(*c).is_some_and(|s| is_full(s, n.get(*c).copied().unwrap_or(0))))
}

/// Whether two boxes share an input.
pub(super) fn meets(a: &[Set], b: &[Set]) -> bool {
    a.iter().zip(b.iter()).all(|(x, y)| first_common(x, y).is_some())
}

/// Whether box `big` holds every input of box `small`.
pub(super) fn holds(big: &[Set], small: &[Set]) -> bool {
    big.iter().zip(small.iter()).all(|(x, y)| contains(x, y))
}

/// Removes the columns in which every box of `group` has the same set (they
/// cut nothing: every box covers the same segments).
fn drop_same(boxes: &[&Row], group: &[u32], cols: &mut Vec<usize>) {
    cols.retain(|c| {
        let set = |b: &u32| boxes.get(*b as usize).and_then(|r| r.get(*c));
        let first = group.first().and_then(set);
        !group.iter().all(|b| set(b) == first)
    });
}

/// The boundaries of the runs of `group`'s boxes in column `c` (with 0 and
/// `n` when `whole`), sorted: consecutive ones bound the segments.
fn bounds(boxes: &[&Row], group: &[u32], c: usize, n: u32, whole: bool) -> Vec<u32> {
    let mut b: Vec<u32> = Vec::new();
    if whole {
        b.push(0);
        b.push(n);
    }
    for r in group {
        if let Some(s) = boxes.get(*r as usize).and_then(|r| r.get(c)) {
            for &(x, y) in s {
                b.push(x);
                b.push(y);
            }
        }
    }
    b.sort_unstable();
    b.dedup();
    b
}

fn at(bounds: &[u32], x: u32) -> usize {
    bounds.partition_point(|b| *b < x)
}

/// The boxes of `group` in each segment of column `c` (segments in order).
fn segments(boxes: &[&Row], group: &[u32], c: usize, bounds: &[u32]) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); bounds.len().saturating_sub(1)];
    for r in group {
        if let Some(s) = boxes.get(*r as usize).and_then(|r| r.get(c)) {
            for &(x, y) in s {
                for seg in out.iter_mut().take(at(bounds, y)).skip(at(bounds, x)) {
                    seg.push(*r);
                }
            }
        }
    }
    out
}

/// The column of `cols` to cut `group` along: the one whose segments hold
/// the fewest pairs of boxes (Σ size²), which both cuts the group finely and
/// copies few boxes that span many segments.
fn best_column(boxes: &[&Row], group: &[u32], cols: &[usize], n: &[u32]) -> Option<(u128, usize)> {
    let mut best: Option<(u128, usize)> = None;
    for &c in cols {
        let b = bounds(boxes, group, c, n.get(c).copied().unwrap_or(0), false);
        let mut delta = vec![0i64; b.len() + 1];
        for r in group {
            if let Some(s) = boxes.get(*r as usize).and_then(|r| r.get(c)) {
                for &(x, y) in s {
                    if let Some(d) = delta.get_mut(at(&b, x)) {
                        *d += 1;
                    }
                    if let Some(d) = delta.get_mut(at(&b, y)) {
                        *d -= 1;
                    }
                }
            }
        }
        let mut count = 0i64;
        let mut score = 0u128;
        for d in &delta {
            count += d;
            score += (count.max(0) as u128) * (count.max(0) as u128);
        }
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, c));
        }
    }
    best
}

/// Cuts `group` along its best column (removed from `cols`): the groups of
/// the segments, each once; or `None` when cutting costs more than comparing
/// the boxes of the group pairwise (boxes that overlap a lot, each copied
/// into many segments, or a small group).
fn cut(boxes: &[&Row], group: &[u32], cols: &mut Vec<usize>, n: &[u32]) -> Option<Vec<Vec<u32>>> {
    let size = group.len() as u128;
    let (score, c) = best_column(boxes, group, cols, n)?;
    let pairwise = size <= 8 || score.saturating_mul(4) >= size * size;
    #[cfg(test)]
    let pairwise = tests::CUT.with(|c| c.get()).map(|cut| !cut).unwrap_or(pairwise);
    if pairwise {
        return None;
    }
    cols.retain(|x| *x != c);
    let b = bounds(boxes, group, c, n.get(c).copied().unwrap_or(0), false);
    let mut seen: HashSet<Vec<u32>> = HashSet::new();
    Some(segments(boxes, group, c, &b).into_iter().filter(|g| !g.is_empty() && seen.insert(g.clone())).collect())
}

/// Whether two boxes share an input in the columns `cols`.
fn meets_in(a: &[Set], b: &[Set], cols: &[usize]) -> bool {
    cols.iter().all(|c| match (a.get(*c), b.get(*c)) {
        (Some(x), Some(y)) => first_common(x, y).is_some(),
        _ => true,
    })
}

fn has(s: &[(u32, u32)], x: u32) -> bool {
    let i = s.partition_point(|(_, e)| *e <= x);
    s.get(i).is_some_and(|(a, _)| *a <= x)
}

/// Whether some input of `target` (in the columns `cols[k..]`; it has one in
/// each) is in no box of `group`.
fn hole(boxes: &[&Row], group: Vec<u32>, target: &[Set], cols: &[usize], k: usize) -> bool {
    let Some(&c) = cols.get(k) else { return group.is_empty() };
    if group.is_empty() {
        return true;
    }
    let rest = cols.get(k..).unwrap_or(&[]);
    let holds_target = |b: &u32| {
        boxes.get(*b as usize).is_some_and(|r| {
            rest.iter().all(|c| match (r.get(*c), target.get(*c)) {
                (Some(x), Some(t)) => contains(x, t),
                _ => true,
            })
        })
    };
    if group.iter().any(holds_target) {
        return false;
    }
    let Some(t) = target.get(c) else { return false };
    let mut b = bounds(boxes, &group, c, 0, false);
    b.extend(t.iter().flat_map(|(x, y)| [*x, *y]));
    b.sort_unstable();
    b.dedup();
    let mut tried: HashSet<Vec<u32>> = HashSet::new();
    for (seg, sub) in b.iter().zip(segments(boxes, &group, c, &b)) {
        if !has(t, *seg) || !tried.insert(sub.clone()) {
            continue;
        }
        if hole(boxes, sub, target, cols, k + 1) {
            return true;
        }
    }
    false
}

/// W0304 under `hit first`: for each row in `check` (with a box `hi`),
/// whether some input of it is matched by no earlier row's `lo` box.
pub(super) fn uncovered_rows(lo: &[Row], hi: &[Row], check: &[bool], n: &[u32]) -> Vec<bool> {
    // Boxes: the `lo` of rows that can match, then the `hi` of rows to check.
    let mut boxes: Vec<&Row> = Vec::new();
    let mut row: Vec<u32> = Vec::new();
    let mut is_hi: Vec<bool> = Vec::new();
    for (i, r) in lo.iter().enumerate() {
        if r.iter().all(|s| !s.is_empty()) {
            boxes.push(r);
            row.push(i as u32);
            is_hi.push(false);
        }
    }
    for (i, r) in hi.iter().enumerate() {
        if check.get(i).copied().unwrap_or(false) {
            boxes.push(r);
            row.push(i as u32);
            is_hi.push(true);
        }
    }
    let mut cover = Cover { boxes, row, is_hi, n, uncovered: vec![false; hi.len()] };
    let group: Vec<u32> = (0..cover.boxes.len() as u32).collect();
    cover.run(group, (0..n.len()).collect());
    cover.uncovered
}

struct Cover<'a> {
    boxes: Vec<&'a Row>,
    row: Vec<u32>,
    is_hi: Vec<bool>,
    n: &'a [u32],
    uncovered: Vec<bool>,
}

impl Cover<'_> {
    fn row(&self, b: u32) -> u32 {
        self.row.get(b as usize).copied().unwrap_or(0)
    }
    fn hi(&self, b: u32) -> bool {
        self.is_hi.get(b as usize).copied().unwrap_or(false)
    }

    /// `group`'s boxes all cover the region fixed so far; `cols` are free.
    fn run(&mut self, mut group: Vec<u32>, mut cols: Vec<usize>) {
        group.retain(|b| !self.hi(*b) || !self.uncovered.get(self.row(*b) as usize).copied().unwrap_or(true));
        drop_same(&self.boxes, &group, &mut cols);
        let lo_rows = group.iter().filter(|b| !self.hi(**b));
        let min_lo = lo_rows.clone().map(|b| self.row(*b)).min();
        let min_full = lo_rows
            .filter(|b| self.boxes.get(**b as usize).is_some_and(|r| row_full(r, &cols, self.n)))
            .map(|b| self.row(*b))
            .min();
        let mut keep = Vec::with_capacity(group.len());
        for b in group {
            if !self.hi(b) {
                keep.push(b);
                continue;
            }
            let r = self.row(b);
            if min_lo.is_none_or(|m| m >= r) {
                // No earlier row here: an input of this region is this row's own.
                if let Some(u) = self.uncovered.get_mut(r as usize) {
                    *u = true;
                }
            } else if min_full.is_none_or(|m| m >= r) {
                keep.push(b);
            }
        }
        let Some(max_hi) = keep.iter().filter(|b| self.hi(**b)).map(|b| self.row(*b)).max() else { return };
        keep.retain(|b| self.hi(*b) || self.row(*b) < max_hi);
        match cut(&self.boxes, &keep, &mut cols, self.n) {
            Some(groups) => {
                for g in groups {
                    self.run(g, cols.clone());
                }
            }
            None => {
                // Row by row: the earlier rows that meet it, then a hole among them.
                let targets: Vec<u32> = keep.iter().copied().filter(|b| self.hi(*b)).collect();
                for b in targets {
                    let r = self.row(b);
                    let Some(target) = self.boxes.get(b as usize) else { continue };
                    let earlier: Vec<u32> = keep
                        .iter()
                        .copied()
                        .filter(|x| {
                            !self.hi(*x)
                                && self.row(*x) < r
                                && self.boxes.get(*x as usize).is_some_and(|o| meets_in(o, target, &cols))
                        })
                        .collect();
                    if hole(&self.boxes, earlier, target, &cols, 0) {
                        if let Some(u) = self.uncovered.get_mut(r as usize) {
                            *u = true;
                        }
                    }
                }
            }
        }
    }
}

/// Each row's constant outputs (none when they are not all constants) and
/// whether two differ.
pub(super) type Outputs<'a, O> = (&'a [Option<O>], &'a dyn Fn(&O, &O) -> bool);

/// E0303 under `hit unique`: for each row, the first earlier row whose box
/// meets it. With `outputs` (`hit any`), only rows whose constant outputs
/// differ count (`differ`); rows without constant outputs take no part.
pub(super) fn first_overlaps<O>(lo: &[Row], n: &[u32], outputs: Option<Outputs<'_, O>>) -> Vec<Option<u32>> {
    let boxes: Vec<&Row> = lo.iter().collect();
    let group: Vec<u32> = (0..lo.len() as u32)
        .filter(|i| {
            lo.get(*i as usize).is_some_and(|r| r.iter().all(|s| !s.is_empty()))
                && outputs.is_none_or(|(o, _)| o.get(*i as usize).is_some_and(Option::is_some))
        })
        .collect();
    let mut first = vec![None; lo.len()];
    overlaps(&boxes, n, outputs, group, (0..n.len()).collect(), &mut first);
    first
}

fn overlaps<O>(
    boxes: &[&Row],
    n: &[u32],
    outputs: Option<Outputs<'_, O>>,
    group: Vec<u32>,
    mut cols: Vec<usize>,
    first: &mut [Option<u32>],
) {
    if group.len() < 2 {
        return;
    }
    drop_same(boxes, &group, &mut cols);
    let full = |b: u32| boxes.get(b as usize).is_some_and(|r| row_full(r, &cols, n));
    let Some(&m1) = group.iter().min() else { return };
    let mut note = |k: u32, i: u32| {
        if let Some(f) = first.get_mut(k as usize) {
            if f.is_none_or(|x| i < x) {
                *f = Some(i);
            }
        }
    };
    match outputs {
        None => {
            if full(m1) {
                // The first row meets every other: none meets an earlier one here.
                for k in &group {
                    if *k != m1 {
                        note(*k, m1);
                    }
                }
                return;
            }
        }
        Some((outs, differ)) => {
            let out = |b: u32| outs.get(b as usize).and_then(Option::as_ref);
            let differs = |a: u32, b: u32| match (out(a), out(b)) {
                (Some(x), Some(y)) => differ(x, y),
                _ => false,
            };
            // m2: the first row whose output differs from m1's (outputs are
            // equal or not, an equivalence: every other row equals m1 or not).
            let Some(m2) = group.iter().copied().filter(|b| differs(m1, *b)).min() else { return };
            if full(m1) && full(m2) {
                for k in &group {
                    if *k == m1 {
                        continue;
                    }
                    if differs(m1, *k) {
                        note(*k, m1);
                    } else if m2 < *k {
                        note(*k, m2);
                    }
                }
                return;
            }
        }
    }
    match cut(boxes, &group, &mut cols, n) {
        Some(groups) => {
            for g in groups {
                overlaps(boxes, n, outputs, g, cols.clone(), first);
            }
        }
        None => {
            // Pairwise: each row against the earlier ones, up to the first that meets it.
            let mut sorted = group;
            sorted.sort_unstable();
            let differs = |a: u32, b: u32| match outputs {
                None => true,
                Some((outs, differ)) => match (outs.get(a as usize), outs.get(b as usize)) {
                    (Some(Some(x)), Some(Some(y))) => differ(x, y),
                    _ => false,
                },
            };
            for (pos, &k) in sorted.iter().enumerate() {
                let Some(bk) = boxes.get(k as usize) else { continue };
                for &i in sorted.iter().take(pos) {
                    if first.get(k as usize).copied().flatten().is_some_and(|f| f <= i) {
                        break;
                    }
                    if boxes.get(i as usize).is_some_and(|bi| meets_in(bi, bk, &cols)) && differs(i, k) {
                        if let Some(f) = first.get_mut(k as usize) {
                            *f = Some(i);
                        }
                        break;
                    }
                }
            }
        }
    }
}

/// E0302: the first input (one atom per column, in column then atom order)
/// that no box of `rows` covers.
pub(super) fn first_gap(rows: &[Row], n: &[u32]) -> Option<Vec<u32>> {
    let boxes: Vec<&Row> = rows.iter().collect();
    let group: Vec<u32> = (0..rows.len() as u32).collect();
    gap(&boxes, n, group, 0, &mut Vec::new())
}

fn gap(boxes: &[&Row], n: &[u32], group: Vec<u32>, c: usize, chosen: &mut Vec<u32>) -> Option<Vec<u32>> {
    let Some(&size) = n.get(c) else {
        return if group.is_empty() { Some(chosen.clone()) } else { None };
    };
    let rest: Vec<usize> = (c..n.len()).collect();
    if group.is_empty() {
        // Every input is a gap: the first atom of each remaining column.
        if rest.iter().all(|k| n.get(*k).is_some_and(|x| *x > 0)) {
            let mut w = chosen.clone();
            w.extend(rest.iter().map(|_| 0));
            return Some(w);
        }
        return None;
    }
    if group.iter().any(|b| boxes.get(*b as usize).is_some_and(|r| row_full(r, &rest, n))) {
        return None;
    }
    let b = bounds(boxes, &group, c, size, true);
    let mut tried: HashSet<Vec<u32>> = HashSet::new();
    for (seg, sub) in b.iter().zip(segments(boxes, &group, c, &b)) {
        if !tried.insert(sub.clone()) {
            continue;
        }
        chosen.push(*seg);
        if let Some(w) = gap(boxes, n, sub, c + 1, chosen) {
            return Some(w);
        }
        chosen.pop();
    }
    None
}

/// Grows the uncovered input `w` to a box no row of `hi` meets: column by
/// column, every atom that keeps the box clear of every row joins it (as the
/// reference [`super::reference`] does atom by atom).
pub(super) fn widen(hi: &[Row], n: &[u32], w: &[u32]) -> Vec<Vec<bool>> {
    let mut sets: Vec<Set> = w.iter().map(|a| vec![(*a, *a + 1)]).collect();
    let mut boxes: Vec<Vec<bool>> = n.iter().zip(w.iter()).map(|(n, a)| to_bools(&[(*a, *a + 1)], *n)).collect();
    for col in 0..boxes.len() {
        let size = n.get(col).copied().unwrap_or(0);
        // The rows that meet the box in every other column block their atoms here.
        let mut blocked: Vec<(u32, u32)> = Vec::new();
        for r in hi {
            let elsewhere =
                r.iter().zip(sets.iter()).enumerate().all(|(c, (s, b))| c == col || first_common(s, b).is_some());
            if elsewhere {
                if let Some(s) = r.get(col) {
                    blocked.extend(s.iter().copied());
                }
            }
        }
        let free = complement(&normalize(blocked), size);
        if let Some(bx) = boxes.get_mut(col) {
            for &(a, b) in &free {
                for x in bx.iter_mut().take(b as usize).skip(a as usize) {
                    *x = true;
                }
            }
            if let Some(s) = sets.get_mut(col) {
                *s = from_bools(bx);
            }
        }
    }
    boxes
}

/// The atoms of a column that some row's set holds.
pub(super) fn covered_atoms(rows: &[Row], col: usize, n: u32) -> Vec<bool> {
    let mut delta = vec![0i64; n as usize + 1];
    for r in rows {
        if let Some(s) = r.get(col) {
            for &(a, b) in s {
                if let Some(d) = delta.get_mut(a as usize) {
                    *d += 1;
                }
                if let Some(d) = delta.get_mut(b as usize) {
                    *d -= 1;
                }
            }
        }
    }
    let mut count = 0;
    delta
        .iter()
        .take(n as usize)
        .map(|d| {
            count += d;
            count > 0
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    thread_local! {
        /// Tests choose: always cut (`Some(true)`), never (`Some(false)`), or as costs say.
        pub(crate) static CUT: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
    }

    #[test]
    fn set_operations() {
        assert_eq!(normalize(vec![(3, 5), (0, 1), (1, 2), (4, 7), (9, 9)]), vec![(0, 2), (3, 7)]);
        assert_eq!(complement(&[(1, 2), (4, 6)], 8), vec![(0, 1), (2, 4), (6, 8)]);
        assert_eq!(complement(&[], 0), Vec::<(u32, u32)>::new());
        assert_eq!(intersect(&[(0, 3), (5, 9)], &[(2, 6)]), vec![(2, 3), (5, 6)]);
        assert_eq!(first_common(&[(0, 3), (5, 9)], &[(3, 5), (8, 10)]), Some(8));
        assert!(contains(&[(0, 3), (5, 9)], &[(1, 2), (5, 9)]));
        assert!(!contains(&[(0, 3), (5, 9)], &[(2, 6)]));
        assert_eq!(from_bools(&to_bools(&[(1, 3), (4, 5)], 6)), vec![(1, 3), (4, 5)]);
        assert!(is_full(&full(4), 4) && is_full(&full(0), 0));
    }
}
