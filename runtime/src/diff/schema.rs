//! What a new package version changes in the records it emits, before any
//! event is replayed (RUNTIME.md §3.4): each destination of either package,
//! matched by wire name, its record compared field by field by wire name
//! (what a consumer reads), never by the Rust-side ids or Canon names.
//!
//! A change is *breaking* when a consumer that reads the old records may
//! fail on the new ones: a destination or a field removed (one removed
//! while another of the same type is added is reported once, as renamed?),
//! a field's type changed (Int to Decimal, Text to an enum …), a field that
//! may now be `none`, or an enum whose wire variants changed (a consumer
//! waiting for a removed variant never sees it again; one that maps the
//! variants it knows fails on an added one). Additive changes are reported
//! as not breaking: a new destination, a new field (consumers read fields by
//! name), a field that was optional and is now always present.

use canon_compiler::ir;
use canon_compiler::types::{Ty, TyDisplay};
use serde::Serialize;

/// One change to a destination or to a field of its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaChange {
    /// The destination's wire name (`erp_posting`, `erp.EU` for a family member).
    pub destination: String,
    /// The field's wire path in the record (`amount`, `payable.amount`);
    /// `None` for a change to the destination itself.
    pub field: Option<String>,
    pub change: ChangeKind,
    pub breaking: bool,
    /// The field's (or the destination's record's) type in the old package, as Canon writes it.
    pub old: Option<String>,
    /// The same in the new package.
    pub new: Option<String>,
    /// For a field (or destination) removed while one of the same type was
    /// added: the added one's wire path (or name), probably its new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_to: Option<String>,
    /// For `variants_changed`: the wire names removed and added.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants_removed: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variants_added: Vec<String>,
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    DestinationRemoved,
    /// A destination removed and one with the same record type added: probably a rename.
    DestinationRenamed,
    FieldRemoved,
    /// A field removed and one of the same type added: probably a rename.
    FieldRenamed,
    TypeChanged,
    /// `T` became `T?`: consumers may now receive `null`.
    NowOptional,
    VariantsChanged,
    /// `T?` became `T`: always present now (not breaking).
    NowRequired,
    FieldAdded,
    DestinationAdded,
}

impl ChangeKind {
    /// How the text report words it.
    pub fn describe(self) -> &'static str {
        match self {
            ChangeKind::DestinationRemoved => "destination removed",
            ChangeKind::DestinationRenamed => "destination renamed?",
            ChangeKind::FieldRemoved => "field removed",
            ChangeKind::FieldRenamed => "field renamed?",
            ChangeKind::TypeChanged => "type changed",
            ChangeKind::NowOptional => "may now be none",
            ChangeKind::VariantsChanged => "enum variants changed",
            ChangeKind::NowRequired => "now always present",
            ChangeKind::FieldAdded => "field added",
            ChangeKind::DestinationAdded => "destination added",
        }
    }
}

/// The changes from `old` to `new` in what their destinations emit: the
/// old package's destinations in declaration order, then the new ones; the
/// breaking changes of a destination before the others.
pub fn changes(old: &ir::Package, new: &ir::Package) -> Vec<SchemaChange> {
    let mut out = Vec::new();
    for od in &old.destinations {
        match new.destination_by_name(&od.name) {
            None => out.push(SchemaChange {
                destination: od.name.clone(),
                field: None,
                change: ChangeKind::DestinationRemoved,
                breaking: true,
                old: Some(type_name(old, &Ty::Record(od.record))),
                new: None,
                renamed_to: None,
                variants_removed: Vec::new(),
                variants_added: Vec::new(),
            }),
            Some((_, nd)) => {
                let mut found = Vec::new();
                let sides = Sides { old, new };
                sides.record(&od.name, "", od.record, nd.record, &mut found, &mut Vec::new());
                found.sort_by_key(|c| (!c.breaking, c.change));
                out.extend(found);
            }
        }
    }
    // A destination removed where one of the same record type was added:
    // probably renamed (still breaking: its consumers read the old name).
    let mut added: Vec<&ir::DestDef> =
        new.destinations.iter().filter(|nd| old.destination_by_name(&nd.name).is_none()).collect();
    for c in out.iter_mut().filter(|c| c.change == ChangeKind::DestinationRemoved) {
        let Some((_, od)) = old.destination_by_name(&c.destination) else { continue };
        let old_ty = Ty::Record(od.record);
        if let Some(i) = added.iter().position(|nd| same_wire_type(old, &old_ty, new, &Ty::Record(nd.record))) {
            let nd = added.remove(i);
            c.change = ChangeKind::DestinationRenamed;
            c.new = Some(type_name(new, &Ty::Record(nd.record)));
            c.renamed_to = Some(nd.name.clone());
        }
    }
    for nd in added {
        out.push(SchemaChange {
            destination: nd.name.clone(),
            field: None,
            change: ChangeKind::DestinationAdded,
            breaking: false,
            old: None,
            new: Some(type_name(new, &Ty::Record(nd.record))),
            renamed_to: None,
            variants_removed: Vec::new(),
            variants_added: Vec::new(),
        });
    }
    out
}

/// A type as Canon writes it (`Money`, `Text?`, `List<JournalLine>`).
pub fn type_name(pkg: &ir::Package, ty: &Ty) -> String {
    let enums = pkg.enum_names();
    let records = pkg.record_names();
    TyDisplay { ty, enums: &enums, records: &records }.to_string()
}

/// Whether a value of `old_ty` in `old` and one of `new_ty` in `new` are
/// read and written alike: the same scalar, enums with the same wire
/// variants in the same order, records with the same wire fields of such
/// types in the same order. Values of such types compare directly.
pub fn same_wire_type(old: &ir::Package, old_ty: &Ty, new: &ir::Package, new_ty: &Ty) -> bool {
    same_wire(old, old_ty, new, new_ty, 0)
}

fn same_wire(old: &ir::Package, a: &Ty, new: &ir::Package, b: &Ty, depth: u32) -> bool {
    // Records cannot nest without end (the checker refuses recursive
    // records), but a bound keeps this total on any IR.
    if depth > 64 {
        return false;
    }
    match (a, b) {
        (Ty::Optional(x), Ty::Optional(y)) | (Ty::List(x), Ty::List(y)) => same_wire(old, x, new, y, depth + 1),
        (Ty::Enum(x), Ty::Enum(y)) => match (old.enum_def(*x), new.enum_def(*y)) {
            (Some(x), Some(y)) => {
                x.variants.len() == y.variants.len()
                    && x.variants.iter().zip(&y.variants).all(|(v, w)| v.wire == w.wire)
            }
            _ => false,
        },
        (Ty::Record(x), Ty::Record(y)) => match (old.record(*x), new.record(*y)) {
            (Some(x), Some(y)) => {
                x.fields.len() == y.fields.len()
                    && x.fields
                        .iter()
                        .zip(&y.fields)
                        .all(|(f, g)| f.wire == g.wire && same_wire(old, &f.ty, new, &g.ty, depth + 1))
            }
            _ => false,
        },
        (Ty::Optional(_) | Ty::List(_) | Ty::Enum(_) | Ty::Record(_), _) => false,
        (a, b) => a == b,
    }
}

struct Sides<'a> {
    old: &'a ir::Package,
    new: &'a ir::Package,
}

impl Sides<'_> {
    fn change(&self, dest: &str, field: String, change: ChangeKind, breaking: bool, types: (&Ty, &Ty)) -> SchemaChange {
        SchemaChange {
            destination: dest.to_string(),
            field: Some(field),
            change,
            breaking,
            old: Some(type_name(self.old, types.0)),
            new: Some(type_name(self.new, types.1)),
            renamed_to: None,
            variants_removed: Vec::new(),
            variants_added: Vec::new(),
        }
    }

    /// The changes between two records, each field by wire name; `prefix`
    /// is the path of the record in the destination's (`""` at the top).
    /// `seen` holds the pairs of records enclosing this one, so a record
    /// that reaches itself stops (each path a consumer reads is reported).
    fn record(
        &self,
        dest: &str,
        prefix: &str,
        a: canon_compiler::types::RecordId,
        b: canon_compiler::types::RecordId,
        out: &mut Vec<SchemaChange>,
        seen: &mut Vec<(u32, u32)>,
    ) {
        if seen.contains(&(a.0, b.0)) {
            return;
        }
        seen.push((a.0, b.0));
        self.record_fields(dest, prefix, a, b, out, seen);
        seen.pop();
    }

    fn record_fields(
        &self,
        dest: &str,
        prefix: &str,
        a: canon_compiler::types::RecordId,
        b: canon_compiler::types::RecordId,
        out: &mut Vec<SchemaChange>,
        seen: &mut Vec<(u32, u32)>,
    ) {
        let (Some(ra), Some(rb)) = (self.old.record(a), self.new.record(b)) else { return };
        let path = |wire: &str| if prefix.is_empty() { wire.to_string() } else { format!("{prefix}.{wire}") };
        let mut removed = Vec::new();
        for f in &ra.fields {
            match rb.fields.iter().find(|g| g.wire == f.wire) {
                None => removed.push(f),
                Some(g) => self.field(dest, &path(&f.wire), &f.ty, &g.ty, out, seen),
            }
        }
        let mut added: Vec<&ir::FieldDef> =
            rb.fields.iter().filter(|g| !ra.fields.iter().any(|f| f.wire == g.wire)).collect();
        for f in removed {
            // A field of the same type added in its place: probably renamed.
            let twin = added.iter().position(|g| same_wire(self.old, &f.ty, self.new, &g.ty, 0));
            let mut c = SchemaChange {
                destination: dest.to_string(),
                field: Some(path(&f.wire)),
                change: ChangeKind::FieldRemoved,
                breaking: true,
                old: Some(type_name(self.old, &f.ty)),
                new: None,
                renamed_to: None,
                variants_removed: Vec::new(),
                variants_added: Vec::new(),
            };
            if let Some(i) = twin {
                let g = added.remove(i);
                c.change = ChangeKind::FieldRenamed;
                c.new = Some(type_name(self.new, &g.ty));
                c.renamed_to = Some(path(&g.wire));
            }
            out.push(c);
        }
        for g in added {
            out.push(SchemaChange {
                destination: dest.to_string(),
                field: Some(path(&g.wire)),
                change: ChangeKind::FieldAdded,
                breaking: false,
                old: None,
                new: Some(type_name(self.new, &g.ty)),
                renamed_to: None,
                variants_removed: Vec::new(),
                variants_added: Vec::new(),
            });
        }
    }

    /// The changes between the types of one field present on both sides.
    fn field(&self, dest: &str, path: &str, a: &Ty, b: &Ty, out: &mut Vec<SchemaChange>, seen: &mut Vec<(u32, u32)>) {
        if a.is_optional() != b.is_optional() {
            let (kind, breaking) =
                if b.is_optional() { (ChangeKind::NowOptional, true) } else { (ChangeKind::NowRequired, false) };
            out.push(self.change(dest, path.to_string(), kind, breaking, (a, b)));
        }
        let (sa, sb) = (a.strip(), b.strip());
        match (sa, sb) {
            (Ty::Record(x), Ty::Record(y)) => self.record(dest, path, *x, *y, out, seen),
            (Ty::List(x), Ty::List(y)) => match (&**x, &**y) {
                // The elements of a list of records are compared field by field under `path[]`.
                (Ty::Record(rx), Ty::Record(ry)) => self.record(dest, &format!("{path}[]"), *rx, *ry, out, seen),
                _ if same_wire(self.old, x, self.new, y, 0) => {}
                _ => out.push(self.change(dest, path.to_string(), ChangeKind::TypeChanged, true, (a, b))),
            },
            (Ty::Enum(x), Ty::Enum(y)) => {
                let (Some(ex), Some(ey)) = (self.old.enum_def(*x), self.new.enum_def(*y)) else { return };
                let removed: Vec<String> = ex
                    .variants
                    .iter()
                    .filter(|v| !ey.variants.iter().any(|w| w.wire == v.wire))
                    .map(|v| v.wire.clone())
                    .collect();
                let added: Vec<String> = ey
                    .variants
                    .iter()
                    .filter(|w| !ex.variants.iter().any(|v| v.wire == w.wire))
                    .map(|w| w.wire.clone())
                    .collect();
                if !removed.is_empty() || !added.is_empty() {
                    let mut c = self.change(dest, path.to_string(), ChangeKind::VariantsChanged, true, (a, b));
                    c.variants_removed = removed;
                    c.variants_added = added;
                    out.push(c);
                }
            }
            (x, y) if x == y => {}
            _ => out.push(self.change(dest, path.to_string(), ChangeKind::TypeChanged, true, (a, b))),
        }
    }
}
