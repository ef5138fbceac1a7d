#!/usr/bin/env python3
"""Compare Canon's lifecycle results with scripts/lifecycle_reference.py's.

    lifecycle_compare.py outcomes LABEL WANT.jsonl GOT.jsonl
    lifecycle_compare.py state    LABEL WANT.jsonl GOT.jsonl
    lifecycle_compare.py metrics  LABEL WANT.json  GOT.json

Prints one verdict line (`LABEL: ok ...` or `LABEL: DIFFERENT ...`), then for
a difference the first few of them and a count of each kind, and exits 1.

outcomes: `line`, `id`, `type`, `correlation_id`, `status` and `emits`
exactly (as JSON values: `"7.50"` is not `"7.5"`), the rejection codes in
order; a rejection's `message` and `at` are not compared, except the two
messages the README gives word for word (CREDIT_NOTE_REQUIRED), and that an
UNKNOWN_JOURNAL message names the journal id.
state: the two snapshots byte for byte; on a difference, record by record and
field by field.
metrics: the `metrics` arrays (GOT may be `canon status --format json`'s
whole object), metric by metric and group by group.
"""
import collections
import json
import sys

SHOW = 8
EXACT = ("line", "id", "type", "correlation_id", "status", "emits")


def short(v, n=160):
    s = json.dumps(v, separators=(",", ":"))
    return s if len(s) <= n else s[:n] + "..."


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line for line in f if line.strip()]


def verdict(label, kinds, shown, total_text):
    if not kinds:
        print("%s: ok (%s)" % (label, total_text))
        return 0
    print("%s: DIFFERENT (%d differences over %s)" % (label, sum(kinds.values()), total_text))
    for s in shown:
        print("    " + s)
    print("  differences by kind:")
    for kind, count in kinds.most_common(20):
        print("    %7d  %s" % (count, kind))
    return 1


def rejection_codes(o):
    rs = o.get("rejections")
    if not isinstance(rs, list):
        return rs
    return [r.get("code") if isinstance(r, dict) else r for r in rs]


def outcomes(label, want_path, got_path):
    want, got = read_lines(want_path), read_lines(got_path)
    kinds, shown = collections.Counter(), []

    def note(kind, text):
        kinds[kind] += 1
        if len(shown) < SHOW:
            shown.append(text)

    if len(want) != len(got):
        note("line count", "want %d outcome lines, got %d" % (len(want), len(got)))
    for w_line, g_line in zip(want, got):
        w = json.loads(w_line)
        where = "line %s (%s %s)" % (w.get("line"), w.get("id"), (w.get("type") or "").replace("com.acme.timesheet.", ""))
        try:
            g = json.loads(g_line)
        except ValueError:
            note("not JSON", "%s: not JSON: %s" % (where, g_line[:160]))
            continue
        what = (w.get("type") or "-").replace("com.acme.timesheet.", "")
        for key in EXACT:
            if g.get(key) != w.get(key):
                if key == "emits":
                    kind = "%s: emits (want %s, got %s)" % (what, w.get("status"), g.get("status"))
                else:
                    kind = "%s: %s" % (what, key)
                if key == "status":
                    kind += " want %s got %s %s" % (w.get("status"), g.get("status"), rejection_codes(g))
                note(kind, "%s: %s: want %s, got %s" % (where, key, short(w.get(key)), short(g.get(key))))
        wc, gc = rejection_codes(w), rejection_codes(g)
        if wc != gc:
            note("%s: rejection codes want %s got %s" % (what, wc, gc),
                 "%s: rejection codes: want %s, got %s" % (where, wc, gc))
        elif isinstance(wc, list):
            for wr, gr in zip(w["rejections"], g["rejections"]):
                if wr.get("code") == "CREDIT_NOTE_REQUIRED" and wr.get("message") != gr.get("message"):
                    note("%s: CREDIT_NOTE_REQUIRED message" % what, "%s: message: want %s, got %s"
                         % (where, short(wr.get("message")), short(gr.get("message"))))
                if wr.get("code") == "UNKNOWN_JOURNAL":
                    jid = wr.get("message", "").split()[-3] if "was sent" in wr.get("message", "") else None
                    if jid and jid not in str(gr.get("message")):
                        note("%s: UNKNOWN_JOURNAL message does not name the journal" % what,
                             "%s: message %s does not name %s" % (where, short(gr.get("message")), jid))
    return verdict(label, kinds, shown, "%d outcomes" % len(want))


def snapshot(path):
    records = collections.OrderedDict()
    for n, line in enumerate(read_lines(path), 1):
        o = json.loads(line)
        records[(o.get("state"), json.dumps(o.get("key")))] = o.get("record")
    return records


def state(label, want_path, got_path):
    with open(want_path, "rb") as f:
        want_bytes = f.read()
    with open(got_path, "rb") as f:
        got_bytes = f.read()
    n = want_bytes.count(b"\n")
    if want_bytes == got_bytes:
        print("%s: ok (byte for byte, %d records)" % (label, n))
        return 0
    kinds, shown = collections.Counter(), []

    def note(kind, text):
        kinds[kind] += 1
        if len(shown) < SHOW:
            shown.append(text)

    want, got = snapshot(want_path), snapshot(got_path)
    for key in want:
        if key not in got:
            note("%s: record missing" % key[0], "%s %s: missing" % key)
    for key in got:
        if key not in want:
            note("%s: record not expected" % key[0], "%s %s: not expected: %s" % (key[0], key[1], short(got[key])))
    for key, w in want.items():
        g = got.get(key)
        if g is None or g == w:
            continue
        if not isinstance(g, dict) or not isinstance(w, dict):
            note("%s: record" % key[0], "%s %s: want %s, got %s" % (key[0], key[1], short(w), short(g)))
            continue
        if list(g) != list(w):
            note("%s: field names or order" % key[0], "%s %s: fields: want %s, got %s"
                 % (key[0], key[1], list(w), list(g)))
        for field in w:
            if field in g and g[field] != w[field]:
                note("%s.%s" % (key[0], field), "%s %s: %s: want %s, got %s"
                     % (key[0], key[1], field, short(w[field]), short(g[field])))
    if not kinds:
        # Same records, different bytes: order, spacing or escaping.
        wl, gl = want_bytes.split(b"\n"), got_bytes.split(b"\n")
        for i, (a, b) in enumerate(zip(wl, gl), 1):
            if a != b:
                note("bytes (order, spacing or escaping)", "line %d: want %s / got %s" % (i, a[:200], b[:200]))
                break
        else:
            note("bytes", "want %d lines, got %d" % (len(wl), len(gl)))
    return verdict(label, kinds, shown, "%d records" % n)


def metrics(label, want_path, got_path):
    with open(want_path, encoding="utf-8") as f:
        want = json.load(f)["metrics"]
    with open(got_path, encoding="utf-8") as f:
        got = json.load(f)
    if isinstance(got, dict):
        got = got.get("metrics")
    kinds, shown = collections.Counter(), []

    def note(kind, text):
        kinds[kind] += 1
        if len(shown) < SHOW:
            shown.append(text)

    if not isinstance(got, list):
        note("no metrics array", "want a metrics array, got %s" % short(got))
        return verdict(label, kinds, shown, "%d metrics" % len(want))
    got_by = {m.get("name"): m for m in got if isinstance(m, dict)}
    for m in want:
        g = got_by.get(m["name"])
        if g is None:
            note("metric missing", "%s: missing" % m["name"])
            continue
        if m["groups"] is None or g.get("groups") is None:
            if m["groups"] != g.get("groups"):
                note("%s groups" % m["name"], "%s: groups: want %s, got %s"
                     % (m["name"], short(m["groups"]), short(g.get("groups"))))
            continue
        wg = collections.OrderedDict((json.dumps(x["by"], sort_keys=True), x["value"]) for x in m["groups"])
        gg = collections.OrderedDict((json.dumps(x.get("by"), sort_keys=True), x.get("value"))
                                     for x in g["groups"] if isinstance(x, dict))
        for by in wg:
            if by not in gg:
                note("%s: group missing" % m["name"], "%s %s: missing (want %s)" % (m["name"], by, wg[by]))
            elif gg[by] != wg[by]:
                note("%s: value" % m["name"], "%s %s: want %s, got %s" % (m["name"], by, wg[by], short(gg[by])))
        for by in gg:
            if by not in wg:
                note("%s: group not expected" % m["name"], "%s %s: not expected (%s)" % (m["name"], by, short(gg[by])))
        if list(wg) == list(gg) and [x.get("by") for x in g["groups"]] != [x["by"] for x in m["groups"]]:
            note("%s: group order" % m["name"], "%s: groups not in order" % m["name"])
    for name in got_by:
        if name not in {m["name"] for m in want}:
            note("metric not expected", "%s: not expected" % name)
    return verdict(label, kinds, shown, "%d metrics" % len(want))


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("outcomes", "state", "metrics"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    what, label, want, got = sys.argv[1:]
    try:
        sys.exit({"outcomes": outcomes, "state": state, "metrics": metrics}[what](label, want, got))
    except (OSError, ValueError, KeyError) as e:
        print("%s: DIFFERENT (cannot compare: %s)" % (label, e))
        sys.exit(1)


if __name__ == "__main__":
    main()
