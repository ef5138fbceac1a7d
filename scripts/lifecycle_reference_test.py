#!/usr/bin/env python3
"""Worked examples of the timesheet lifecycle, computed by hand from
examples/timesheets/README.md, against scripts/lifecycle_reference.py.

    python3 scripts/lifecycle_reference_test.py
    python3 scripts/lifecycle_reference_test.py --write DIR   (the examples as events.jsonl and data/)

Each step is an event and what the README says must come of it; after the
steps, fields of the final state and the metrics. The numbers in the
comments are the hand computation.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

PROJECTS = """code,status,client,tier,billable,entity,currency
P-1,OPEN,C-001,Standard,true,DE01,EUR
P-2,OPEN,C-002,Standard,false,US01,USD
"""
FX = """from,to,rate
USD,EUR,0.9215
USD,GBP,0.7890
EUR,USD,1.0852
EUR,GBP,0.8563
GBP,USD,1.2674
GBP,EUR,1.1678
"""
SENIOR_EU_CONTRACTOR = {"id": "E1", "role": "Senior", "region": "EU", "kind": "Contractor", "costCenter": "CC-01"}
PARTNER_NA_EMPLOYEE = {"id": "E2", "role": "Partner", "region": "NA", "kind": "Employee", "costCenter": "CC-02"}
ASSOCIATE_UK_EMPLOYEE = {"id": "E3", "role": "Associate", "region": "UK", "kind": "Employee", "costCenter": "CC-03"}


def approval(tid, employee, project, hours, approved_at, work_date="2026-10-05"):
    return ("approved", {"timesheetId": tid, "employee": employee, "projectCode": project, "task": "T-1",
                         "workDate": work_date, "hours": hours, "approvedBy": "M-1", "approvedAt": approved_at})


def line(jid, entity, account, cc, project, hours, amount, ccy, corr, work_date="2026-10-05"):
    return {"destination": "erp_posting", "record": {
        "journalId": jid, "entity": entity, "account": account, "costCenter": cc, "project": project,
        "workDate": work_date, "hours": hours, "amount": {"amount": amount, "currency": ccy}, "correlationId": corr}}


def payable(emp, hours, amount):
    return {"destination": "payroll_staging", "record": {
        "employeeId": emp, "periodStart": "2026-10-01", "hours": hours,
        "amount": {"amount": amount, "currency": "USD"}}}


def ts1(jid, hours, amount, corr):
    return line(jid, "DE01", "4000-REVENUE", "CC-01", "P-1", hours, amount, "EUR", corr)


def ts2(jid, hours, amount, corr):
    return line(jid, "US01", "6100-NONBILLABLE", "CC-02", "P-2", hours, amount, "USD", corr)


def ts4(jid, hours, amount, corr):
    return line(jid, "DE01", "4000-REVENUE", "CC-03", "P-1", hours, amount, "EUR", corr)


OK = "accepted"
# (kind, data, correlationid ("" allowed, None absent), status, codes, emits or None for "don't check")
STEPS = [
    # TS-1: submitted, turned down, resubmitted, approved (Senior EU on a
    # billable EUR project: 220.00 EUR an hour; a contractor at 110.00 USD).
    (("submitted", {"timesheetId": "TS-1", "hours": "8", "submittedAt": "2026-10-05T18:00:00Z"}), "c", OK, [], []),
    (("rejected", {"timesheetId": "TS-1", "rejectedBy": "M-1", "reason": "too many"}), "c", OK, [], []),
    (("rejected", {"timesheetId": "TS-1", "rejectedBy": "M-1", "reason": "again"}), "c", OK, [], []),
    (("submitted", {"timesheetId": "TS-1", "hours": "7.50", "submittedAt": "2026-10-06T08:00:00Z"}), "c", OK, [], []),
    # 220.00 x 7.50 = 1650.00 EUR; 110.00 x 7.50 = 825.00 USD
    (approval("TS-1", SENIOR_EU_CONTRACTOR, "P-1", "7.50", "2026-10-06T10:00:00Z"), "c5", OK, [],
     [ts1("JE-TS-1", "7.50", "1650.00", "c5"), payable("E1", "7.50", "825.00")]),
    (approval("TS-1", SENIOR_EU_CONTRACTOR, "P-1", "7.50", "2026-10-06T10:00:00Z"), "c", OK, [], []),
    (("posted", {"journalId": "JE-TS-1"}), "c", OK, [], []),
    (("posted", {"journalId": "JE-TS-1"}), "c", OK, [], []),
    # 8 - 7.50 = 0.50; 220.00 x 8 = 1760.00, - 1650.00 = 110.00; payroll
    # 110.00 x 8 = 880.00, - 825.00 = 55.00. No correlationid: the event id.
    (("adjusted", {"timesheetId": "TS-1", "hours": "8", "adjustedBy": "M-1"}), None, OK, [],
     [ts1("JE-TS-1-R2", "0.50", "110.00", "evt-9"), payable("E1", "0.50", "55.00")]),
    (("adjusted", {"timesheetId": "TS-1", "hours": "8.0", "adjustedBy": "M-1"}), "c", OK, [], []),
    # 6.25 - 8.00 = -1.75; 220.00 x 6.25 = 1375.00, - 1760.00 = -385.00;
    # 110.00 x 6.25 = 687.50, - 880.00 = -192.50. An empty correlationid is kept.
    (("adjusted", {"timesheetId": "TS-1", "hours": "6.25", "adjustedBy": "M-1"}), "", OK, [],
     [ts1("JE-TS-1-R3", "-1.75", "-385.00", ""), payable("E1", "-1.75", "-192.50")]),
    (("posted", {"journalId": "JE-TS-1-R3"}), "c", OK, [], []),
    (("posted", {"journalId": "JE-TS-1-R9"}), "c", "rejected", ["UNKNOWN_JOURNAL"], []),
    (("adjusted", {"timesheetId": "TS-1", "hours": "25", "adjustedBy": "M-1"}), "c", "rejected",
     ["HOURS_OUT_OF_RANGE"], []),
    (("adjusted", {"timesheetId": "TS-1", "hours": "0", "adjustedBy": "M-1"}), "c", "rejected",
     ["HOURS_OUT_OF_RANGE"], []),
    (("invoiced", {"timesheetId": "TS-1", "invoiceId": "INV-1"}), "c", OK, [], []),
    (("invoiced", {"timesheetId": "TS-1", "invoiceId": "INV-1"}), "c", OK, [], []),
    (("invoiced", {"timesheetId": "TS-1", "invoiceId": "INV-2"}), "c", "rejected", ["ALREADY_INVOICED"], []),
    (("adjusted", {"timesheetId": "TS-1", "hours": "5", "adjustedBy": "M-1"}), "c", "rejected",
     ["CREDIT_NOTE_REQUIRED"], []),
    (("reversed", {"timesheetId": "TS-1", "reason": "r"}), "c", "rejected", ["CREDIT_NOTE_REQUIRED"], []),
    (("posted", {"journalId": "JE-TS-1-R2"}), "c", OK, [], []),
    # TS-2: approved with no submission (Partner, non-billable USD: 200.00),
    # then reversed, and everything after the reversal.
    (approval("TS-2", PARTNER_NA_EMPLOYEE, "P-2", "4.00", "2026-10-07T09:00:00Z"), "c22", OK, [],
     [ts2("JE-TS-2", "4.00", "800.00", "c22")]),
    (("reversed", {"timesheetId": "TS-2", "reason": "r"}), "c23", OK, [],
     [ts2("JE-TS-2-X", "-4.00", "-800.00", "c23")]),
    (("reversed", {"timesheetId": "TS-2", "reason": "r"}), "c", OK, [], []),
    (("adjusted", {"timesheetId": "TS-2", "hours": "5", "adjustedBy": "M-1"}), "c", "rejected",
     ["TIMESHEET_REVERSED"], []),
    (approval("TS-2", PARTNER_NA_EMPLOYEE, "P-2", "4.00", "2026-10-07T09:00:00Z"), "c", "rejected",
     ["TIMESHEET_REVERSED"], []),
    (("submitted", {"timesheetId": "TS-2", "hours": "4", "submittedAt": "2026-10-08T08:00:00Z"}), "c", "rejected",
     ["TIMESHEET_LOCKED"], []),
    (("rejected", {"timesheetId": "TS-2", "rejectedBy": "M-1", "reason": "x"}), "c", "rejected",
     ["ALREADY_APPROVED"], []),
    (("invoiced", {"timesheetId": "TS-2", "invoiceId": "INV-3"}), "c", "rejected", ["TIMESHEET_REVERSED"], []),
    (("posted", {"journalId": "JE-TS-2-X"}), "c", OK, [], []),
    # TS-3: unknown, then only submitted.
    (("invoiced", {"timesheetId": "TS-3", "invoiceId": "INV-4"}), "c", "rejected", ["UNKNOWN_TIMESHEET"], []),
    (("rejected", {"timesheetId": "TS-3", "rejectedBy": "M-1", "reason": "x"}), "c", "rejected",
     ["UNKNOWN_TIMESHEET"], []),
    (("submitted", {"timesheetId": "TS-3", "hours": "2", "submittedAt": "2026-10-08T08:00:00Z"}), "c", OK, [], []),
    (("invoiced", {"timesheetId": "TS-3", "invoiceId": "INV-4"}), "c", "rejected", ["NOT_APPROVED"], []),
    (("reversed", {"timesheetId": "TS-3", "reason": "r"}), "c", "rejected", ["NOT_APPROVED"], []),
    (("adjusted", {"timesheetId": "TS-3", "hours": "3", "adjustedBy": "M-1"}), "c", "rejected", ["NOT_APPROVED"], []),
    (("submitted", {"timesheetId": "TS-3", "hours": "seven", "submittedAt": "2026-10-08T08:00:00Z"}), "c",
     "rejected", ["SCHEMA_VIOLATION"], []),
    # TS-4: a GBP rate on a EUR project: 125.00 x 1.1678 = 145.975000 EUR an
    # hour; 3.00 h = 437.925 -> 437.92 (half-even); 5 h = 729.875 -> 729.88,
    # - 437.92 = 291.96. A rejected approval first changes nothing.
    (approval("TS-4", ASSOCIATE_UK_EMPLOYEE, "P-1", "25.50", "2026-11-30T12:00:00Z"), "c", "rejected",
     ["HOURS_OUT_OF_RANGE"], []),
    (approval("TS-4", ASSOCIATE_UK_EMPLOYEE, "P-1", "3.00", "2026-11-30T12:00:00Z"), "c41", OK, [],
     [ts4("JE-TS-4", "3.00", "437.92", "c41")]),
    (("adjusted", {"timesheetId": "TS-4", "hours": 5, "adjustedBy": "M-1"}), "c42", OK, [],
     [ts4("JE-TS-4-R2", "2.00", "291.96", "c42")]),
    (("commented", {"timesheetId": "TS-4"}), "c", "ignored", [], []),
]


def event_line(n, step):
    (kind, data), corr = step[0], step[1]
    ev = {"specversion": "1.0", "id": "evt-%d" % n, "source": "urn:acme:timetrack",
          "type": "com.acme.timesheet." + kind, "time": "2026-10-06T10:00:00Z"}
    if corr is not None:
        ev["correlationid"] = corr
    ev["data"] = data
    return json.dumps(ev)


def write(root):
    """The worked examples as a workload directory: events.jsonl and data/."""
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    with open(os.path.join(root, "data", "projects.csv"), "w") as f:
        f.write(PROJECTS)
    with open(os.path.join(root, "data", "fx.csv"), "w") as f:
        f.write(FX)
    with open(os.path.join(root, "events.jsonl"), "w") as f:
        for n, step in enumerate(STEPS, 1):
            f.write(event_line(n, step) + "\n")
        f.write('{"specversion":"1.0","id":\n')


class Lifecycle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = cls.tmp.name
        write(root)
        run = subprocess.run([sys.executable, os.path.join(HERE, "lifecycle_reference.py"), root,
                              "--state-out", os.path.join(root, "state.jsonl"),
                              "--metrics", os.path.join(root, "metrics.json"),
                              "--as-of", "2026-12-01T00:00:00Z"], capture_output=True, text=True, check=True)
        cls.outcomes = [json.loads(x) for x in run.stdout.splitlines()]
        with open(os.path.join(root, "state.jsonl")) as f:
            cls.state_text = f.read()
        cls.state = {(o["state"], o["key"][0]): o["record"] for o in map(json.loads, cls.state_text.splitlines())}
        with open(os.path.join(root, "metrics.json")) as f:
            cls.metrics = {m["name"]: m["groups"] for m in json.load(f)["metrics"]}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_outcomes(self):
        self.assertEqual(len(self.outcomes), len(STEPS) + 1)
        for n, (step, out) in enumerate(zip(STEPS, self.outcomes), 1):
            with self.subTest(line=n, event=step[0][0]):
                _, corr, status, codes, emits = step
                self.assertEqual(out["line"], n)
                self.assertEqual(out["id"], "evt-%d" % n)
                self.assertEqual(out["correlation_id"], corr)
                self.assertEqual(out["status"], status)
                self.assertEqual([r["code"] for r in out["rejections"]], codes)
                self.assertEqual(out["emits"], emits)
        last = self.outcomes[-1]
        self.assertEqual((last["status"], last["id"], last["rejections"][0]["code"]),
                         ("invalid", None, "INVALID_ENVELOPE"))

    def test_credit_note_messages(self):
        self.assertEqual(self.outcomes[18]["rejections"][0]["message"],
                         "timesheet TS-1 is on invoice INV-1; adjust it with a credit note")
        self.assertEqual(self.outcomes[19]["rejections"][0]["message"],
                         "timesheet TS-1 is on invoice INV-1; reverse it with a credit note")

    def test_state_of_an_adjusted_invoiced_timesheet(self):
        s = self.state[("timesheets", "TS-1")]
        self.assertEqual(list(s), ["timesheet_id", "status", "hours", "entity", "approved_at", "revision",
                                   "sent_hours", "sent_amount", "posted_hours", "unreclassified_hours",
                                   "billed_hours", "invoice_id", "line", "unit_rate", "payable", "payroll_rate"])
        self.assertEqual(s["status"], "Approved")
        self.assertEqual(s["hours"], "6.25")
        self.assertEqual(s["approved_at"], "2026-10-06T10:00:00Z")
        self.assertEqual(s["revision"], 3)
        self.assertEqual(s["sent_hours"], "6.25")  # 7.50 + 0.50 - 1.75
        self.assertEqual(s["sent_amount"], {"amount": "1375.00", "currency": "EUR"})
        self.assertEqual(s["posted_hours"], "6.25")  # 7.50 - 1.75, then + 0.50
        self.assertEqual(s["unreclassified_hours"], "0.00")  # 0 + 0.50 + 1.75 - 1.75 - 0.50
        self.assertEqual(s["billed_hours"], "5.75")  # posted when invoiced
        self.assertEqual(s["invoice_id"], "INV-1")
        self.assertEqual(s["line"], ts1("JE-TS-1", "7.50", "1650.00", "c5")["record"])
        self.assertEqual(s["unit_rate"], {"amount": "220.00", "currency": "EUR"})
        self.assertEqual(s["payable"], payable("E1", "6.25", "687.50")["record"])
        self.assertEqual(s["payroll_rate"], {"amount": "110.00", "currency": "USD"})

    def test_state_of_a_reversed_timesheet(self):
        s = self.state[("timesheets", "TS-2")]
        self.assertEqual((s["status"], s["revision"], s["sent_hours"], s["sent_amount"], s["posted_hours"]),
                         ("Reversed", 2, "0.00", {"amount": "0.00", "currency": "USD"}, "-4.00"))
        self.assertIsNone(s["payable"])

    def test_state_of_a_submitted_timesheet(self):
        s = self.state[("timesheets", "TS-3")]
        self.assertEqual(s, {"timesheet_id": "TS-3", "status": "Submitted", "hours": "2", "entity": None,
                             "approved_at": None, "revision": 0, "sent_hours": "0", "sent_amount": None,
                             "posted_hours": "0", "unreclassified_hours": "0", "billed_hours": "0",
                             "invoice_id": None, "line": None, "unit_rate": None, "payable": None,
                             "payroll_rate": None})

    def test_fx_rate_kept_unrounded(self):
        s = self.state[("timesheets", "TS-4")]
        self.assertEqual(s["unit_rate"], {"amount": "145.975000", "currency": "EUR"})
        self.assertEqual((s["hours"], s["sent_hours"], s["unreclassified_hours"]), ("5", "5.00", "2.00"))

    def test_journals(self):
        self.assertEqual(sorted(k for (state, k) in self.state if state == "journals"),
                         ["JE-TS-1", "JE-TS-1-R2", "JE-TS-1-R3", "JE-TS-2", "JE-TS-2-X", "JE-TS-4", "JE-TS-4-R2"])
        self.assertEqual(self.state[("journals", "JE-TS-1-R3")], {
            "journal_id": "JE-TS-1-R3", "timesheet_id": "TS-1", "hours": "-1.75", "adjustment": True, "acked": True})
        self.assertEqual(self.state[("journals", "JE-TS-2-X")]["adjustment"], False)
        self.assertEqual(self.state[("journals", "JE-TS-4-R2")]["acked"], False)

    def test_snapshot_is_sorted_by_state_then_key(self):
        keys = [(o["state"], json.dumps(o["key"])) for o in map(json.loads, self.state_text.splitlines())]
        self.assertEqual(keys, sorted(keys))

    def test_metrics(self):
        # Approved: TS-1 and TS-4, both DE01 (TS-2 is reversed, TS-3 submitted).
        self.assertEqual(self.metrics["approved_not_posted_hours"],
                         [{"by": {"entity": "DE01"}, "value": "5.00"}])  # 0 + (5.00 - 0)
        self.assertEqual(self.metrics["posted_not_billed_hours"],
                         [{"by": {"entity": "DE01"}, "value": "0.50"}])  # 6.25 - 5.75, + 0
        self.assertEqual(self.metrics["adjusted_not_reclassified_hours"],
                         [{"by": {"entity": "DE01"}, "value": "2.00"}])
        # TS-4 was approved 12 hours before --as-of: only TS-1 counts.
        self.assertEqual(self.metrics["stale_approved_not_posted_hours"],
                         [{"by": {"entity": "DE01"}, "value": "0.00"}])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write(sys.argv[2])  # for scripts/lifecycle_check.sh
    else:
        unittest.main()
