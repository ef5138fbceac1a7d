//! The computed outputs of a large decision, grouped by shape: rows whose
//! output expressions are the same up to their constants (the usual rate
//! card: `hours * <rate>`) share one compiled function, which reads the
//! constants that differ, and the source locations its faults name, from a
//! per-row table. From the IR alone (no Cranelift; unit-tested).
//!
//! A shape is the output expressions with every constant (but `none`, which
//! codegen tests for: `x == none`) replaced by a hole of its variant and
//! type, and every location replaced by its class: the nodes that can fault
//! (anything but a constant or a local) numbered by distinct location, in
//! order. Two rows of one shape lower to the same code but for those
//! constants and locations. An expression that registers a site of its own
//! (a read of state) has no shape: its row is compiled on its own.

use std::collections::HashMap;

use canon_compiler::diagnostics::FileId;
use canon_compiler::ir::{self, Const, Expr, ExprKind, InterpPart, Loc};
use canon_compiler::types::Ty;

/// What fills a row's shape: its constants and locations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowShape {
    /// The constants in the holes, in order, with their types.
    pub consts: Vec<(Const, Ty)>,
    /// The location of each class, in order.
    pub locs: Vec<Loc>,
}

/// The shape of a row's outputs (its key: equal keys, equal code up to the
/// holes) and what fills it, or `None` when it has none (the row is
/// compiled on its own).
pub(crate) fn row_shape(outputs: &[Expr]) -> Option<(String, RowShape)> {
    let mut walk = Walk { consts: Vec::new(), locs: Vec::new(), shareable: true };
    let normal: Vec<Expr> = outputs
        .iter()
        .map(|o| {
            let mut o = o.clone();
            walk.expr(&mut o);
            o
        })
        .collect();
    if !walk.shareable {
        return None;
    }
    Some((format!("{normal:?}"), RowShape { consts: walk.consts, locs: walk.locs }))
}

/// The template of a shape: `outputs` (a row of the shape) with its holes
/// whose number is in `slots` replaced by that local, the others kept.
pub(crate) fn template(outputs: &[Expr], slots: &HashMap<usize, u32>) -> Vec<Expr> {
    let mut n = 0usize;
    outputs
        .iter()
        .map(|o| {
            let mut o = o.clone();
            fill(&mut o, slots, &mut n);
            o
        })
        .collect()
}

fn fill(e: &mut Expr, slots: &HashMap<usize, u32>, n: &mut usize) {
    if let ExprKind::Const(c) = &e.kind {
        if !matches!(c, Const::None) {
            if let Some(slot) = slots.get(n) {
                e.kind = ExprKind::Local(*slot);
            }
            *n += 1;
        }
        return;
    }
    each_child(&mut e.kind, &mut |c| fill(c, slots, n));
}

struct Walk {
    consts: Vec<(Const, Ty)>,
    locs: Vec<Loc>,
    shareable: bool,
}

impl Walk {
    /// Normalises `e` in place (pre-order: the order `template` numbers holes in).
    fn expr(&mut self, e: &mut Expr) {
        match &mut e.kind {
            ExprKind::Const(c) => {
                if !matches!(c, Const::None) {
                    self.consts.push((c.clone(), e.ty.clone()));
                    *c = Const::Int(variant(c));
                }
                e.loc = Loc::default();
                return;
            }
            ExprKind::Local(_) => {
                e.loc = Loc::default();
                return;
            }
            ExprKind::StateGet { .. } => self.shareable = false,
            _ => {}
        }
        let class = match self.locs.iter().position(|l| *l == e.loc) {
            Some(k) => k,
            None => {
                self.locs.push(e.loc);
                self.locs.len() - 1
            }
        };
        e.loc = Loc { file: FileId(u32::MAX), line: class as u32, col: 0 };
        each_child(&mut e.kind, &mut |c| self.expr(c));
    }
}

/// A constant's variant, as a number (its value is a hole).
fn variant(c: &Const) -> i64 {
    match c {
        Const::None => 0,
        Const::Bool(_) => 1,
        Const::Int(_) => 2,
        Const::Decimal(_) => 3,
        Const::Money(..) => 4,
        Const::Currency(_) => 5,
        Const::Text(_) => 6,
        Const::Date(_) => 7,
        Const::Timestamp(_) => 8,
        Const::Enum(..) => 9,
    }
}

/// Calls `f` on each direct sub-expression of `k`, in the order codegen
/// lowers them (every variant named: a new one must be placed here).
fn each_child(k: &mut ExprKind, f: &mut impl FnMut(&mut Expr)) {
    match k {
        ExprKind::Const(_) | ExprKind::Local(_) | ExprKind::Meta | ExprKind::Error => {}
        ExprKind::Field { base, .. } | ExprKind::OptField { base, .. } => f(base),
        ExprKind::Call { args, .. }
        | ExprKind::Decide { args, .. }
        | ExprKind::Builtin { args, .. }
        | ExprKind::Calendar { args, .. } => args.iter_mut().for_each(f),
        ExprKind::Aggregate { list, body, .. } => {
            f(list);
            f(body);
        }
        ExprKind::Lookup { keys, .. } | ExprKind::StateGet { keys, .. } => keys.iter_mut().for_each(f),
        ExprKind::Index { list, index } => {
            f(list);
            f(index);
        }
        ExprKind::LookupAsOf { keys, at, .. } => {
            keys.iter_mut().for_each(&mut *f);
            f(at);
        }
        ExprKind::Unary { expr, .. } | ExprKind::IntToDecimal(expr) => f(expr),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Coalesce { lhs, rhs } => {
            f(lhs);
            f(rhs);
        }
        ExprKind::In { value, list, .. } => {
            f(value);
            f(list);
        }
        ExprKind::If { cond, then, otherwise } => {
            f(cond);
            f(then);
            f(otherwise);
        }
        ExprKind::Match { scrutinee, arms } => {
            f(scrutinee);
            for (_, body) in arms {
                f(body);
            }
        }
        ExprKind::Record { fields, .. } => fields.iter_mut().for_each(f),
        ExprKind::List(items) => items.iter_mut().for_each(f),
        ExprKind::Interp(parts) => {
            for p in parts {
                if let InterpPart::Expr(x) = p {
                    f(x);
                }
            }
        }
    }
}

/// How a large decision's computed rows are compiled: the output functions
/// and, per row, which one computes it and the row's slot in it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutputPlan {
    /// Per row: 0 for a constant output (read from the table of cells),
    /// else 1 + the index of its function in `funcs`.
    pub func_of_row: Vec<u32>,
    /// Per row: its slot in its function (the row's block, or its row of
    /// the group's table); 0 for a constant row.
    pub slot_of_row: Vec<u32>,
    pub funcs: Vec<OutputFn>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OutputFn {
    /// Rows compiled a block each (the slot picks the block), at most
    /// `chunk` of them.
    Rows(Vec<usize>),
    /// Rows of one shape (at least two): one body, the slot picks the
    /// row's constants and locations.
    Shared(Group),
}

/// The rows of one shape, in table order, and what fills it for each, kept
/// flat (a large table has many rows of few holes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    pub rows: Vec<usize>,
    /// The holes' types (the same in every row: they are in the key).
    pub tys: Vec<Ty>,
    /// The constants in the holes, `tys.len()` a row.
    pub consts: Vec<Const>,
    /// How many location classes the shape has.
    pub n_locs: usize,
    /// The locations of each class, `n_locs` a row.
    pub locs: Vec<Loc>,
}

impl Group {
    fn of(ri: usize, s: RowShape) -> Group {
        let (consts, tys) = s.consts.into_iter().unzip();
        Group { rows: vec![ri], tys, consts, n_locs: s.locs.len(), locs: s.locs }
    }

    fn push(&mut self, ri: usize, s: RowShape) {
        self.rows.push(ri);
        self.consts.extend(s.consts.into_iter().map(|(c, _)| c));
        self.locs.extend(s.locs);
    }

    /// The constants of the `k`-th row of the group.
    #[cfg(test)]
    pub fn consts_of(&self, k: usize) -> &[Const] {
        let h = self.tys.len();
        self.consts.get(k * h..(k + 1) * h).unwrap_or_default()
    }

    /// The locations of the `k`-th row of the group.
    pub fn locs_of(&self, k: usize) -> &[Loc] {
        self.locs.get(k * self.n_locs..(k + 1) * self.n_locs).unwrap_or_default()
    }
}

/// Plans the outputs of `d`'s rows: `computed(row)` says whether a row's
/// output is computed. Rows of a shape shared by at least two rows get one
/// function per shape; the others go, in table order, into functions of
/// `chunk` rows with a block each.
pub(crate) fn plan(d: &ir::DecisionDef, computed: impl Fn(&ir::DecisionRow) -> bool, chunk: usize) -> OutputPlan {
    let n = d.rows.len();
    let mut func_of_row = vec![0u32; n];
    let mut slot_of_row = vec![0u32; n];
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut alone: Vec<usize> = Vec::new();
    for (ri, row) in d.rows.iter().enumerate() {
        if !computed(row) {
            continue;
        }
        match row_shape(&row.outputs) {
            Some((key, s)) => match by_key.get(&key).and_then(|g| groups.get_mut(*g)) {
                Some(group) => group.push(ri, s),
                None => {
                    by_key.insert(key, groups.len());
                    groups.push(Group::of(ri, s));
                }
            },
            None => alone.push(ri),
        }
    }
    let mut funcs = Vec::new();
    for group in groups {
        if group.rows.len() < 2 {
            alone.extend(group.rows);
        } else {
            funcs.push(OutputFn::Shared(group));
        }
    }
    alone.sort_unstable();
    for rows in alone.chunks(chunk.max(1)) {
        funcs.push(OutputFn::Rows(rows.to_vec()));
    }
    for (k, f) in funcs.iter().enumerate() {
        let rows = match f {
            OutputFn::Rows(rows) => rows,
            OutputFn::Shared(group) => &group.rows,
        };
        for (slot, ri) in rows.iter().enumerate() {
            if let (Some(fr), Some(sr)) = (func_of_row.get_mut(*ri), slot_of_row.get_mut(*ri)) {
                *fr = k as u32 + 1;
                *sr = slot as u32;
            }
        }
    }
    OutputPlan { func_of_row, slot_of_row, funcs }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use std::path::PathBuf;

    use super::*;

    fn decision(src: &str) -> ir::DecisionDef {
        let pkg = canon_runtime::package::from_sources(PathBuf::from("."), vec![("t.canon".into(), src.into())]);
        assert!(!pkg.has_errors(), "{:?}", pkg.diagnostics().iter().find(|d| d.is_error()));
        pkg.package().decisions[0].clone()
    }

    const SRC: &str = r#"
enum Role { Junior, Senior }
decision d(n: Int, role: Role, hours: Decimal) -> Money
  hit first
  | n | role | hours || r |
  | 0 | - | - || hours * 10.00 EUR |
  | 1 | - | - || hours * 12.50 USD |
  | 2 | - | - || hours * 12.5 EUR + 1.00 EUR |
  | 3 | - | - || 7.00 EUR |
  | 4 | - | - || hours * 10.00 EUR |
  | 5 | - | - || if role == Junior then hours * 1.00 EUR else 2.00 EUR |
  | 6 | - | - || if role == Senior then hours * 3.00 EUR else 4.00 EUR |
  | 7 | - | - || hours * 9.00 EUR + 2.00 EUR |
  | 8 | - | - || if n == 3 then 1.00 EUR else 2.00 EUR |
  | - | - | - || hours * 0.00 EUR |
"#;

    #[test]
    fn rows_of_one_shape_share_a_function() {
        let d = decision(SRC);
        let p = plan(&d, |r| !matches!(r.outputs[0].kind, ExprKind::Const(_)), 128);
        // Rows 0, 1, 4, 9: `hours * <money>`; 2 and 7: `hours * <money> + <money>`;
        // 5 and 6 (enum constants are holes too); 8 alone; 3 is a constant.
        assert_eq!(p.func_of_row, vec![1, 1, 2, 0, 1, 3, 3, 2, 4, 1]);
        assert_eq!(p.slot_of_row, vec![0, 1, 0, 0, 2, 0, 1, 1, 0, 3]);
        assert_eq!(p.funcs.len(), 4);
        assert_eq!(p.funcs[3], OutputFn::Rows(vec![8]));
        let OutputFn::Shared(g) = &p.funcs[0] else { panic!() };
        assert_eq!(g.rows, vec![0, 1, 4, 9]);
        let rates: Vec<String> = (0..4).map(|k| format!("{:?}", g.consts_of(k))).collect();
        assert!(rates[1].contains("[85, 83, 68]"), "USD: {rates:?}");
        assert_eq!(g.tys, vec![Ty::Money]);
        // Each row's locations are its own.
        assert_ne!(g.locs_of(0), g.locs_of(1));
        assert_eq!(g.n_locs, 1, "one class: the multiplication");
    }

    #[test]
    fn a_template_reads_the_chosen_holes_from_locals() {
        let d = decision(SRC);
        let outputs = &d.rows[2].outputs;
        let t = template(outputs, &HashMap::from([(1, 40)]));
        let s = format!("{t:?}");
        assert!(s.contains("Local(40)"), "{s}");
        assert!(!s.contains("Local(41)"));
        // Hole 0 (12.5 EUR) is kept, hole 1 (1.00 EUR) read from local 40.
        let ExprKind::Binary { lhs, rhs, .. } = &t[0].kind else { panic!("{s}") };
        assert!(matches!(rhs.kind, ExprKind::Local(40)));
        assert!(format!("{lhs:?}").contains("Money"));
    }

    #[test]
    fn none_and_types_are_part_of_the_shape() {
        let src = r#"
decision d(n: Int, x: Decimal?) -> Bool?
  hit first
  | n | x || r |
  | 0 | - || x == none |
  | 1 | - || x == 1.5 |
  | 2 | - || x == 2 |
"#;
        let d = decision(src);
        let keys: Vec<String> = d.rows.iter().map(|r| row_shape(&r.outputs).unwrap().0).collect();
        assert_ne!(keys[0], keys[1]);
        // `2` is checked as a Decimal constant here: the same shape.
        assert_eq!(keys[1], keys[2]);
        assert!(keys[1].contains("ty: Decimal"), "the constant's type is in the key: {}", keys[1]);
    }
}
