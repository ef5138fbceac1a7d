#!/usr/bin/env python3
"""An independent implementation of the timesheet lifecycle, written from
examples/timesheets/README.md ("The lifecycle: state across events") alone,
with Python's decimal module. It prints one outcome line per input line as
`canon run` does (docs/spec/RUNTIME.md §2; rejections carry a code and a
message, no `at`), and can write the final state as a snapshot
(RUNTIME.md §7.1) and the four reconciliation metrics (RUNTIME.md §7.3).

    scripts/lifecycle_reference.py DIR [--state-out FILE] [--metrics FILE] [--as-of TIMESTAMP]

DIR holds events.jsonl and data/{projects.csv,fx.csv}. The first approval of
a timesheet is the eight rules of the bench oracle (bench/workload/reference.py),
imported as is.
"""
import argparse
import csv
import datetime as dt
import decimal
import json
import os
import re
import sys
from decimal import Decimal as D, ROUND_HALF_EVEN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench", "workload"))
import reference  # noqa: E402  (the eight rules, bill_rate, cost_rate)

# Exact arithmetic: with 200 digits no sum or product here is ever rounded;
# only `quantize` rounds, where a rule says so.
decimal.getcontext().prec = 200

T = "com.acme.timesheet."
ZERO = D(0)  # an Int 0 where a Decimal is expected: scale 0, "0"
CENTS = D("0.01")


class Reject(Exception):
    def __init__(self, code, message, **extra):
        super().__init__(code)
        self.rejection = {"code": code, "message": message}
        self.rejection.update(extra)


# ---------------------------------------------------------------- decoding

DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
TIMESTAMP_TEXT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z")


def exact(d):
    """A Decimal read from JSON text as Canon reads it: a positive exponent
    becomes scale 0 (`1.50E+3` is `1500`)."""
    if d.as_tuple().exponent > 0:
        d = d.quantize(D(1))
    return d


def as_decimal(value, path):
    if isinstance(value, bool) or value is None:
        raise Reject("SCHEMA_VIOLATION", "%s: expected a decimal number" % path, path=path)
    if isinstance(value, int):
        return D(value)
    if isinstance(value, D):
        return exact(value)
    if isinstance(value, str) and DECIMAL_TEXT.match(value):
        return exact(D(value))
    raise Reject("SCHEMA_VIOLATION", "%s: expected a decimal number" % path, path=path)


def as_text(value, path):
    if not isinstance(value, str):
        raise Reject("SCHEMA_VIOLATION", "%s: expected a string" % path, path=path)
    return value


def as_timestamp(value, path):
    if isinstance(value, str):
        m = TIMESTAMP_TEXT.match(value)
        if m:
            try:
                frac = (m.group(7) or ".")[1:7].ljust(6, "0")
                zone = m.group(8).upper()
                tz = dt.timezone.utc if zone == "Z" else dt.timezone(
                    (1 if zone[0] == "+" else -1) * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
                second = int(m.group(6))
                t = dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)),
                                int(m.group(5)), min(second, 59), int(frac), tzinfo=tz).astimezone(dt.timezone.utc)
                if second == 60:
                    t = t.replace(microsecond=999999)
                return t
            except ValueError:
                pass
    raise Reject("SCHEMA_VIOLATION", "%s: expected an RFC 3339 timestamp" % path, path=path)


def as_date(value, path):
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def as_employee(value, path):
    if not isinstance(value, dict):
        raise Reject("SCHEMA_VIOLATION", "%s: expected an object" % path, path=path)
    enums = {"role": ("Associate", "Senior", "Principal", "Partner"),
             "region": ("NA", "EU", "UK", "APAC"), "kind": ("Employee", "Contractor")}
    for key, v in value.items():
        if key in enums and v not in enums[key]:
            raise Reject("SCHEMA_VIOLATION", "%s/%s: not a variant" % (path, key), path="%s/%s" % (path, key))
        if key in ("id", "costCenter"):
            as_text(v, "%s/%s" % (path, key))
    for key in ("id", "role", "region", "kind", "costCenter"):
        if key not in value:
            raise Reject("SCHEMA_VIOLATION", "%s/%s: missing" % (path, key), path="%s/%s" % (path, key))
    return value


def as_opt_text(value, path):
    return None if value is None else as_text(value, path)


def as_workdate(value, path):
    if as_date(value, path) is None:
        raise Reject("SCHEMA_VIOLATION", "%s: expected a date" % path, path=path)
    return value


# The events' data, field by field in declaration order: wire key, decoder,
# required.
SCHEMAS = {
    "submitted": [("timesheetId", as_text, True), ("hours", as_decimal, True), ("submittedAt", as_timestamp, True)],
    "approved": [("timesheetId", as_text, True), ("employee", as_employee, True), ("projectCode", as_text, True),
                 ("task", as_opt_text, False), ("workDate", as_workdate, True), ("hours", as_decimal, True),
                 ("approvedBy", as_text, True), ("approvedAt", as_timestamp, True)],
    "rejected": [("timesheetId", as_text, True), ("rejectedBy", as_text, True), ("reason", as_text, True)],
    "adjusted": [("timesheetId", as_text, True), ("hours", as_decimal, True), ("adjustedBy", as_text, True)],
    "posted": [("journalId", as_text, True)],
    "invoiced": [("timesheetId", as_text, True), ("invoiceId", as_text, True)],
    "reversed": [("timesheetId", as_text, True), ("reason", as_text, True)],
}


def decode(kind, data):
    """The data of an event of this kind, or a SCHEMA_VIOLATION: keys in the
    order they appear, then missing required fields in declaration order."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Reject("SCHEMA_VIOLATION", "/data: expected an object", path="/data")
    fields = {key: (decoder, required) for key, decoder, required in SCHEMAS[kind]}
    out = {}
    for key, value in data.items():
        if key not in fields:
            continue
        decoder, required = fields[key]
        path = "/data/" + key
        if value is None and required:
            raise Reject("SCHEMA_VIOLATION", "%s: expected a value, found null" % path, path=path)
        out[key] = decoder(value, path)
    for key, _, required in SCHEMAS[kind]:
        if key not in out:
            if required:
                raise Reject("SCHEMA_VIOLATION", "/data/%s: missing" % key, path="/data/" + key)
            out[key] = None
    return out


# ---------------------------------------------------------------- output forms

def dec(d):
    """A Decimal as Canon writes it: its scale kept, a zero never negative."""
    if d.is_zero():
        d = d.copy_abs()
    return format(d, "f")


def money(amount, currency):
    return {"amount": dec(amount), "currency": currency}


def timestamp(t):
    s = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        s += (".%06d" % t.microsecond).rstrip("0")
    return s + "Z"


def shown(d):
    """A metric's value (LANGUAGE.md §4.6): no trailing zeros, at least two
    fractional digits."""
    d = d.normalize() if not d.is_zero() else ZERO
    if d.as_tuple().exponent > -2:
        d = d.quantize(CENTS)
    return dec(d)


def half_even(d):
    return d.quantize(CENTS, rounding=ROUND_HALF_EVEN)


# ---------------------------------------------------------------- the rules

class Lifecycle:
    def __init__(self, projects, fx):
        self.projects, self.fx = projects, fx
        # timesheet_id -> record (Decimals as Decimal, Money as (amount, ccy))
        self.timesheets = {}
        # journal_id -> record
        self.journals = {}

    # Each handler returns (emits, writes): writes are (state, key, record)
    # applied only when the event is accepted. A Reject stops it.

    def submitted(self, ev, d):
        tid = d["timesheetId"]
        s = self.timesheets.get(tid)
        if s is None:
            rec = {"timesheet_id": tid, "status": "Submitted", "hours": d["hours"], "entity": None,
                   "approved_at": None, "revision": 0, "sent_hours": ZERO, "sent_amount": None,
                   "posted_hours": ZERO, "unreclassified_hours": ZERO, "billed_hours": ZERO,
                   "invoice_id": None, "line": None, "unit_rate": None, "payable": None, "payroll_rate": None}
            return [], [("timesheets", tid, rec)]
        if s["status"] in ("Submitted", "Rejected"):
            return [], [("timesheets", tid, dict(s, hours=d["hours"], status="Submitted"))]
        raise Reject("TIMESHEET_LOCKED", "timesheet %s is %s and cannot be resubmitted" % (tid, s["status"]))

    def approved(self, n, ev, d):
        tid = d["timesheetId"]
        s = self.timesheets.get(tid)
        if s is not None and s["status"] == "Approved":
            return [], []
        if s is not None and s["status"] == "Reversed":
            raise Reject("TIMESHEET_REVERSED", "timesheet %s was reversed" % tid)
        out = reference.outcome(n, ev, self.projects, self.fx)
        if out["status"] != "accepted":
            raise RejectAll(out["rejections"])
        emits = out["emits"]
        line = emits[0]["record"]
        payable = emits[1]["record"] if len(emits) > 1 else None
        emp = d["employee"]
        p = self.projects[d["projectCode"]]
        if p["billable"] == "true":
            rate, ccy = reference.bill_rate(emp["role"], emp["region"], p["tier"])
        else:
            rate, ccy = reference.cost_rate(emp["role"], emp["kind"])
        if ccy != p["currency"]:
            rate = rate * self.fx[(ccy, p["currency"])]
        hours = d["hours"]
        amount = D(line["amount"]["amount"])
        rec = {"timesheet_id": tid, "status": "Approved", "hours": hours, "entity": p["entity"],
               "approved_at": d["approvedAt"], "revision": 1, "sent_hours": hours,
               "sent_amount": (amount, p["currency"]), "posted_hours": ZERO,
               "unreclassified_hours": s["unreclassified_hours"] if s else ZERO,
               "billed_hours": s["billed_hours"] if s else ZERO,
               "invoice_id": s["invoice_id"] if s else None,
               "line": line, "unit_rate": (rate, p["currency"]),
               "payable": None, "payroll_rate": None}
        if payable is not None:
            rec["payable"] = dict(payable)
            rec["payroll_rate"] = reference.cost_rate(emp["role"], emp["kind"])
        jid = line["journalId"]
        return emits, [("timesheets", tid, rec),
                       ("journals", jid, {"journal_id": jid, "timesheet_id": tid, "hours": hours,
                                          "adjustment": False, "acked": False})]

    def rejected(self, ev, d):
        tid = d["timesheetId"]
        s = self.timesheets.get(tid)
        if s is None:
            raise Reject("UNKNOWN_TIMESHEET", "no timesheet %s" % tid)
        if s["status"] == "Submitted":
            return [], [("timesheets", tid, dict(s, status="Rejected"))]
        if s["status"] == "Rejected":
            return [], []
        raise Reject("ALREADY_APPROVED", "timesheet %s is %s; take approved time back with a reversal"
                     % (tid, s["status"]))

    def approved_record(self, tid, verb):
        """The record of an approved, uninvoiced timesheet, or the rejection."""
        s = self.timesheets.get(tid)
        if s is None:
            raise Reject("UNKNOWN_TIMESHEET", "no timesheet %s" % tid)
        if s["status"] in ("Submitted", "Rejected"):
            raise Reject("NOT_APPROVED", "timesheet %s is %s, not approved" % (tid, s["status"]))
        if s["status"] == "Reversed":
            raise Reject("TIMESHEET_REVERSED", "timesheet %s was reversed" % tid)
        if verb is not None and s["invoice_id"] is not None:
            raise Reject("CREDIT_NOTE_REQUIRED", "timesheet %s is on invoice %s; %s it with a credit note"
                         % (tid, s["invoice_id"], verb))
        return s

    def line(self, s, journal_id, hours, amount, ev):
        rec = dict(s["line"])
        rec["journalId"] = journal_id
        rec["hours"] = dec(hours)
        rec["amount"] = money(amount, s["sent_amount"][1])
        rec["correlationId"] = ev["correlationid"] if ev.get("correlationid") is not None else ev["id"]
        return {"destination": "erp_posting", "record": rec}

    def payable_line(self, payable, hours, amount):
        return {"destination": "payroll_staging", "record": {
            "employeeId": payable["employeeId"], "periodStart": payable["periodStart"],
            "hours": dec(hours), "amount": money(amount, payable["amount"]["currency"])}}

    def adjusted(self, ev, d):
        tid = d["timesheetId"]
        s = self.approved_record(tid, "adjust")
        new = d["hours"]
        if not (new > 0 and new <= 24):
            raise Reject("HOURS_OUT_OF_RANGE", "hours must be in (0, 24], got %s" % dec(new))
        if new == s["hours"]:
            return [], []
        revision = s["revision"] + 1
        jid = "JE-%s-R%d" % (tid, revision)
        diff = new - s["sent_hours"]
        sent_amount, ccy = s["sent_amount"]
        amount = half_even(s["unit_rate"][0] * new) - sent_amount
        emits = [self.line(s, jid, diff, amount, ev)]
        rec = dict(s, hours=new, revision=revision, sent_hours=s["sent_hours"] + diff,
                   sent_amount=(sent_amount + amount, ccy),
                   unreclassified_hours=s["unreclassified_hours"] + abs(diff))
        p = s["payable"]
        if p is not None:
            p_hours, p_amount = D(p["hours"]), D(p["amount"]["amount"])
            ph = new - p_hours
            pa = half_even(s["payroll_rate"][0] * new) - p_amount
            emits.append(self.payable_line(p, ph, pa))
            rec["payable"] = dict(p, hours=dec(p_hours + ph), amount=money(p_amount + pa, p["amount"]["currency"]))
        return emits, [("timesheets", tid, rec),
                       ("journals", jid, {"journal_id": jid, "timesheet_id": tid, "hours": diff,
                                          "adjustment": True, "acked": False})]

    def posted(self, ev, d):
        jid = d["journalId"]
        j = self.journals.get(jid)
        if j is None:
            raise Reject("UNKNOWN_JOURNAL", "no journal line %s was sent" % jid)
        if j["acked"]:
            return [], []
        s = self.timesheets[j["timesheet_id"]]
        rec = dict(s, posted_hours=s["posted_hours"] + j["hours"])
        if j["adjustment"]:
            rec["unreclassified_hours"] = s["unreclassified_hours"] - abs(j["hours"])
        return [], [("journals", jid, dict(j, acked=True)), ("timesheets", s["timesheet_id"], rec)]

    def invoiced(self, ev, d):
        tid = d["timesheetId"]
        s = self.approved_record(tid, None)
        if s["invoice_id"] == d["invoiceId"]:
            return [], []
        if s["invoice_id"] is not None:
            raise Reject("ALREADY_INVOICED", "timesheet %s is already on invoice %s" % (tid, s["invoice_id"]))
        return [], [("timesheets", tid, dict(s, invoice_id=d["invoiceId"], billed_hours=s["posted_hours"]))]

    def reversed(self, ev, d):
        tid = d["timesheetId"]
        s = self.timesheets.get(tid)
        if s is not None and s["status"] == "Reversed":
            return [], []
        s = self.approved_record(tid, "reverse")
        jid = "JE-%s-X" % tid
        sent_amount, ccy = s["sent_amount"]
        hours, amount = -s["sent_hours"], -sent_amount
        emits = [self.line(s, jid, hours, amount, ev)]
        rec = dict(s, status="Reversed", revision=s["revision"] + 1, sent_hours=s["sent_hours"] + hours,
                   sent_amount=(sent_amount + amount, ccy))
        p = s["payable"]
        if p is not None:
            p_hours, p_amount = D(p["hours"]), D(p["amount"]["amount"])
            emits.append(self.payable_line(p, -p_hours, -p_amount))
            rec["payable"] = dict(p, hours=dec(p_hours + -p_hours),
                                  amount=money(p_amount + -p_amount, p["amount"]["currency"]))
        return emits, [("timesheets", tid, rec),
                       ("journals", jid, {"journal_id": jid, "timesheet_id": tid, "hours": hours,
                                          "adjustment": False, "acked": False})]

    # ------------------------------------------------------------ one line

    def handle(self, n, text):
        out = {"line": n, "id": None, "type": None, "correlation_id": None, "status": "invalid",
               "emits": [], "rejections": []}
        ev = envelope(text, out)
        if ev is None:
            return out
        kind = ev["type"][len(T):] if ev["type"].startswith(T) else None
        if kind not in SCHEMAS:
            out["status"] = "ignored"
            return out
        try:
            d = decode(kind, ev.get("data"))
            if kind == "approved":
                emits, writes = self.approved(n, ev, d)
            else:
                emits, writes = getattr(self, kind)(ev, d)
        except Reject as r:
            out["status"] = "rejected"
            out["rejections"] = [r.rejection]
            return out
        except RejectAll as r:
            out["status"] = "rejected"
            out["rejections"] = r.rejections
            return out
        out["status"] = "accepted"
        out["emits"] = emits
        for state, key, rec in writes:
            getattr(self, state)[key] = rec
        return out

    # ------------------------------------------------------------ state and metrics

    def snapshot(self):
        lines = []
        for key, rec in self.journals.items():
            lines.append(("journals", json.dumps([key], ensure_ascii=False), {
                "journal_id": rec["journal_id"], "timesheet_id": rec["timesheet_id"], "hours": dec(rec["hours"]),
                "adjustment": rec["adjustment"], "acked": rec["acked"]}))
        for key, s in self.timesheets.items():
            lines.append(("timesheets", json.dumps([key], ensure_ascii=False), {
                "timesheet_id": s["timesheet_id"], "status": s["status"], "hours": dec(s["hours"]),
                "entity": s["entity"],
                "approved_at": None if s["approved_at"] is None else timestamp(s["approved_at"]),
                "revision": s["revision"], "sent_hours": dec(s["sent_hours"]),
                "sent_amount": None if s["sent_amount"] is None else money(*s["sent_amount"]),
                "posted_hours": dec(s["posted_hours"]), "unreclassified_hours": dec(s["unreclassified_hours"]),
                "billed_hours": dec(s["billed_hours"]), "invoice_id": s["invoice_id"], "line": s["line"],
                "unit_rate": None if s["unit_rate"] is None else money(*s["unit_rate"]),
                "payable": s["payable"],
                "payroll_rate": None if s["payroll_rate"] is None else money(*s["payroll_rate"])}))
        lines.sort(key=lambda x: (x[0], x[1]))
        return "".join('{"state":%s,"key":%s,"record":%s}\n' % (
            json.dumps(state), key, json.dumps(rec, separators=(",", ":"), ensure_ascii=False))
            for state, key, rec in lines)

    def metrics(self, as_of):
        def metric(name, value, aged=False, keep=lambda s: True):
            if aged and as_of is None:
                return {"name": name, "groups": None}
            groups = {}
            for s in self.timesheets.values():
                if s["status"] != "Approved" or not keep(s):
                    continue
                if aged and not (s["approved_at"] is not None and as_of - s["approved_at"] > dt.timedelta(hours=48)):
                    continue
                groups[s["entity"]] = groups.get(s["entity"], ZERO) + value(s)
            return {"name": name, "groups": [{"by": {"entity": e}, "value": shown(v)}
                                             for e, v in sorted(groups.items(), key=lambda g: json.dumps(g[0]))]}

        return {"metrics": [
            metric("approved_not_posted_hours", lambda s: s["sent_hours"] - s["posted_hours"]),
            # Only billable time is ever invoiced (README: the billable projects' journal account).
            metric("posted_not_billed_hours", lambda s: s["posted_hours"] - s["billed_hours"],
                   keep=lambda s: s["line"] is not None and s["line"]["account"] == "4000-REVENUE"),
            metric("adjusted_not_reclassified_hours", lambda s: s["unreclassified_hours"]),
            metric("stale_approved_not_posted_hours", lambda s: s["sent_hours"] - s["posted_hours"], aged=True),
        ]}


class RejectAll(Exception):
    """The eight rules' rejections, as the bench oracle gives them."""

    def __init__(self, rejections):
        super().__init__("rejected")
        self.rejections = rejections


def no_repeats(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError("member %r appears twice" % k)
        seen[k] = v
    return seen


def envelope(text, out):
    """The parsed event, or None with `out` made an `invalid` outcome."""
    bad = {"code": "INVALID_ENVELOPE", "message": ""}
    try:
        ev = json.loads(text, parse_float=D, object_pairs_hook=no_repeats)
    except ValueError as e:
        bad["message"] = "the line is not a valid CloudEvents JSON object: %s" % e
        out["rejections"] = [bad]
        return None
    if not isinstance(ev, dict):
        bad["message"] = "the line is not a JSON object"
        out["rejections"] = [bad]
        return None
    for key in ("id", "type"):
        if isinstance(ev.get(key), str):
            out[key] = ev[key]
    problems = []
    if ev.get("specversion") != "1.0":
        problems.append("specversion must be \"1.0\"")
    for key in ("id", "source", "type"):
        if not isinstance(ev.get(key), str) or ev[key] == "":
            problems.append("%s must be a non-empty string" % key)
    if ev.get("correlationid") is not None and not isinstance(ev["correlationid"], str):
        problems.append("correlationid must be a string")
    if ev.get("time") is not None:
        try:
            as_timestamp(ev["time"], "/time")
        except Reject:
            problems.append("time must be an RFC 3339 timestamp")
    if problems:
        bad["message"] = "; ".join(problems)
        out["rejections"] = [bad]
        return None
    out["correlation_id"] = ev.get("correlationid")
    return ev


def load(root):
    with open(os.path.join(root, "data", "projects.csv"), newline="") as f:
        projects = {r["code"]: r for r in csv.DictReader(f)}
    with open(os.path.join(root, "data", "fx.csv"), newline="") as f:
        fx = {(r["from"], r["to"]): D(r["rate"]) for r in csv.DictReader(f)}
    return projects, fx


def main():
    ap = argparse.ArgumentParser(description="Reference outcomes, state and metrics of the timesheet lifecycle.")
    ap.add_argument("dir", help="holds events.jsonl and data/")
    ap.add_argument("--state-out", help="write the final state as a snapshot (RUNTIME.md §7.1)")
    ap.add_argument("--metrics", help="write the four metrics as JSON (RUNTIME.md §7.3)")
    ap.add_argument("--as-of", help="the instant the aged metric measures against (RFC 3339)")
    a = ap.parse_args()
    as_of = None
    if a.as_of is not None:
        try:
            as_of = as_timestamp(a.as_of, "--as-of")
        except Reject:
            ap.error("--as-of: not an RFC 3339 timestamp: %r" % a.as_of)
    try:
        life = Lifecycle(*load(a.dir))
        w = sys.stdout.write
        with open(os.path.join(a.dir, "events.jsonl"), "rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = "\0"  # not UTF-8: invalid
                if n == 1 and text.startswith("\ufeff"):
                    text = text[1:]
                text = text.rstrip("\n")
                if text.endswith("\r"):
                    text = text[:-1]
                if text.strip(" \t\r\n") == "":
                    continue
                w(json.dumps(life.handle(n, text), separators=(",", ":"), ensure_ascii=False) + "\n")
        if a.state_out:
            with open(a.state_out, "w", encoding="utf-8") as f:
                f.write(life.snapshot())
        if a.metrics:
            with open(a.metrics, "w", encoding="utf-8") as f:
                f.write(json.dumps(life.metrics(as_of), indent=2) + "\n")
    except (OSError, KeyError, csv.Error) as e:
        print("lifecycle_reference: %s" % e, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
