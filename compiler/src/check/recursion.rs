//! Recursion detection (E0401): Canon programs are total, so no function or
//! decision may reach itself through calls.

use std::collections::HashMap;

use super::{Callee, Checker};
use crate::diagnostics::{Code, Diagnostic, FileId};
use crate::syntax::ast::Span;

impl<'a> Checker<'a> {
    pub(super) fn check_recursion(&mut self) {
        let nodes: Vec<Callee> = {
            let mut v: Vec<Callee> = (0..self.pkg.functions.len() as u32).map(Callee::Fn).collect();
            v.extend((0..self.pkg.decisions.len() as u32).map(Callee::Decision));
            v
        };
        // Tarjan's strongly connected components, iteratively.
        let index_of: HashMap<Callee, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let edges: Vec<Vec<usize>> = nodes
            .iter()
            .map(|n| {
                self.calls
                    .get(n)
                    .map(|cs| cs.iter().filter_map(|(c, _, _)| index_of.get(c).copied()).collect())
                    .unwrap_or_default()
            })
            .collect();
        let sccs = tarjan(&edges);
        for mut comp in sccs {
            comp.sort_unstable();
            let self_loop = comp.len() == 1
                && comp.first().map(|n| edges.get(*n).map(|e| e.contains(n)).unwrap_or(false)).unwrap_or(false);
            if comp.len() < 2 && !self_loop {
                continue;
            }
            let names: Vec<String> = comp.iter().filter_map(|i| nodes.get(*i)).map(|c| self.callee_name(*c)).collect();
            for i in &comp {
                let Some(node) = nodes.get(*i) else { continue };
                let Some((file, span)) = self.callee_site(*node) else { continue };
                // The call that closes the cycle from this node.
                let call = self.calls.get(node).and_then(|cs| {
                    cs.iter().find(|(c, _, _)| index_of.get(c).map(|j| comp.contains(j)).unwrap_or(false)).cloned()
                });
                let msg = if comp.len() == 1 {
                    format!("`{}` calls itself", self.callee_name(*node))
                } else {
                    format!(
                        "`{}` is recursive: {} call each other",
                        self.callee_name(*node),
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    )
                };
                let mut d = Diagnostic::new(Code::E0401, file, span, msg)
                    .with_help("Canon rules always terminate, so recursion is not allowed; use `sum`, `count`, `any`, `all` or `for` over a list");
                if let Some((_, cf, cs)) = call {
                    d = d.with_label(cf, cs, "the call that closes the cycle");
                }
                self.diags.push(d);
            }
        }
    }

    fn callee_name(&self, c: Callee) -> String {
        match c {
            Callee::Fn(i) => self.pkg.functions.get(i as usize).map(|f| f.name.clone()).unwrap_or_default(),
            Callee::Decision(i) => self.pkg.decisions.get(i as usize).map(|f| f.name.clone()).unwrap_or_default(),
        }
    }

    fn callee_site(&self, c: Callee) -> Option<(FileId, Span)> {
        let site = match c {
            Callee::Fn(i) => self.pkg.functions.get(i as usize)?.site,
            Callee::Decision(i) => self.pkg.decisions.get(i as usize)?.site,
        }?;
        Some((site.file, site.span))
    }
}

fn tarjan(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct St {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(v: usize, edges: &[Vec<usize>], s: &mut St) {
        // Iterative DFS with an explicit stack of (node, next edge).
        let mut work: Vec<(usize, usize)> = vec![(v, 0)];
        while let Some((n, ei)) = work.pop() {
            if ei == 0 {
                if let Some(slot) = s.index.get_mut(n) {
                    *slot = Some(s.next);
                }
                if let Some(l) = s.low.get_mut(n) {
                    *l = s.next;
                }
                s.next += 1;
                s.stack.push(n);
                if let Some(o) = s.on.get_mut(n) {
                    *o = true;
                }
            }
            let succ = edges.get(n).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(&w) = succ.get(ei) {
                work.push((n, ei + 1));
                match s.index.get(w).copied().flatten() {
                    None => work.push((w, 0)),
                    Some(wi) => {
                        if s.on.get(w).copied().unwrap_or(false) {
                            let ln = s.low.get(n).copied().unwrap_or(0);
                            if let Some(l) = s.low.get_mut(n) {
                                *l = ln.min(wi);
                            }
                        }
                    }
                }
                continue;
            }
            // Done with n: propagate low to parent.
            if let Some(&(parent, _)) = work.last() {
                let ln = s.low.get(n).copied().unwrap_or(0);
                let lp = s.low.get(parent).copied().unwrap_or(0);
                if let Some(l) = s.low.get_mut(parent) {
                    *l = lp.min(ln);
                }
            }
            if s.low.get(n) == s.index.get(n).copied().flatten().as_ref() {
                let mut comp = Vec::new();
                while let Some(w) = s.stack.pop() {
                    if let Some(o) = s.on.get_mut(w) {
                        *o = false;
                    }
                    comp.push(w);
                    if w == n {
                        break;
                    }
                }
                s.out.push(comp);
            }
        }
    }
    let n = edges.len();
    let mut s =
        St { index: vec![None; n], low: vec![0; n], on: vec![false; n], stack: Vec::new(), next: 0, out: Vec::new() };
    for v in 0..n {
        if s.index.get(v).copied().flatten().is_none() {
            visit(v, edges, &mut s);
        }
    }
    s.out
}
