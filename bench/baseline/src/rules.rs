//! The rules of WORKLOAD.md, in its order (examples/timesheets/posting.canon),
//! and the outcome line (RUNTIME.md §2) written straight into a byte buffer.
//!
//! Rejection messages and rule locations are Canon's: the texts of
//! posting.canon and the `file.canon:LINE` of the statement that rejected.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::event::{Meta, Timesheet};
use crate::fallback::SchemaError;
use crate::json;
use crate::tables::{Project, Tables};
use crate::values::{Currency, ProjectStatus, Region, Role, Tier, WorkerKind};

/// Where each rule is in the Canon package (for the `at` of a rejection):
/// the line of the statement in examples/timesheets. Update these when the
/// package's layout changes (`tests/parity.rs` fails until they agree).
mod at {
    pub const HOURS_OUT_OF_RANGE: &str = "posting.canon:16";
    pub const FUTURE_WORK_DATE: &str = "posting.canon:22";
    pub const UNKNOWN_PROJECT: &str = "posting.canon:28";
    pub const PROJECT_NOT_OPEN: &str = "posting.canon:32";
    pub const TASK_REQUIRED: &str = "posting.canon:36";
    pub const NO_FX_RATE: &str = "posting.canon:50";
    /// The journal amount: `round(convert(rate * t.hours, ...), 2)`.
    pub const LINE_AMOUNT: &str = "posting.canon:52";
    /// The payable amount: `round(cost_rate(...) * t.hours, 2)`.
    pub const PAYABLE_AMOUNT: &str = "posting.canon:74";
    /// The event declaration (where a schema violation points).
    pub const EVENT: &str = "types.canon:63";
}

/// One recorded rejection; its message is written from the event.
#[derive(Debug, Clone, Copy)]
enum Reject {
    HoursOutOfRange,
    FutureWorkDate,
    UnknownProject,
    ProjectNotOpen,
    TaskRequired,
    NoFxRate(Currency),
    /// A Decimal result that does not fit 96 bits, at the given rule location.
    DecimalOverflow(&'static str),
}

/// `bill_rate(role, region, tier)`, hit first (rates.canon).
fn bill_rate(role: Role, region: Region, tier: Tier) -> (Decimal, Currency) {
    use Region::*;
    use Role::*;
    let strategic = tier == Tier::Strategic;
    let (cents, ccy) = match (role, region) {
        (Partner, _) if strategic => (52000, Currency::USD),
        (Partner, _) => (48000, Currency::USD),
        (Principal, EU) if strategic => (33000, Currency::EUR),
        (Principal, EU) => (31000, Currency::EUR),
        (Principal, UK) => (28000, Currency::GBP),
        (Principal, _) => (35000, Currency::USD),
        (Senior, EU) if strategic => (23500, Currency::EUR),
        (Senior, EU) => (22000, Currency::EUR),
        (Senior, UK) => (19500, Currency::GBP),
        (Senior, APAC) => (24000, Currency::USD),
        (Senior, _) => (26000, Currency::USD),
        (Associate, EU) => (14000, Currency::EUR),
        (Associate, UK) => (12500, Currency::GBP),
        (Associate, _) if strategic => (17000, Currency::USD),
        (Associate, _) => (16000, Currency::USD),
    };
    (Decimal::new(cents, 2), ccy)
}

/// `cost_rate(role, kind)`, in USD (rates.canon).
fn cost_rate(role: Role, kind: WorkerKind) -> Decimal {
    use Role::*;
    use WorkerKind::*;
    let cents = match (role, kind) {
        (Associate, Employee) => 5500,
        (Associate, Contractor) => 7500,
        (Senior, Employee) => 8500,
        (Senior, Contractor) => 11000,
        (Principal, Employee) => 12000,
        (Principal, Contractor) => 15000,
        (Partner, _) => 20000,
    };
    Decimal::new(cents, 2)
}

/// Rounds half-even to exactly 2 places (`round(x, 2)`: a smaller scale is
/// raised), `None` when the coefficient would not fit.
fn round2(x: Decimal) -> Option<Decimal> {
    let mut r = x.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    if r.scale() < 2 {
        let raised = r.mantissa().checked_mul(10i128.pow(2 - r.scale()))?;
        r = Decimal::try_from_i128_with_scale(raised, 2).ok()?;
    }
    if r.is_zero() {
        r.set_sign_positive(true);
    }
    Some(r)
}

/// Evaluates timesheets and writes outcomes. Holds the reference data and a
/// scratch list of rejections reused from event to event.
pub struct Rules<'t> {
    tables: &'t Tables,
    rejects: Vec<Reject>,
}

/// The amounts of what the event emits (if nothing was rejected).
struct Emits {
    amount: Decimal,
    payable: Option<Decimal>,
}

impl<'t> Rules<'t> {
    pub fn new(tables: &'t Tables) -> Rules<'t> {
        Rules { tables, rejects: Vec::with_capacity(8) }
    }

    /// Runs the handler on one event and appends its outcome line (no newline).
    pub fn run(&mut self, out: &mut Vec<u8>, line: u64, meta: &Meta<'_>, t: &Timesheet<'_>) {
        self.rejects.clear();
        let (project, emits) = self.evaluate(t);
        let accepted = self.rejects.is_empty();
        head(out, line, meta, if accepted { "accepted" } else { "rejected" });
        if let (true, Some(project), Some(e)) = (accepted, project, &emits) {
            write_emits(out, meta, t, project, e);
        }
        out.extend_from_slice(b"],\"rejections\":[");
        for (i, r) in self.rejects.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_reject(out, *r, t, project);
        }
        out.extend_from_slice(b"]}");
    }

    /// The rules; rejections go to `self.rejects`. Gives the project (when
    /// found) and the amounts when the handler reached its emits.
    fn evaluate(&mut self, t: &Timesheet<'_>) -> (Option<&'t Project>, Option<Emits>) {
        // Rule 1: 0 < hours <= 24.
        if !(t.hours > Decimal::ZERO && t.hours <= Decimal::from(24)) {
            self.rejects.push(Reject::HoursOutOfRange);
        }
        // Rule 2: the work date is not after the approval's UTC date.
        if t.work_date > t.approved_on {
            self.rejects.push(Reject::FutureWorkDate);
        }
        // Rule 3: the project exists (else stop).
        let Some(project) = self.tables.projects.get(t.project_code.as_ref()) else {
            self.rejects.push(Reject::UnknownProject);
            return (None, None);
        };
        // Rule 4: it is open.
        if project.status != ProjectStatus::Open {
            self.rejects.push(Reject::ProjectNotOpen);
        }
        // Rule 5: billable time names a task.
        if project.billable && !t.has_task {
            self.rejects.push(Reject::TaskRequired);
        }
        // Rule 6: price, converting into the project's currency (a missing or
        // non-positive rate stops the event), rounded once, half-even.
        let (rate, rate_ccy) = if project.billable {
            bill_rate(t.role, t.region, project.tier)
        } else {
            (cost_rate(t.role, t.kind), Currency::USD)
        };
        let fx = if rate_ccy == project.currency {
            None
        } else {
            let fx = self.tables.fx.get(&(rate_ccy, project.currency)).copied().unwrap_or(Decimal::ZERO);
            if fx <= Decimal::ZERO {
                self.rejects.push(Reject::NoFxRate(rate_ccy));
                return (Some(project), None);
            }
            Some(fx)
        };
        let amount = rate.checked_mul(t.hours).and_then(|a| match fx {
            Some(fx) => a.checked_mul(fx),
            None => Some(a),
        });
        let Some(amount) = amount.and_then(round2) else {
            self.rejects.push(Reject::DecimalOverflow(at::LINE_AMOUNT));
            return (Some(project), None);
        };
        // Rule 8: contractors are paid their cost rate, in USD.
        let payable = if t.kind == WorkerKind::Contractor {
            match cost_rate(t.role, t.kind).checked_mul(t.hours).and_then(round2) {
                Some(p) => Some(p),
                None => {
                    self.rejects.push(Reject::DecimalOverflow(at::PAYABLE_AMOUNT));
                    return (Some(project), None);
                }
            }
        } else {
            None
        };
        (Some(project), Some(Emits { amount, payable }))
    }
}

/// `{"line":..,"id":..,"type":..,"correlation_id":..,"status":"..","emits":[`
fn head(out: &mut Vec<u8>, line: u64, meta: &Meta<'_>, status: &str) {
    out.extend_from_slice(b"{\"line\":");
    json::uint(out, line);
    out.extend_from_slice(b",\"id\":");
    json::string(out, &meta.id);
    out.extend_from_slice(b",\"type\":");
    json::string(out, &meta.event_type);
    out.extend_from_slice(b",\"correlation_id\":");
    json::opt_string(out, meta.correlation_id.as_deref());
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(status.as_bytes());
    out.extend_from_slice(b"\",\"emits\":[");
}

fn money(out: &mut Vec<u8>, amount: &Decimal, ccy: Currency) {
    out.extend_from_slice(b"{\"amount\":\"");
    json::decimal(out, amount);
    out.extend_from_slice(b"\",\"currency\":\"");
    out.extend_from_slice(ccy.as_bytes());
    out.extend_from_slice(b"\"}");
}

/// Rules 7 and 8: the journal line, and the contractor payable.
fn write_emits(out: &mut Vec<u8>, meta: &Meta<'_>, t: &Timesheet<'_>, p: &Project, e: &Emits) {
    out.extend_from_slice(b"{\"destination\":\"erp_posting\",\"record\":{\"journalId\":\"JE-");
    json::escaped(out, &t.timesheet_id);
    out.extend_from_slice(b"\",\"entity\":");
    json::string(out, &p.entity);
    out.extend_from_slice(if p.billable {
        b",\"account\":\"4000-REVENUE\",\"costCenter\":"
    } else {
        b",\"account\":\"6100-NONBILLABLE\",\"costCenter\":"
    });
    json::string(out, &t.cost_center);
    out.extend_from_slice(b",\"project\":");
    json::string(out, &t.project_code);
    out.extend_from_slice(b",\"workDate\":\"");
    json::date(out, t.work_date);
    out.extend_from_slice(b"\",\"hours\":\"");
    json::decimal(out, &t.hours);
    out.extend_from_slice(b"\",\"amount\":");
    money(out, &e.amount, p.currency);
    out.extend_from_slice(b",\"correlationId\":");
    json::string(out, meta.correlation_id.as_deref().unwrap_or(&meta.id));
    out.extend_from_slice(b"}}");
    if let Some(payable) = &e.payable {
        out.extend_from_slice(b",{\"destination\":\"payroll_staging\",\"record\":{\"employeeId\":");
        json::string(out, &t.employee_id);
        out.extend_from_slice(b",\"periodStart\":\"");
        json::date(out, t.work_date.start_of_month());
        out.extend_from_slice(b"\",\"hours\":\"");
        json::decimal(out, &t.hours);
        out.extend_from_slice(b"\",\"amount\":");
        money(out, payable, Currency::USD);
        out.extend_from_slice(b"}}");
    }
}

fn write_reject(out: &mut Vec<u8>, r: Reject, t: &Timesheet<'_>, project: Option<&Project>) {
    let code = project.map(|p| p.code.as_str()).unwrap_or("");
    let (reject_code, at) = match r {
        Reject::HoursOutOfRange => ("HOURS_OUT_OF_RANGE", at::HOURS_OUT_OF_RANGE),
        Reject::FutureWorkDate => ("FUTURE_WORK_DATE", at::FUTURE_WORK_DATE),
        Reject::UnknownProject => ("UNKNOWN_PROJECT", at::UNKNOWN_PROJECT),
        Reject::ProjectNotOpen => ("PROJECT_NOT_OPEN", at::PROJECT_NOT_OPEN),
        Reject::TaskRequired => ("TASK_REQUIRED", at::TASK_REQUIRED),
        Reject::NoFxRate(_) => ("NO_FX_RATE", at::NO_FX_RATE),
        Reject::DecimalOverflow(at) => ("DECIMAL_OVERFLOW", at),
    };
    out.extend_from_slice(b"{\"code\":\"");
    out.extend_from_slice(reject_code.as_bytes());
    out.extend_from_slice(b"\",\"message\":\"");
    match r {
        Reject::HoursOutOfRange => {
            out.extend_from_slice(b"hours must be in (0, 24], got ");
            json::decimal(out, &t.hours);
        }
        Reject::FutureWorkDate => {
            out.extend_from_slice(b"work date ");
            json::date(out, t.work_date);
            out.extend_from_slice(b" is after the approval date ");
            json::date(out, t.approved_on);
            out.extend_from_slice(b" (UTC)");
        }
        Reject::UnknownProject => {
            out.extend_from_slice(b"project ");
            json::escaped(out, &t.project_code);
            out.extend_from_slice(b" is not in the projects table");
        }
        Reject::ProjectNotOpen => {
            out.extend_from_slice(b"project ");
            json::escaped(out, code);
            out.extend_from_slice(b" is ");
            out.extend_from_slice(project.map(|p| p.status.wire()).unwrap_or("").as_bytes());
            out.extend_from_slice(b"; time can only be posted to OPEN projects");
        }
        Reject::TaskRequired => {
            out.extend_from_slice(b"project ");
            json::escaped(out, code);
            out.extend_from_slice(b" is billable, so timesheet ");
            json::escaped(out, &t.timesheet_id);
            out.extend_from_slice(b" needs a task");
        }
        Reject::NoFxRate(from) => {
            out.extend_from_slice(b"no FX rate from ");
            out.extend_from_slice(from.as_bytes());
            out.extend_from_slice(b" to ");
            out.extend_from_slice(project.map(|p| p.currency.as_bytes()).unwrap_or(b""));
            out.extend_from_slice(b" for project ");
            json::escaped(out, code);
        }
        Reject::DecimalOverflow(at) => {
            out.extend_from_slice(b"decimal overflow: the result does not fit a 96-bit coefficient at ");
            out.extend_from_slice(at.as_bytes());
        }
    }
    out.extend_from_slice(b"\",\"at\":\"");
    out.extend_from_slice(at.as_bytes());
    out.extend_from_slice(b"\"}");
}

/// The outcome of an event whose `data` does not fit the schema.
pub fn write_violation(out: &mut Vec<u8>, line: u64, meta: &Meta<'_>, e: &SchemaError) {
    head(out, line, meta, "rejected");
    out.extend_from_slice(b"],\"rejections\":[{\"code\":\"SCHEMA_VIOLATION\",\"message\":\"");
    json::escaped(out, &e.path);
    out.extend_from_slice(b": ");
    json::escaped(out, &e.message);
    out.extend_from_slice(b"\",\"at\":\"");
    out.extend_from_slice(at::EVENT.as_bytes());
    out.extend_from_slice(b"\",\"path\":");
    json::string(out, &e.path);
    out.extend_from_slice(b"}]}");
}

/// The outcome of an event no handler takes.
pub fn write_ignored(out: &mut Vec<u8>, line: u64, meta: &Meta<'_>) {
    head(out, line, meta, "ignored");
    out.extend_from_slice(b"],\"rejections\":[]}");
}

/// The outcome of a line that is not a valid CloudEvent.
pub fn write_invalid(out: &mut Vec<u8>, line: u64, id: Option<&str>, event_type: Option<&str>, message: &str) {
    out.extend_from_slice(b"{\"line\":");
    json::uint(out, line);
    out.extend_from_slice(b",\"id\":");
    json::opt_string(out, id);
    out.extend_from_slice(b",\"type\":");
    json::opt_string(out, event_type);
    out.extend_from_slice(b",\"correlation_id\":null,\"status\":\"invalid\",\"emits\":[],\"rejections\":[{\"code\":\"INVALID_ENVELOPE\",\"message\":");
    json::string(out, message);
    out.extend_from_slice(b",\"at\":null}]}");
}
