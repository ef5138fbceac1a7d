#!/usr/bin/env python3
"""Generate a timesheet lifecycle workload (examples/timesheets/README.md,
"The lifecycle: state across events"): DIR/events.jsonl and DIR/data/.

    scripts/lifecycle_gen.py --events N [--seed S] --out DIR

The approvals and the reference data are the bench stream's
(bench/workload/gen.py): the same `data` objects, the same projects and
exchange rates. Around each approval the generator writes that timesheet's
life: submissions (some turned down by a manager and resubmitted), duplicate
approvals, the ERP's acknowledgements (late, out of order, some twice, some
never), chains of adjustments, invoices (some twice, some on another
invoice), reversals (some after invoicing, some twice), events for unknown
timesheets and journal ids, a few malformed events and lines, and a few
events of a type no handler takes.

Deterministic for (N, seed): each timesheet's life comes from its own random
stream, the events of all timesheets are sorted by time, and the first N are
written, numbered `evt-1` .. `evt-N` in that order. The generator keeps its
own small model of what a correct implementation sends (which journal lines
exist) so that acknowledgements name real journal ids; it never decides an
outcome (scripts/lifecycle_reference.py does).
"""
import argparse
import csv
import datetime as dt
import json
import math
import os
import random
import sys
from decimal import Decimal as D

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench", "workload"))
import gen  # noqa: E402  (the bench generator: approvals and reference data)
import reference  # noqa: E402  (the bench oracle: whether an approval posts)

TRACK = "urn:acme:timetrack"
ERP = "urn:acme:erp"
T = "com.acme.timesheet."
HOUR = dt.timedelta(hours=1)
IN_RANGE = (D(0), D(24))


def ts_text(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def quarter_hours(r, low=1, high=48):
    q = r.randrange(low, high + 1)
    return D(q) / D(4)


def hours_value(r, value):
    """A valid hours value in one of the shapes a platform sends: mostly
    `7.50`, sometimes `7.5` or `8`, `7.500`, or a JSON number (a tuple the
    encoder writes unquoted)."""
    x = r.random()
    if x < 0.70:
        return format(value.quantize(D("0.01")), "f")
    if x < 0.85:
        return format(value.normalize(), "f")
    if x < 0.90:
        return format(value.quantize(D("0.001")), "f")
    if x < 0.97:
        return ("NUM", format(value.normalize(), "f"))
    # A JSON number with an exponent: 7.5 as 75E-1, 7.50e0 or 0.75E+1.
    digits = value.quantize(D("0.01"))
    return ("NUM", r.choice(["%sE-2" % format(digits * 100, "f").split(".")[0],
                             "%se0" % format(digits, "f"),
                             "%sE+1" % format(digits / 10, "f")]))


class Event:
    __slots__ = ("at", "k", "seq", "type", "source", "data", "time", "corr", "raw")

    def __init__(self, at, k, seq, type_, data, source=TRACK, corr="yes", time=None, raw=None):
        self.at, self.k, self.seq = at, k, seq
        self.type, self.source, self.data = type_, source, data
        self.time = time if time is not None else ts_text(at)
        self.corr = corr  # "yes" (corr-N), "none" (absent), "empty" (""), "null"
        self.raw = raw    # a malformed line, written as is


def corr_kind(r):
    x = r.random()
    return "yes" if x < 0.92 else ("none" if x < 0.97 else ("empty" if x < 0.99 else "null"))


class Life:
    """One timesheet's events, with the generator's model of its record."""

    def __init__(self, k, r):
        self.k, self.r = k, r
        self.events = []
        self.seq = 0
        self.status = None
        self.hours = None
        self.revision = 0
        self.invoice = None
        self.sent = []  # journal ids sent, in order

    def add(self, at, type_, data, **kw):
        self.seq += 1
        kw.setdefault("corr", corr_kind(self.r))
        self.events.append(Event(at, self.k, self.seq, T + type_, data, **kw))

    def ack(self, at, journal_id):
        """Schedule the ERP's acknowledgement of a line sent at `at`: mostly
        within hours, some days late, a few never; a few twice."""
        r = self.r
        x = r.random()
        if x < 0.03:
            return
        if x < 0.70:
            delay = dt.timedelta(minutes=r.randrange(5, 12 * 60))
        elif x < 0.90:
            delay = dt.timedelta(minutes=r.randrange(12 * 60, 3 * 24 * 60))
        else:
            delay = dt.timedelta(minutes=r.randrange(3 * 24 * 60, 12 * 24 * 60))
        self.add(at + delay, "posted", {"journalId": journal_id}, source=ERP)
        if r.random() < 0.06:
            self.add(at + delay + dt.timedelta(minutes=r.randrange(1, 3 * 24 * 60)), "posted",
                     {"journalId": journal_id}, source=ERP)


def submission_hours(r, approved_hours):
    h = D(approved_hours)
    if not IN_RANGE[0] < h <= IN_RANGE[1]:
        h = quarter_hours(r)
    elif r.random() < 0.2:
        h = quarter_hours(r)
    return h


def hours_field(r, value):
    return hours_value(r, value)


def life_of(k, approval, accepted, seed):
    """The events of timesheet k around its approval (a gen.py event)."""
    r = random.Random(seed * 1000003 + k * 7919 + 17)
    life = Life(k, r)
    d = approval["data"]
    tid = d["timesheetId"]
    t_a = parse_ts(d["approvedAt"])
    approve = True

    def submit(at, h):
        life.add(at, "submitted", {"timesheetId": tid, "hours": hours_field(r, h), "submittedAt": ts_text(at)})
        if life.status in (None, "Submitted", "Rejected"):
            life.status, life.hours = "Submitted", h

    def manager_reject(at):
        life.add(at, "rejected", {"timesheetId": tid, "rejectedBy": "M-%03d" % r.randrange(1, 200),
                                  "reason": r.choice(["wrong project", "hours too high", "missing task"])})
        if life.status == "Submitted":
            life.status = "Rejected"

    # Before the approval.
    x = r.random()
    if x < 0.50:
        submit(t_a - dt.timedelta(minutes=r.randrange(120, 4 * 24 * 60)), submission_hours(r, d["hours"]))
    elif x < 0.58:  # turned down, resubmitted, approved
        t0 = t_a - dt.timedelta(minutes=r.randrange(3 * 24 * 60, 6 * 24 * 60))
        submit(t0, quarter_hours(r))
        manager_reject(t0 + dt.timedelta(minutes=r.randrange(30, 24 * 60)))
        submit(t_a - dt.timedelta(minutes=r.randrange(60, 36 * 60)), submission_hours(r, d["hours"]))
    elif x < 0.61:  # turned down, then approved all the same
        t0 = t_a - dt.timedelta(minutes=r.randrange(2 * 24 * 60, 4 * 24 * 60))
        submit(t0, submission_hours(r, d["hours"]))
        manager_reject(t0 + dt.timedelta(minutes=r.randrange(30, 24 * 60)))
        if r.random() < 0.3:
            manager_reject(t0 + dt.timedelta(minutes=r.randrange(24 * 60, 40 * 60)))
    elif x < 0.64:  # submitted, never approved
        submit(t_a - dt.timedelta(minutes=r.randrange(60, 2 * 24 * 60)), submission_hours(r, d["hours"]))
        approve = False
        if r.random() < 0.4:
            manager_reject(t_a + dt.timedelta(minutes=r.randrange(30, 24 * 60)))
            if r.random() < 0.3:
                submit(t_a + dt.timedelta(minutes=r.randrange(25 * 60, 3 * 24 * 60)), quarter_hours(r))
    # else: approved with no submission, as in the bench stream

    # Things that happen after the approval, sorted by time and then applied
    # to the model in that order.
    plan = []
    if approve:
        plan.append((t_a, "approve"))
        if r.random() < 0.04:
            plan.append((t_a + dt.timedelta(minutes=r.randrange(1, 2 * 24 * 60)), "approve-again"))
    if r.random() < 0.18:
        t = t_a
        chain = r.choice([1, 1, 1, 2, 2, 3]) if r.random() < 0.95 else r.randrange(8, 13)
        for _ in range(chain):
            t = t + dt.timedelta(minutes=r.randrange(20, 4 * 24 * 60))
            plan.append((t, "adjust"))
    t_inv = None
    if r.random() < 0.55:
        t_inv = t_a + dt.timedelta(minutes=r.randrange(24 * 60, 20 * 24 * 60))
        plan.append((t_inv, "invoice"))
        y = r.random()
        if y < 0.05:
            plan.append((t_inv + dt.timedelta(minutes=r.randrange(10, 5 * 24 * 60)), "invoice-again"))
        elif y < 0.07:
            plan.append((t_inv + dt.timedelta(minutes=r.randrange(10, 5 * 24 * 60)), "invoice-other"))
        if r.random() < 0.06:
            plan.append((t_inv + dt.timedelta(minutes=r.randrange(10, 6 * 24 * 60)), "adjust"))
    if r.random() < 0.07:
        t_rev = t_a + dt.timedelta(minutes=r.randrange(60, 25 * 24 * 60))
        plan.append((t_rev, "reverse"))
        if r.random() < 0.15:
            plan.append((t_rev + dt.timedelta(minutes=r.randrange(5, 3 * 24 * 60)), "reverse"))
        if r.random() < 0.35:
            plan.append((t_rev + dt.timedelta(minutes=r.randrange(5, 5 * 24 * 60)),
                         r.choice(["approve-again", "adjust", "invoice", "submit", "manager-reject"])))
    if r.random() < 0.01:
        plan.append((t_a + dt.timedelta(minutes=r.randrange(10, 5 * 24 * 60)), "manager-reject"))
    if r.random() < 0.01:
        plan.append((t_a + dt.timedelta(minutes=r.randrange(10, 5 * 24 * 60)), "submit"))
    if r.random() < 0.004:
        plan.append((t_a + dt.timedelta(minutes=r.randrange(10, 5 * 24 * 60)), "bad-hours"))
    if r.random() < 0.002:
        plan.append((t_a + dt.timedelta(minutes=r.randrange(-3 * 24 * 60, 5 * 24 * 60)), "bad-line"))
    if r.random() < 0.002:
        plan.append((t_a + dt.timedelta(minutes=r.randrange(-3 * 24 * 60, 5 * 24 * 60)), "odd-id"))
    if r.random() < 0.001:
        plan.append((t_a + dt.timedelta(minutes=r.randrange(-3 * 24 * 60, 5 * 24 * 60)), "no-journal-id"))
    if r.random() < 0.003:
        plan.append((t_a + dt.timedelta(minutes=r.randrange(-3 * 24 * 60, 5 * 24 * 60)), "other-type"))
    if r.random() < 0.006:
        plan.append((t_a + dt.timedelta(minutes=r.randrange(-3 * 24 * 60, 10 * 24 * 60)), "unknown-timesheet"))
    if r.random() < 0.006:
        plan.append((t_a + dt.timedelta(minutes=r.randrange(-3 * 24 * 60, 10 * 24 * 60)), "unknown-journal"))
    if not accepted:
        # The approval posts nothing: keep only a few of its follow-ups.
        plan = [p for p in plan if p[1] == "approve" or r.random() < 0.3]
    plan.sort(key=lambda p: p[0])

    invoice_no = 0
    for at, what in plan:
        if what in ("approve", "approve-again"):
            copy = json.loads(json.dumps(approval))
            life.seq += 1
            life.events.append(Event(at, k, life.seq, copy["type"], copy["data"], time=copy["time"], corr="yes"))
            if life.status in (None, "Submitted", "Rejected") and accepted:
                life.status, life.hours, life.revision = "Approved", D(d["hours"]), 1
                life.sent.append("JE-" + tid)
                life.ack(at, "JE-" + tid)
        elif what == "adjust":
            y = r.random()
            if y < 0.08 and life.hours is not None:
                new = life.hours  # the same hours, maybe written differently
            elif y < 0.12:
                new = r.choice([D("0"), D("-1.00"), D("24.25"), D("30")])
            elif y < 0.14:
                # minutes, not quarter hours: up to six decimals
                new = (quarter_hours(r) + D(r.randrange(1, 250000)) / D(1000000)).normalize()
                if new == new.to_integral():
                    new = new.quantize(D(1))
            else:
                new = quarter_hours(r)
            life.add(at, "adjusted", {"timesheetId": tid, "hours": hours_field(r, new),
                                      "adjustedBy": "M-%03d" % r.randrange(1, 200)})
            if (life.status == "Approved" and life.invoice is None and IN_RANGE[0] < new <= IN_RANGE[1]
                    and new != life.hours):
                life.revision += 1
                life.hours = new
                jid = "JE-%s-R%d" % (tid, life.revision)
                life.sent.append(jid)
                life.ack(at, jid)
        elif what in ("invoice", "invoice-again", "invoice-other"):
            if what != "invoice-again" or invoice_no == 0:
                invoice_no += 1
            inv = "INV-%07d-%d" % (k, invoice_no)
            life.add(at, "invoiced", {"timesheetId": tid, "invoiceId": inv})
            if life.status == "Approved" and life.invoice is None:
                life.invoice = inv
        elif what == "reverse":
            life.add(at, "reversed", {"timesheetId": tid,
                                      "reason": r.choice(["booked twice", "wrong client", "employee left"])})
            if life.status == "Approved" and life.invoice is None:
                life.status = "Reversed"
                life.revision += 1
                jid = "JE-%s-X" % tid
                life.sent.append(jid)
                life.ack(at, jid)
        elif what == "submit":
            submit(at, quarter_hours(r))
        elif what == "manager-reject":
            manager_reject(at)
        elif what == "odd-id":
            # A timesheet id JSON must escape, or that sorts apart: kept as a
            # submission (never approved: it is not in the bench stream).
            odd = r.choice(['TS-"%d"', "TS-\\%d", "TS-\u00e9-%d", "ts-%d", "TS %d", "TS-%d\u2603"]) % k
            life.add(at, "submitted", {"timesheetId": odd, "hours": hours_field(r, quarter_hours(r)),
                                       "submittedAt": ts_text(at)})
            if r.random() < 0.5:
                life.add(at + HOUR, "rejected", {"timesheetId": odd, "rejectedBy": "M-004", "reason": "odd"})
        elif what == "no-journal-id":
            life.add(at, "posted", r.choice([{}, {"journalId": None}, {"journalId": 42}]), source=ERP)
        elif what == "bad-hours":
            bad = r.choice(["seven", "7,5", "7.5.0", True, "", None])
            if r.random() < 0.5:
                life.add(at, "adjusted", {"timesheetId": tid, "hours": bad, "adjustedBy": "M-001"})
            else:
                life.add(at, "submitted", {"timesheetId": tid, "hours": bad, "submittedAt": ts_text(at)})
        elif what == "bad-line":
            life.seq += 1
            # Each different: the durable pipeline would take the same
            # invalid line again as a duplicate (RUNTIME.md §2).
            life.events.append(Event(at, k, life.seq, None, None, raw=r.choice([
                '{"specversion":"1.0","id":"evt-broken-%d","source":"urn:acme:timetrack",'
                '"type":"com.acme.timesheet.posted","data":{"journalId":"JE-' % k,
                'not json at all (%d)' % k,
                '{"specversion":"1.0","id":%d' % k,
            ])))
        elif what == "other-type":
            life.add(at, "commented", {"timesheetId": tid, "text": "please check the task"})
        elif what == "unknown-timesheet":
            other = "TS-9%07d" % r.randrange(0, 10000000)
            kind = r.choice(["rejected", "adjusted", "invoiced", "reversed"])
            data = {"timesheetId": other}
            if kind == "rejected":
                data.update(rejectedBy="M-002", reason="unknown")
            elif kind == "adjusted":
                data.update(hours=hours_field(r, quarter_hours(r)), adjustedBy="M-003")
            elif kind == "invoiced":
                data.update(invoiceId="INV-9%06d" % r.randrange(0, 1000000))
            else:
                data.update(reason="unknown")
            life.add(at, kind, data)
        elif what == "unknown-journal":
            jid = r.choice(["JE-TS-9%07d" % r.randrange(0, 10000000), "JE-%s-R9" % tid, "JE-%s-R0" % tid,
                            "JE-%s" % tid.lower()])
            life.add(at, "posted", {"journalId": jid}, source=ERP)
    return life.events


def encode(n, e):
    if e.raw is not None:
        return e.raw
    ev = {"specversion": "1.0", "id": "evt-%d" % n, "source": e.source, "type": e.type, "time": e.time}
    if e.corr == "yes":
        ev["correlationid"] = "corr-%d" % n
    elif e.corr == "empty":
        ev["correlationid"] = ""
    elif e.corr == "null":
        ev["correlationid"] = None
    data = dict(e.data)
    number = None
    h = data.get("hours")
    if isinstance(h, tuple):
        number = h[1]
        data["hours"] = "\0HOURS\0"
    ev["data"] = data
    text = json.dumps(ev, separators=(",", ":"))
    if number is not None:
        text = text.replace('"\\u0000HOURS\\u0000"', number)
    return text


def load_reference_data(out):
    with open(os.path.join(out, "data", "projects.csv")) as f:
        projects = {r["code"]: r for r in csv.DictReader(f)}
    with open(os.path.join(out, "data", "fx.csv")) as f:
        fx = {(r["from"], r["to"]): D(r["rate"]) for r in csv.DictReader(f)}
    return projects, fx


def offset_time(k, approval, seed):
    """A few approvals carry their time with a UTC offset and fractional
    seconds (the same instant, give or take the fraction), as RFC 3339 allows."""
    r = random.Random(seed * 31 + k)
    if r.random() >= 0.005:
        return
    t = parse_ts(approval["data"]["approvedAt"])
    hours, minutes = r.choice([(2, 0), (-5, 0), (5, 30), (-9, 30)])
    zone = dt.timezone(dt.timedelta(hours=hours, minutes=minutes if hours > 0 else -minutes))
    text = t.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S") + r.choice(["", ".000", ".25", ".123456"])
    text += "%+03d:%02d" % (hours, minutes)
    approval["data"]["approvedAt"] = approval["time"] = text


def population(m, seed, projects, fx):
    events = []
    for k, approval in enumerate(gen.events(m, seed), 1):
        offset_time(k, approval, seed)
        accepted = reference.outcome(k, approval, projects, fx)["status"] == "accepted"
        events.extend(life_of(k, approval, accepted, seed))
    events.sort(key=lambda e: (e.at, e.k, e.seq))
    return events


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.events < 1:
        ap.error("--events must be at least 1")
    os.makedirs(a.out, exist_ok=True)
    gen.write_data(a.out, a.seed)
    projects, fx = load_reference_data(a.out)
    # About 4 events a timesheet: take just enough timesheets that the first
    # N events by time leave out only the latest few (acknowledgements and
    # invoices still to come at the end of the window).
    m = max(1, math.ceil(a.events / 4.0))
    while True:
        events = population(m, a.seed, projects, fx)
        if len(events) >= a.events:
            break
        m = max(m + 1, math.ceil(m * a.events * 1.01 / max(1, len(events))))
    with open(os.path.join(a.out, "events.jsonl"), "w") as f:
        for n, e in enumerate(events[:a.events], 1):
            f.write(encode(n, e) + "\n")


if __name__ == "__main__":
    main()
