#!/usr/bin/env python3
"""The soak test of `canon process` (docs/pipeline.md, "Soak"); run it through
scripts/soak.sh, which builds the release binary first.

    soak.py CANON EVENTS KILLS [--seed S] [--keep]

Generates the timesheet workload (bench/workload/gen.py) and its expected
outcomes (bench/workload/reference.py), binds `erp_posting` to a file sink
and `payroll_staging` to an HTTP sink on 127.0.0.1 (a receiver in this
process that records every request with its delivery id and body, and answers
some with 500 and some too slowly for the client's timeout, so deliveries are
retried and sent again), then runs `canon process` on the same state again and
again, killing it with SIGKILL at random instants, rotating the engine
(`jit`, `interp`) and `--threads` (1, 2) at each restart, until KILLS kills
have hit a running process and a last run completes. Then it checks:

- nothing lost: every expected emit is in the file sink, and every expected
  HTTP record was received (answered 2xx);
- nothing twice: no line of the file sink twice (no delivery id twice); the
  HTTP receiver's distinct delivery ids are exactly the expected records, and
  every re-delivery of an id carried the same body;
- every rejected event is in the exception queue exactly once, nothing else;
- `canon status` has nothing pending and nothing dead;
- a full replay of the input adds nothing: every outcome `duplicate`, the
  file sink byte-identical, no new HTTP request.

Exits 1 on any failure; prints a summary.
"""
import argparse
import hashlib
import http.server
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLE = os.path.join(ROOT, "examples", "timesheets")
BENCH = os.path.join(ROOT, "bench", "workload")
COMBOS = [("jit", 1), ("interp", 2), ("jit", 2), ("interp", 1)]


def digest(*parts):
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode())
        h.update(b"\0")
    return h.digest()


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Receiver:
    """The HTTP sink's far end: records every request; some fail, some are slow."""

    def __init__(self, seed, fail_rate, slow_rate, slow_s):
        self.lock = threading.Lock()
        self.bodies = {}        # delivery id -> blake2b of the body of its first 2xx
        self.records = {}       # delivery id -> digest(event id, record)
        self.ok = 0             # requests answered 2xx
        self.failed = 0         # requests answered 500
        self.slow = 0           # requests answered after the client's timeout
        self.mismatch = []      # delivery ids received with two different bodies
        self.header_mismatch = []
        self.rng = random.Random(seed)
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                want = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(want)
                if len(body) < want:
                    # The client was killed while sending: no answer, no record.
                    self.close_connection = True
                    return
                did = self.headers.get("Canon-Delivery-Id")
                with recv.lock:
                    r = recv.rng.random()
                if r < fail_rate:
                    with recv.lock:
                        recv.failed += 1
                    self.answer(500)
                    return
                if r < fail_rate + slow_rate:
                    time.sleep(slow_s)
                    with recv.lock:
                        recv.slow += 1
                recv.receive(did, body)
                self.answer(200)

            def answer(self, code):
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A killed canon drops its connection mid-request: expected.
                if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def receive(self, did, body):
        h = hashlib.blake2b(body, digest_size=16).digest()
        v = json.loads(body)
        with self.lock:
            self.ok += 1
            if v.get("delivery_id") != did:
                self.header_mismatch.append(did)
            if did in self.bodies:
                if self.bodies[did] != h:
                    self.mismatch.append(did)
                return
            self.bodies[did] = h
            self.records[did] = digest(v["event_id"], canonical(v["record"]))

    def snapshot(self):
        with self.lock:
            return self.ok, self.failed, len(self.bodies)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("canon")
    ap.add_argument("events", type=int)
    ap.add_argument("kills", type=int)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--fail-rate", type=float, default=0.03)
    ap.add_argument("--slow-rate", type=float, default=0.002)
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1, 2**31)
    rng = random.Random(seed)
    print(f"soak: {a.events} events, {a.kills} kills, seed {seed} (--seed {seed} replays the kill plan)", flush=True)
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="canon-soak-")
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL: " + what, flush=True)

    # The workload and what reference.py says must come out of it.
    subprocess.run([sys.executable, os.path.join(BENCH, "gen.py"), "--events", str(a.events), "--out", work],
                   check=True)
    want_file, want_http, want_rejected = set(), set(), set()
    file_bytes = 0
    ref = subprocess.Popen([sys.executable, os.path.join(BENCH, "reference.py"), work], stdout=subprocess.PIPE,
                           text=True)
    for line in ref.stdout:
        o = json.loads(line)
        if o["status"] == "rejected":
            want_rejected.add(o["id"])
            continue
        for e in o["emits"]:
            d = digest(o["id"], canonical(e["record"]))
            if e["destination"] == "erp_posting":
                assert d not in want_file
                want_file.add(d)
                file_bytes += len(json.dumps(e["record"], separators=(",", ":"))) + 2 * len(o["id"]) + 75
            else:
                assert d not in want_http
                want_http.add(d)
    check(ref.wait() == 0, "reference.py failed")
    print(f"reference: {len(want_file)} file emits, {len(want_http)} HTTP emits, {len(want_rejected)} rejected "
          f"({time.time() - t0:.0f} s)", flush=True)

    recv = Receiver(seed, a.fail_rate, a.slow_rate, 1.5)
    pkg = os.path.join(work, "pkg")
    os.makedirs(pkg)
    for f in os.listdir(EXAMPLE):
        if f.endswith(".canon"):
            shutil.copy(os.path.join(EXAMPLE, f), pkg)
    with open(os.path.join(pkg, "canon.toml"), "w") as f:
        f.write(f"""[sinks.erp_posting]
type = "file"

[sinks.payroll_staging]
type = "http"
url = "http://127.0.0.1:{recv.port}/payroll"
max_attempts = 1000
initial_backoff_ms = 5
max_backoff_ms = 200
timeout_ms = 1000
""")
    state = os.path.join(work, "state")
    sink = os.path.join(state, "out", "erp_posting.jsonl")
    events = os.path.join(work, "events.jsonl")
    errlog = os.path.join(work, "stderr.log")

    def run(engine, threads, batch, stdout=subprocess.DEVNULL):
        err = open(errlog, "ab")
        return subprocess.Popen(
            [a.canon, "process", pkg, "--input", events, "--data", os.path.join(work, "data"), "--state", state,
             "--engine", engine, "--threads", str(threads), "--batch", str(batch)],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)

    def progress():
        """0..2: the file sink's share of its final size plus the HTTP share."""
        try:
            size = os.path.getsize(sink)
        except OSError:
            size = 0
        return min(size / max(file_bytes, 1), 1.0) + recv.snapshot()[2] / max(len(want_http), 1)

    # Kill, restart, kill...: most kills once the run has made some progress
    # (the instants spread over the whole run: writing and delivering), some
    # at a random instant of its start (while it re-reads what is done).
    runs = {c: 0 for c in COMBOS}
    kills = {c: 0 for c in COMBOS}
    exits = 0
    n = 0
    interrupted = 0
    while interrupted < a.kills:
        combo = COMBOS[n % len(COMBOS)]
        n += 1
        batch = rng.choice([256, 1024, 8192, 8192])
        runs[combo] += 1
        before = progress()
        early = rng.random() < 0.15
        step = 2 * max(2.0 - before, 0.0) / (a.kills - interrupted + 1)
        target = before + 1e-6 + rng.random() * step
        p = run(combo[0], combo[1], batch)
        started = time.time()
        if early:
            deadline = started + rng.random() * 1.5
            while time.time() < deadline and p.poll() is None:
                time.sleep(0.005)
        else:
            while progress() < target and p.poll() is None and time.time() - started < 300:
                time.sleep(0.002)
            time.sleep(rng.random() * 0.02)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            interrupted += 1
            kills[combo] += 1
        else:
            exits += 1
            check(p.returncode == 0, f"run {n} exited {p.returncode} (see {errlog})")
            if p.returncode != 0:
                break
        p.wait()
        if n % 10 == 0:
            ok, failed, ids = recv.snapshot()
            print(f"  {n} runs, {interrupted} kills; progress {progress():.2f}/2; HTTP {ids} ids, {ok} 2xx, "
                  f"{failed} 500s ({time.time() - t0:.0f} s)", flush=True)

    # Then until a run completes.
    while not failures:
        combo = COMBOS[n % len(COMBOS)]
        n += 1
        runs[combo] += 1
        p = run(combo[0], combo[1], 8192)
        p.wait()
        exits += 1
        check(p.returncode == 0, f"the last run exited {p.returncode} (see {errlog})")
        break
    processed_at = time.time()

    # Nothing lost, nothing twice: the file sink.
    got_file = set()
    file_ids = set()
    with open(sink, "rb") as f:
        data = f.read()
    check(data.endswith(b"\n"), "a torn line at the end of the file sink")
    dup_lines = 0
    bad = 0
    for line in data.splitlines():
        try:
            v = json.loads(line)
        except ValueError:
            bad += 1
            continue
        d = digest(v["event_id"], canonical(v["record"]))
        if v["delivery_id"] in file_ids or d in got_file:
            dup_lines += 1
        file_ids.add(v["delivery_id"])
        got_file.add(d)
    check(bad == 0, f"{bad} lines of the file sink are not JSON")
    check(dup_lines == 0, f"{dup_lines} lines of the file sink twice")
    lost_file = len(want_file - got_file)
    extra_file = len(got_file - want_file)
    check(lost_file == 0, f"{lost_file} file emits lost")
    check(extra_file == 0, f"{extra_file} unexpected file lines")

    # The HTTP receiver.
    ok, failed, ids = recv.snapshot()
    got_http = set(recv.records.values())
    lost_http = len(want_http - got_http)
    extra_http = len(got_http - want_http)
    check(lost_http == 0, f"{lost_http} HTTP emits never received")
    check(extra_http == 0, f"{extra_http} unexpected HTTP records")
    check(ids == len(want_http), f"{ids} distinct delivery ids for {len(want_http)} HTTP emits")
    check(not recv.mismatch, f"{len(recv.mismatch)} delivery ids re-delivered with another body, e.g. "
                             f"{recv.mismatch[:3]}")
    check(not recv.header_mismatch, f"{len(recv.header_mismatch)} bodies whose delivery id is not the header's")
    redeliveries = ok - ids
    dup_http = max(ids - len(got_http), 0)  # two delivery ids for one record

    # The exception queue.
    out = subprocess.run([a.canon, "exceptions", "list", "--format", "json", "--state", state], capture_output=True)
    check(out.returncode == 0, "canon exceptions list failed: " + out.stderr.decode())
    items = json.loads(out.stdout) if out.returncode == 0 else []
    queued = [i["event_id"] for i in items]
    check(len(set(queued)) == len(queued), f"{len(queued) - len(set(queued))} events in the queue twice")
    check(set(queued) == want_rejected, f"queue: {len(want_rejected - set(queued))} missing, "
                                        f"{len(set(queued) - want_rejected)} unexpected")

    # Reconciliation.
    out = subprocess.run([a.canon, "status", "--format", "json", "--state", state], capture_output=True)
    check(out.returncode == 0, "canon status failed: " + out.stderr.decode())
    if out.returncode == 0:
        s = json.loads(out.stdout)
        for name, d in s["destinations"].items():
            check(d["pending"] == 0 and d["dead"] == 0 and d["accepted"] == d["delivered"],
                  f"status of {name}: {d}")
        t = s["events"]["by_type"]["com.acme.timesheet.approved"]
        check(t["accepted"] + t["rejected"] == a.events, f"ledger counts {t}")

    # A full replay adds nothing.
    before_sink = hashlib.sha256(data).hexdigest()
    before_recv = recv.snapshot()
    outcomes = os.path.join(work, "replay.jsonl")
    with open(outcomes, "wb") as out:
        p = run("jit", 2, 8192, stdout=out)
        p.wait()
    check(p.returncode == 0, f"the replay exited {p.returncode}")
    replay_lines = 0
    not_dup = 0
    with open(outcomes) as f:
        for line in f:
            replay_lines += 1
            if json.loads(line)["status"] != "duplicate":
                not_dup += 1
    check(replay_lines == a.events and not_dup == 0,
          f"replay: {replay_lines} outcomes, {not_dup} not `duplicate`")
    with open(sink, "rb") as f:
        check(hashlib.sha256(f.read()).hexdigest() == before_sink, "the replay changed the file sink")
    time.sleep(1)
    check(recv.snapshot() == before_recv, f"the replay made HTTP requests: {before_recv} -> {recv.snapshot()}")
    out = subprocess.run([a.canon, "exceptions", "list", "--format", "json", "--state", state], capture_output=True)
    check(len(json.loads(out.stdout)) == len(items), "the replay changed the exception queue")

    wall = time.time() - t0
    print()
    print(f"events                 {a.events}")
    print(f"kills (SIGKILL)        {interrupted}")
    print(f"runs                   {n} ({exits} ended by themselves, the last one completing)")
    for c in COMBOS:
        print(f"  --engine {c[0]:<6} --threads {c[1]}: {runs[c]} runs, {kills[c]} killed")
    print(f"file sink lines        {len(got_file)} (expected {len(want_file)})")
    print(f"HTTP delivery ids      {ids} (expected {len(want_http)})")
    print(f"HTTP requests          {ok} answered 2xx, {failed} answered 500, {recv.slow} too slow for the client")
    print(f"rejected, queued       {len(set(queued))} (expected {len(want_rejected)})")
    print(f"lost                   {lost_file + lost_http}")
    print(f"duplicated             {dup_lines + dup_http + len(recv.mismatch)}")
    print(f"redeliveries           {redeliveries} (same delivery id, same body)")
    print(f"replay                 {replay_lines} outcomes, all duplicate: {not_dup == 0}")
    print(f"wall time              {wall:.0f} s ({processed_at - t0:.0f} s until the last run completed)")
    print(f"seed                   {seed}")
    recv.server.shutdown()
    if failures:
        print(f"FAILED ({len(failures)}): work directory kept: {work}")
        sys.exit(1)
    print("OK")
    if a.keep:
        print(f"work directory: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
