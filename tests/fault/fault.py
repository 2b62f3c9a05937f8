#!/usr/bin/env python3
"""Fault suite: steady webhook load while processes are killed, stopped and
restarted; then every capture that got a 2xx must be stored exactly once.

Standard library only (asyncio load driver over raw HTTP/1.1 keep-alive
connections). Started by tests/fault/run.sh, which documents the options.

Per run:
  1. a fresh path; load at RATE req/s for DURATION s, each HTTP attempt with a
     unique marker in its query string (m=RUN-SEQ-ATTEMPT); a refused, reset,
     timed-out or 502/503/504 attempt is retried (new marker) on the other
     ingest, like a load balancer would;
  2. the fault, part way through the load; the suite then restarts what it
     stopped (as a supervisor would) and measures the time until every service
     is ready and a fresh path + webhook round-trips through every ingest and
     every query (nothing else is restarted or touched: that is the "no manual
     steps" check);
  3. settle: the durable consumer has nothing pending or unacknowledged and
     the row count is stable (split), or the row count is stable (standalone);
  4. verify in the database itself (psql / SQLite): every 2xx marker stored
     exactly once with the request_id the sender was given; no marker twice;
     nothing stored that the driver did not send.
"""

import argparse
import asyncio
import collections
import glob
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def log(msg):
    print(f"fault: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rand_tag(n=6):
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


# --- tiny HTTP helpers for control traffic (not the load) -------------------


def http(method, url, body=None, timeout=3.0):
    """(status, parsed JSON or None); status 0 when no answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    except Exception:
        return 0, None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


# --- NATS: consumer info over the raw protocol ------------------------------


def nats_request(port, subject, payload=b"", timeout=2.0):
    """One request/reply on a NATS server; the reply's JSON, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            f = s.makefile("rb")
            if not f.readline().startswith(b"INFO"):
                return None
            inbox = "_INBOX.fault" + rand_tag(10)
            s.sendall(
                b'CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\n'
                + f"SUB {inbox} 1\r\nPUB {subject} {inbox} {len(payload)}\r\n".encode()
                + payload + b"\r\n"
            )
            while True:
                line = f.readline()
                if not line:
                    return None
                if line.startswith(b"PING"):
                    s.sendall(b"PONG\r\n")
                elif line.startswith(b"MSG"):
                    n = int(line.split()[-1])
                    data = f.read(n + 2)[:n]
                    return json.loads(data)
                elif line.startswith(b"-ERR"):
                    return None
    except (OSError, ValueError):
        return None


# --- processes: kill and restart exactly as they were started ---------------


class Proc:
    """A service process known by its pid file (deploy/local/up.sh writes
    them); restarting reuses the command line, environment and working
    directory read from /proc before the kill."""

    def __init__(self, name, pidfile, logfile, ready_url=None):
        self.name, self.pidfile, self.logfile, self.ready_url = name, pidfile, logfile, ready_url
        self.child = None  # a Popen when this suite (re)started it

    def pid(self):
        with open(self.pidfile) as f:
            return int(f.read().strip())

    def _snapshot(self):
        pid = self.pid()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(
                e.decode().split("=", 1) for e in f.read().split(b"\0") if b"=" in e
            )
        cwd = os.readlink(f"/proc/{pid}/cwd")
        return pid, argv, env, cwd

    def alive(self, pid=None):
        pid = pid or self.pid()
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(") ", 1)[1][0] != "Z"
        except OSError:
            return False

    def stop(self, sig, wait=40.0):
        """Signal it; wait until it is gone. Returns the snapshot for start()."""
        snap = self._snapshot()
        pid = snap[0]
        os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while self.alive(pid):
            if self.child is not None:
                self.child.poll()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} (pid {pid}) still alive {wait} s after signal {sig}")
            time.sleep(0.02)
        if self.child is not None:
            self.child.wait()
        return snap

    def start(self, snap):
        _, argv, env, cwd = snap
        out = open(self.logfile, "ab")
        out.write(f"\n--- fault suite: restarted at {time.strftime('%H:%M:%S')} ---\n".encode())
        out.flush()
        self.child = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        out.close()
        with open(self.pidfile, "w") as f:
            f.write(f"{self.child.pid}\n")


# --- private Postgres --------------------------------------------------------


class Postgres:
    """A throw-away cluster in the suite's state dir, so stopping it harms no one."""

    def __init__(self, state):
        self.dir = os.path.join(state, "pg")
        self.sock = os.path.join(state, "pgsock")
        self.logfile = os.path.join(state, "postgres.log")
        self.port = free_port()
        self.bindir = self._bindir()

    @staticmethod
    def _bindir():
        for cand in [shutil.which("pg_ctl")] + sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[::-1]:
            if cand and os.access(cand, os.X_OK):
                return os.path.dirname(os.path.realpath(cand))
        raise SystemExit("fault: ERROR: no pg_ctl/initdb (install postgresql)")

    def _run(self, *args, check=True):
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if os.geteuid() == 0:  # Postgres refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self):
        os.makedirs(self.sock, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.sock, "postgres", "postgres")
            os.makedirs(self.dir, exist_ok=True)
            shutil.chown(self.dir, "postgres", "postgres")
            open(self.logfile, "a").close()
            shutil.chown(self.logfile, "postgres", "postgres")
        self._run("initdb", "-D", self.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions")
        self.start()

    def start(self):
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run("pg_ctl", "-D", self.dir, "-o", opts, "-l", self.logfile, "-w", "-t", "60", "start")

    def stop(self, mode="immediate"):
        self._run("pg_ctl", "-D", self.dir, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def psql(self, db, sql):
        r = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
             "-w", "-X", "-AtF", "\t", "-c", sql],
            capture_output=True, text=True, timeout=60,
        )
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr.strip()}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]


# --- the load driver ---------------------------------------------------------

RETRYABLE = {502, 503, 504}


class Conn:
    def __init__(self):
        self.reader = self.writer = None

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except Exception:
                pass
        self.reader = self.writer = None


async def http_attempt(conn, host, port, path, marker, timeout):
    """One POST on a keep-alive connection: (status, request_id); status 0 =
    no answer (refused, reset, closed, timed out)."""
    body = b'{"marker":"' + marker.encode() + b'"}'
    req = (
        f"POST /webhook/{path}?m={marker} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nUser-Agent: cl-fault\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def go():
        if conn.writer is None:
            conn.reader, conn.writer = await asyncio.open_connection(host, port)
        conn.writer.write(req)
        await conn.writer.drain()
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        hdrs = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        if "content-length" in hdrs:
            data = await conn.reader.readexactly(int(hdrs["content-length"]))
        elif "chunked" in hdrs.get("transfer-encoding", ""):
            data = b""
            while True:
                size = int((await conn.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data += await conn.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            data = await conn.reader.read()
            hdrs["connection"] = "close"
        if hdrs.get("connection", "").lower() == "close":
            await conn.close()
        rid = None
        if 200 <= status < 300:
            rid = json.loads(data).get("request_id")
        return status, rid

    try:
        return await asyncio.wait_for(go(), timeout)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError, IndexError):
        await conn.close()
        return 0, None


class Load:
    def __init__(self, targets, path, tag, rate, duration, concurrency, max_attempts, timeout):
        self.targets, self.path, self.tag = targets, path, tag
        self.rate, self.duration, self.concurrency = rate, duration, concurrency
        self.max_attempts, self.timeout = max_attempts, timeout
        self.attempts = {}  # marker -> (status, request_id)
        self.times = {}  # marker -> (sent, answered), time.monotonic()
        self.logical = 0
        self.retried = 0
        self.gave_up = 0

    async def run(self):
        self.t0 = time.monotonic()
        self.next = 0
        await asyncio.gather(*(self.worker() for _ in range(self.concurrency)))
        self.elapsed = time.monotonic() - self.t0

    async def worker(self):
        conns = [Conn() for _ in self.targets]
        try:
            while True:
                seq = self.next
                due = self.t0 + seq / self.rate
                if due > self.t0 + self.duration:
                    return
                self.next += 1
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.logical += 1
                for attempt in range(self.max_attempts):
                    k = (seq + attempt) % len(self.targets)
                    host, port = self.targets[k]
                    marker = f"{self.tag}-{seq}-{attempt}"
                    sent = time.monotonic()
                    status, rid = await http_attempt(conns[k], host, port, self.path, marker, self.timeout)
                    self.attempts[marker] = (status, rid)
                    self.times[marker] = (sent, time.monotonic())
                    if 200 <= status < 300:
                        break
                    if status != 0 and status not in RETRYABLE:
                        break
                    if attempt == 0:
                        self.retried += 1
                    if attempt + 1 == self.max_attempts:
                        self.gave_up += 1
                        break
                    await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
        finally:
            for c in conns:
                await c.close()


def availability(load, fault_t, window=10.0):
    """Sender-side figures from the per-attempt timestamps: the share of
    attempts sent in [fault, fault + window) that were answered 2xx, the
    attempts sent after the fault that were not answered 2xx, and the longest
    stretch of the load with no 2xx answer (from the load's start to its last
    answer)."""
    ok_ends, in_win, in_win_ok, after_bad, slowest = [], 0, 0, 0, 0.0
    last = load.t0
    for m, (sent, done) in load.times.items():
        st = load.attempts[m][0]
        good = 200 <= st < 300
        last = max(last, done)
        if good:
            ok_ends.append(done)
        if fault_t is not None and fault_t <= sent < fault_t + window:
            in_win += 1
            in_win_ok += good
            if good:
                slowest = max(slowest, done - sent)
        if fault_t is not None and sent >= fault_t and not good:
            after_bad += 1
    marks = [load.t0] + sorted(ok_ends) + [last]
    gap = max((b - a for a, b in zip(marks, marks[1:])), default=0.0)
    share = None if not in_win else in_win_ok / in_win
    return dict(avail=share, avail_n=in_win, after_bad=after_bad, gap=gap, slowest=slowest)


class Feed:
    """One live feed (GET /api/paths/{id}/stream) held open for a whole run,
    reconnecting with Last-Event-ID whenever it ends (the server closes feeds
    on purpose, e.g. after a NATS reconnect or when a client lags). Records
    every event id in arrival order."""

    def __init__(self, base, path, name):
        self.host, self.port = base.split("//")[1].split(":")[0], int(base.rsplit(":", 1)[1])
        self.path, self.name = path, name
        self.ids = []
        self.last = None
        self.connects = 0  # successful (200) connections
        self.errors = []  # why connections ended or failed (first few)
        self.connected = asyncio.Event()
        self.stopping = False

    async def run(self):
        while not self.stopping:
            reason = await self._once()
            if self.stopping:
                return
            if reason and len(self.errors) < 20:
                self.errors.append(reason)
            await asyncio.sleep(0.2)

    async def _once(self):
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 3)
            hdrs = f"GET /api/paths/{self.path}/stream HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: text/event-stream\r\n"
            if self.last:
                hdrs += f"Last-Event-ID: {self.last}\r\n"
            writer.write((hdrs + "\r\n").encode())
            await writer.drain()
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).decode("latin-1")
            status = int(head.split(" ", 2)[1])
            if status != 200:
                return f"status {status}"
            self.connects += 1
            chunked = "chunked" in head.lower()
            buf = b""
            ev_id = ev_type = None
            while not self.stopping:
                if chunked:
                    size = int((await asyncio.wait_for(reader.readuntil(b"\r\n"), 60)).split(b";")[0], 16)
                    if size == 0:
                        return "ended"
                    buf += (await asyncio.wait_for(reader.readexactly(size + 2), 60))[:-2]
                else:
                    data = await asyncio.wait_for(reader.read(65536), 60)
                    if not data:
                        return "ended"
                    buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.rstrip(b"\r").decode()
                    if line == "":
                        if ev_type == "request" and ev_id:
                            self.ids.append(ev_id)
                            self.last = ev_id
                        ev_id = ev_type = None
                    elif line.startswith(":"):
                        if "connected" in line:
                            self.connected.set()
                    elif line.startswith("id:"):
                        ev_id = line[3:].strip()
                    elif line.startswith("event:"):
                        ev_type = line[6:].strip()
            return None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError, IndexError) as e:
            return f"{type(e).__name__}: {e}"[:120]
        finally:
            if writer is not None:
                writer.close()


def check_feeds(feeds, stored_ids):
    """Every feed got every stored capture exactly once, and all feeds in one
    order. Returns (ok, summary dict, notes)."""
    stored = set(stored_ids)
    notes, missing_total, dup_total, extra_total = [], 0, 0, 0
    seqs = []
    for f in feeds:
        seen, seq, dups = set(), [], 0
        for i in f.ids:
            if i in seen:
                dups += 1
                continue
            seen.add(i)
            seq.append(i)
        missing = stored - seen
        extra = seen - stored
        missing_total += len(missing)
        dup_total += dups
        extra_total += len(extra)
        if missing or dups or extra:
            notes.append(f"feed {f.name}: {len(f.ids)} events, missing {len(missing)}, repeated {dups}, "
                         f"not stored {len(extra)}, {f.connects} connections"
                         + (f", ended: {f.errors[:3]}" if f.errors else ""))
        seqs.append([i for i in seq if i in stored])
    order_diff = 0
    if seqs:
        ref = seqs[0]
        for f, sq in zip(feeds[1:], seqs[1:]):
            if sq != ref:
                order_diff += 1
                at = next((k for k, (a, b) in enumerate(zip(ref, sq)) if a != b), min(len(ref), len(sq)))
                notes.append(f"feed {f.name}: order differs from feed {feeds[0].name} at event {at}")
    reconnects = sum(max(f.connects - 1, 0) for f in feeds)
    summary = dict(feeds=len(feeds), missing=missing_total, repeated=dup_total, extra=extra_total,
                   order_diff=order_diff, reconnects=reconnects)
    ok = bool(feeds) and not missing_total and not dup_total and not extra_total and not order_diff
    return ok, summary, notes


# --- topologies ----------------------------------------------------------------


class Split:
    shape = "split"

    def __init__(self, args, state, pg, nats_bin):
        self.args, self.pg, self.nats_bin = args, pg, nats_bin
        self.state = state
        self.stream = "FAULT_" + rand_tag(8).upper()
        self.db = "cl_fault"
        self.ingest_ports = [free_port(), free_port()]
        self.query_ports = [free_port(), free_port()]
        self.nats_port = free_port()

    def nats_env(self):
        return dict(CL_LOCAL_NATS="own", NATS_SERVER_BIN=self.nats_bin, CL_LOCAL_NATS_PORT=str(self.nats_port))

    def up(self):
        env = dict(os.environ)
        env.update(
            CL_BIN=self.args.bin, CL_LOCAL_STATE=self.state, CL_LOCAL_DB=self.db,
            CL_LOCAL_PG_PORT=str(self.pg.port), CL_STREAM=self.stream,
            CL_LOCAL_INGEST_PORTS=" ".join(map(str, self.ingest_ports)),
            CL_LOCAL_QUERY_PORTS=" ".join(map(str, self.query_ports)),
            **self.nats_env(),
        )
        r = subprocess.run([os.path.join(ROOT, "deploy/local/up.sh")], env=env, cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise RuntimeError("deploy/local/up.sh failed:\n" + r.stdout)
        self.procs = {}
        for p in self.ingest_ports:
            self.procs[f"ingest-{p}"] = Proc(f"ingest-{p}", f"{self.state}/ingest-{p}.pid",
                                             f"{self.state}/ingest-{p}.log", f"http://127.0.0.1:{p}/health/ready")
        for p in self.query_ports:
            self.procs[f"query-{p}"] = Proc(f"query-{p}", f"{self.state}/query-{p}.pid",
                                            f"{self.state}/query-{p}.log", f"http://127.0.0.1:{p}/health/ready")
        self.add_nats_procs()

    def add_nats_procs(self):
        self.procs["nats"] = Proc("nats", f"{self.state}/nats.pid", f"{self.state}/nats.log")

    def down(self):
        subprocess.run([os.path.join(ROOT, "deploy/local/down.sh")], env=dict(os.environ, CL_LOCAL_STATE=self.state),
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for p in getattr(self, "procs", {}).values():
            if p.child is not None:
                p.child.poll()

    @property
    def ingests(self):
        return [f"http://127.0.0.1:{p}" for p in self.ingest_ports]

    @property
    def queries(self):
        return [f"http://127.0.0.1:{p}" for p in self.query_ports]

    def ready_urls(self):
        return [u + "/health/ready" for u in self.queries + self.ingests]

    def rows(self, path):
        return [(uuid.UUID(i), qs) for i, qs in
                self.pg.psql(self.db, f"SELECT id, query_string FROM captures WHERE path_id = '{path}'")]

    def drained(self):
        info = nats_request(self.nats_port, f"$JS.API.CONSUMER.INFO.{self.stream}.{self.stream}_writer")
        if not info or "error" in info:
            self.last_info = info
            return False
        self.last_info = {k: info.get(k) for k in ("num_pending", "num_ack_pending", "num_redelivered", "num_waiting")}
        return info.get("num_pending", 1) == 0 and info.get("num_ack_pending", 1) == 0


class ClusterSplit(Split):
    """deploy/local/up.sh --cluster: a 3-node nats-server cluster on loopback
    (n1..n3), 2 ingest + 2 query with the seed list and CL_STREAM_REPLICAS=3."""

    cluster = True

    def __init__(self, args, state, pg, nats_bin):
        super().__init__(args, state, pg, nats_bin)
        self.nodes = ["n1", "n2", "n3"]
        self.client_ports = {n: free_port() for n in self.nodes}
        self.route_ports = {n: free_port() for n in self.nodes}
        self.monitor_ports = {n: free_port() for n in self.nodes}
        self.replicas = 3

    def nats_env(self):
        return dict(
            CL_LOCAL_NATS="cluster", NATS_SERVER_BIN=self.nats_bin, CL_STREAM_REPLICAS=str(self.replicas),
            CL_LOCAL_NATS_PORTS=" ".join(str(self.client_ports[n]) for n in self.nodes),
            CL_LOCAL_NATS_CLUSTER_PORTS=" ".join(str(self.route_ports[n]) for n in self.nodes),
            CL_LOCAL_NATS_MONITOR_PORTS=" ".join(str(self.monitor_ports[n]) for n in self.nodes),
        )

    def add_nats_procs(self):
        for n in self.nodes:
            self.procs[f"nats-{n}"] = Proc(f"nats-{n}", f"{self.state}/nats-{n}.pid", f"{self.state}/nats-{n}.log")

    def store_dir(self, node):
        return os.path.join(self.state, f"nats-{node}")

    def node_alive(self, node):
        p = self.procs[f"nats-{node}"]
        try:
            return p.alive() and proc_state(p.pid()) != "T"
        except OSError:
            return False

    def js(self, subject, payload=b"", timeout=2.0, nodes=None):
        """A JetStream API request through the first running node that answers."""
        for n in nodes or self.nodes:
            if not self.node_alive(n):
                continue
            r = nats_request(self.client_ports[n], subject, payload, timeout)
            if r is not None:
                return r
        return None

    def stream_info(self, name=None, nodes=None, timeout=2.0):
        r = self.js(f"$JS.API.STREAM.INFO.{name or self.stream}", nodes=nodes, timeout=timeout)
        return None if not r or "error" in r else r

    def stream_leader(self, nodes=None, timeout=2.0):
        info = self.stream_info(nodes=nodes, timeout=timeout)
        return ((info or {}).get("cluster") or {}).get("leader") or None

    def healthz(self, node, timeout=1.0):
        return http("GET", f"http://127.0.0.1:{self.monitor_ports[node]}/healthz", timeout=timeout)[0] == 200

    def own_last_seq(self, node):
        """The last sequence of the captures stream in the node's own store
        (its monitor endpoint /jsz?streams=true); None when it has none."""
        st, j = http("GET", f"http://127.0.0.1:{self.monitor_ports[node]}/jsz?streams=true", timeout=1.0)
        if st != 200 or not j:
            return None
        for acc in j.get("account_details") or []:
            for sd in acc.get("stream_detail") or []:
                if sd.get("name") == self.stream:
                    return (sd.get("state") or {}).get("last_seq")
        return None

    def last_seq(self):
        return ((self.stream_info() or {}).get("state") or {}).get("last_seq")

    def node_current(self, node, min_seq=None):
        """The node answers /healthz (JetStream on, meta and its assets
        current) and, when it holds a replica of the captures stream, is that
        stream's leader or a current follower (a node outside an R1 stream's
        peer set has nothing of it to catch up) whose own store reached
        `min_seq` (where the stream was when the node went away)."""
        if not self.node_alive(node) or not self.healthz(node):
            return False
        if min_seq and (self.own_last_seq(node) or 0) < min_seq and self.holds_replica(node):
            return False
        info = self.stream_info()
        if info is None:
            return False
        cl = info.get("cluster") or {}
        if cl.get("leader") == node:
            return True
        reps = cl.get("replicas") or []
        if not any(r.get("name") == node for r in reps):
            return (info.get("config") or {}).get("num_replicas", 1) < len(self.nodes) and bool(cl.get("leader"))
        return any(r.get("name") == node and r.get("current") for r in reps)

    def holds_replica(self, node):
        cl = (self.stream_info() or {}).get("cluster") or {}
        return cl.get("leader") == node or any(r.get("name") == node for r in cl.get("replicas") or [])

    def replica_report(self):
        """Replicas of every JetStream asset the service made: (captures stream R, text)."""
        out, main_r = [], None
        for name in (self.stream, f"KV_{self.stream}_PATHS", f"OBJ_{self.stream}_BODIES"):
            info = self.stream_info(name)
            r = ((info or {}).get("config") or {}).get("num_replicas")
            if name == self.stream:
                main_r = r
            out.append(f"{name} R{r if r is not None else '?'}" if info else f"{name} absent")
        c = self.js(f"$JS.API.CONSUMER.INFO.{self.stream}.{self.stream}_writer")
        if c and "error" not in c:
            cr = (c.get("config") or {}).get("num_replicas", 0)
            out.append(f"consumer R{cr or main_r}{' (inherited)' if not cr else ''}")
        return main_r, ", ".join(out)

    def drained(self):
        info = self.js(f"$JS.API.CONSUMER.INFO.{self.stream}.{self.stream}_writer")
        if not info or "error" in info:
            self.last_info = info
            return False
        self.last_info = {k: info.get(k) for k in ("num_pending", "num_ack_pending", "num_redelivered", "num_waiting")}
        return info.get("num_pending", 1) == 0 and info.get("num_ack_pending", 1) == 0


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0]


class Standalone:
    shape = "standalone"

    def __init__(self, args, state):
        self.args, self.state = args, state
        self.port = free_port()
        self.dbfile = os.path.join(state, "standalone.db")

    def up(self):
        os.makedirs(self.state, exist_ok=True)
        pidfile, logfile = f"{self.state}/standalone.pid", f"{self.state}/standalone.log"
        out = open(logfile, "ab")
        child = subprocess.Popen(
            [os.path.abspath(self.args.bin), "standalone", "--listen", f"127.0.0.1:{self.port}",
             "--database-url", f"sqlite://{self.dbfile}"],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        out.close()
        with open(pidfile, "w") as f:
            f.write(f"{child.pid}\n")
        p = Proc("standalone", pidfile, logfile, f"{self.ingests[0]}/health/ready")
        p.child = child
        self.procs = {"standalone": p}
        deadline = time.monotonic() + 60
        while http("GET", p.ready_url)[0] != 200:
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"standalone did not become ready; see {logfile}")
            time.sleep(0.2)

    def down(self):
        p = self.procs.get("standalone") if hasattr(self, "procs") else None
        if p is not None and p.alive():
            try:
                p.stop(signal.SIGTERM, wait=30)
            except RuntimeError:
                os.kill(p.pid(), signal.SIGKILL)
                if p.child:
                    p.child.wait()

    @property
    def ingests(self):
        return [f"http://127.0.0.1:{self.port}"]

    queries = ingests

    def ready_urls(self):
        return [self.ingests[0] + "/health/ready"]

    def rows(self, path):
        con = sqlite3.connect(self.dbfile, timeout=30)
        try:
            return [(uuid.UUID(bytes=bytes(i)), qs) for i, qs in
                    con.execute("SELECT id, query_string FROM captures WHERE path_id = ?", (path,))]
        finally:
            con.close()

    def drained(self):
        return True


# --- one run -------------------------------------------------------------------


def create_path(topo, path_id):
    for _ in range(100):
        for q in topo.queries:
            status, _ = http("POST", q + "/api/paths", {"path_id": path_id})
            if status in (201, 409):
                return
        time.sleep(0.2)
    raise RuntimeError(f"could not create path {path_id}")


def round_trip(topo, tag, deadline):
    """A new path, one webhook through every ingest, read back through every
    query. True when it all worked before the deadline."""
    path = f"{tag}-probe-{rand_tag(4)}"
    while time.monotonic() < deadline:
        if any(http("POST", q + "/api/paths", {"path_id": path})[0] in (201, 409) for q in topo.queries):
            break
        time.sleep(0.2)
    else:
        return False
    for i, ing in enumerate(topo.ingests):
        while True:
            status, body = http("POST", f"{ing}/webhook/{path}?probe={i}", {"probe": i})
            if status == 200:
                rid = body["request_id"]
                break
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        for q in topo.queries:
            while http("GET", f"{q}/api/paths/{path}/logs/{rid}")[0] != 200:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.1)
    return True


def recover(topo, since, limit=90.0):
    """Seconds from `since` until every service is ready and a fresh round
    trip works; None when that did not happen within `limit`."""
    deadline = since + limit
    while True:
        if all(http("GET", u, timeout=2)[0] == 200 for u in topo.ready_urls()):
            break
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)
    if not round_trip(topo, "r", deadline):
        return None
    return time.monotonic() - since


def wait_until(cond, limit, step=0.1):
    """Seconds until cond() held, or None after `limit` seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if cond():
            return time.monotonic() - t0
        time.sleep(step)
    return None


class LeaderWatch(threading.Thread):
    """Polls the stream leader as seen by the nodes other than `old` until it
    is another node: `moved` is then the seconds from `since`. In a thread, so
    the fault's own timing (replacement after 5 s, SIGCONT after 10 s) never
    waits on a slow answer."""

    def __init__(self, topo, old, since, limit=60.0):
        super().__init__(daemon=True)
        self.topo, self.old, self.since, self.limit = topo, old, since, limit
        self.moved = self.leader = None
        self.halt = threading.Event()

    def run(self):
        others = [n for n in self.topo.nodes if n != self.old]
        while not self.halt.is_set() and time.monotonic() - self.since < self.limit:
            leader = self.topo.stream_leader(others, timeout=0.5)
            if leader not in (None, self.old):
                self.moved, self.leader = time.monotonic() - self.since, leader
                return
            self.halt.wait(0.1)


def inject_cluster(topo, fault, pg, args, out):
    """The cluster faults (blocking). Checks that each really happened as
    meant (leader moved, node replaced and rejoined, node really stopped) and
    records it in out["notes"]; out["harness"] False when it did not.
    A leader that does not move is the system's failure, not the harness's:
    out["failed"]. Returns (downtime seconds, time the fault ended)."""
    kind = fault[0]
    notes = out.setdefault("notes", [])

    def bad(msg):
        out["harness"] = False
        notes.append(msg)

    def failed(msg):
        out["failed"] = True
        notes.append(msg)

    if kind == "cluster-none":
        out["fault_t"] = t0 = time.monotonic()
        return 0.0, t0
    if kind in ("cluster-kill-leader", "cluster-kill-leader-pg"):
        leader = topo.stream_leader()
        if leader is None:
            bad("no stream leader found before the kill")
            leader = "n1"
        proc = topo.procs[f"nats-{leader}"]
        seq0 = topo.last_seq()
        out["fault_t"] = t0 = time.monotonic()
        snap = proc.stop(signal.SIGKILL)
        watch = LeaderWatch(topo, leader, t0)
        watch.start()
        # A lost machine: its store is gone; the replacement starts empty.
        shutil.rmtree(topo.store_dir(leader))
        os.makedirs(topo.store_dir(leader))
        pg_times = {}
        pg_thread = None
        if kind == "cluster-kill-leader-pg":
            # Postgres crashes and comes back while the node is gone (its own
            # thread, so the replacement still starts on time).
            def pg_restart():
                time.sleep(max(0.0, t0 + 1.0 - time.monotonic()))
                pg_times["stop"] = time.monotonic() - t0
                pg.stop("immediate")
                pg_times["stopped"] = time.monotonic() - t0
                time.sleep(max(0.0, t0 + pg_times["stopped"] + args.pg_restart_down - time.monotonic()))
                pg_times["start"] = time.monotonic() - t0
                pg.start()
                pg_times["ready"] = time.monotonic() - t0
            pg_thread = threading.Thread(target=pg_restart, daemon=True)
            pg_thread.start()
        time.sleep(max(0.0, t0 + args.node_down - time.monotonic()))
        t1 = time.monotonic()
        proc.start(snap)
        pg_note = None
        if pg_thread is not None:
            pg_thread.join(90)
            pg_note = (f"postgres: immediate stop at {pg_times.get('stop', -1):.1f} s after the kill, down until "
                       f"{pg_times.get('start', -1):.1f} s, accepting again at {pg_times.get('ready', -1):.1f} s")
            if "ready" not in pg_times:
                bad("postgres did not come back")
        joined = wait_until(lambda: topo.node_current(leader, seq0), 60, 0.25)
        if joined is None:
            bad(f"replacement {leader} did not become a current replica (stream seq {seq0} in its own store) within 60 s")
        # Raft elects after missed heartbeats (seconds), possibly only after
        # the replacement is back: the watch runs until then.
        watch.halt.set()
        watch.join()
        if watch.moved is None:
            failed(f"stream leader never moved off killed {leader} (not while it was down, nor before its replacement was current)")
        notes.append(f"killed stream leader {leader}, store deleted; new leader {watch.leader} after "
                     + (f"{watch.moved:.1f} s" if watch.moved is not None else "never")
                     + f"; empty {leader} started {t1 - t0:.1f} s after the kill, a current replica "
                     + (f"{joined:.1f} s later" if joined is not None else "never")
                     + f"; leader now {topo.stream_leader()}")
        if pg_note:
            notes.append(pg_note)
        return t1 - t0, t1
    if kind == "cluster-rolling":
        out["fault_t"] = t0 = time.monotonic()
        steps = []
        for n in topo.nodes:
            proc = topo.procs[f"nats-{n}"]
            seq0 = topo.last_seq()
            ts = time.monotonic()
            snap = proc.stop(signal.SIGTERM)
            gone = time.monotonic() - ts
            proc.start(snap)
            cur = wait_until(lambda: topo.node_current(n, seq0), 60, 0.25)
            if cur is None:
                bad(f"{n} not current within 60 s of its restart; rolling stopped")
                break
            steps.append(f"{n} stop {gone:.1f} s + current {cur:.1f} s")
        notes.append("rolling restart: " + ", ".join(steps) + f"; leader now {topo.stream_leader()}")
        t1 = time.monotonic()
        return t1 - t0, t1
    if kind == "cluster-freeze-leader":
        leader = topo.stream_leader()
        if leader is None:
            bad("no stream leader found before the freeze")
            leader = "n1"
        pid = topo.procs[f"nats-{leader}"].pid()
        out["fault_t"] = t0 = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        watch = LeaderWatch(topo, leader, t0, limit=args.freeze)
        watch.start()
        if wait_until(lambda: proc_state(pid) == "T", 2, 0.01) is None:
            bad(f"{leader} (pid {pid}) not in state T after SIGSTOP")
        if http("GET", f"http://127.0.0.1:{topo.monitor_ports[leader]}/healthz", timeout=1.0)[0] != 0:
            bad(f"frozen {leader} still answered /healthz")
        time.sleep(max(0.0, t0 + args.freeze - time.monotonic()))
        if proc_state(pid) != "T":
            bad(f"{leader} was not stopped for the whole {args.freeze:g} s")
        t1 = time.monotonic()
        os.kill(pid, signal.SIGCONT)
        watch.halt.set()
        watch.join()
        if watch.moved is None:  # a figure, not a failure: raft may wait out a short freeze
            notes.append(f"stream leader did not move off frozen {leader} within {args.freeze:g} s")
        seq1 = topo.last_seq()  # where the others got to during the freeze
        cur = wait_until(lambda: topo.node_current(leader, seq1), 60, 0.25)
        if cur is None:
            bad(f"{leader} not current within 60 s of SIGCONT")
        notes.append(f"froze stream leader {leader} (pid {pid}, state T) for {t1 - t0:.1f} s; new leader {watch.leader} after "
                     + (f"{watch.moved:.1f} s" if watch.moved is not None else "never")
                     + "; a current replica again " + (f"{cur:.1f} s after SIGCONT" if cur is not None else "never")
                     + f"; leader now {topo.stream_leader()}")
        return t1 - t0, t1
    raise ValueError(kind)


def inject(topo, fault, pg, args, out=None):
    """Runs the fault (blocking). Returns (downtime seconds, restart time)."""
    kind, target = fault
    if kind.startswith("cluster-"):
        return inject_cluster(topo, fault, pg, args, out if out is not None else {})
    t0 = time.monotonic()
    if out is not None:
        out["fault_t"] = t0
    if kind == "none":
        return 0.0, t0
    if kind == "pg":
        pg.stop("immediate")
        time.sleep(args.pg_down)
        t1 = time.monotonic()
        pg.start()
        return t1 - t0, t1
    proc = topo.procs[target]
    if kind == "kill":
        snap = proc.stop(signal.SIGKILL)
        if target == "nats":
            time.sleep(args.nats_down)
        else:
            time.sleep(args.restart_after)
    else:  # term: graceful shutdown drains, then the supervisor restarts it
        snap = proc.stop(signal.SIGTERM)
    t1 = time.monotonic()
    proc.start(snap)
    return t1 - t0, t1


def settle(topo, path, acked, limit=120.0):
    """Waits until nothing is in flight: the consumer drained and the row
    count stable for 2 s, or every 2xx stored and stable (standalone)."""
    start = time.monotonic()
    deadline = start + limit
    last, stable_since, said = None, time.monotonic(), start
    while time.monotonic() < deadline:
        if time.monotonic() - said > 5:
            said = time.monotonic()
            log(f"  settling {said - start:.0f} s: {last} rows, consumer {getattr(topo, 'last_info', None)}")
        # The consumer first, the rows second: drained means every message
        # was committed before its ack, so rows read after it are complete
        # (read the other way round, a redelivery committed in between, as
        # after a kill -9 and ack_wait, was counted as lost).
        drained = topo.drained()
        try:
            rows = topo.rows(path)
        except Exception as e:  # the database may still be restarting
            log(f"  (reading rows: {e})")
            time.sleep(1)
            continue
        n = len(rows)
        if n != last:
            last, stable_since = n, time.monotonic()
        present = {qs for _, qs in rows}
        have_all = all(f"m={m}" in present for m in acked)
        if drained and time.monotonic() - stable_since >= 2.0 and (have_all or time.monotonic() - stable_since >= 5.0):
            return rows, True, stable_since - start
        time.sleep(0.5)
    return topo.rows(path), False, None


def one_run(name, topo, fault, pg, args, tag):
    path = f"{tag}-load"
    create_path(topo, path)
    # The registry reaches every ingest within a second; wait for it.
    warm = f"{tag}-warm"
    create_path(topo, warm)
    for ing in topo.ingests:
        deadline = time.monotonic() + 30
        while http("POST", f"{ing}/webhook/{warm}", {})[0] != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ing} never accepted path {warm}")
            time.sleep(0.1)
    targets = [(u.split("//")[1].split(":")[0], int(u.rsplit(":", 1)[1])) for u in topo.ingests]
    duration = args.duration
    if fault[0] == "pg":  # keep the load on while Postgres comes back
        duration = max(duration, args.fault_at + args.pg_down + 3)
    if fault[0] == "kill" and fault[1] == "nats":
        duration = max(duration, args.fault_at + args.nats_down + 3)
    cluster = getattr(topo, "cluster", False)
    if cluster:  # the load lasts until the fault is over (rolling restart), and 10 s past its start
        duration = 3600.0
    load = Load(targets, path, tag, args.rate, duration, args.concurrency,
                args.max_attempts if topo.shape == "split" else args.max_attempts + 3, args.timeout)

    result = {"harness": True, "notes": []}
    feeds = []
    if cluster:
        result["replicas"], result["replica_text"] = topo.replica_report()

    async def main():
        loop = asyncio.get_running_loop()
        tasks = []
        if cluster:
            # Several live feeds on every query process, open before the load.
            for qi, q in enumerate(topo.queries):
                for k in range(args.feeds):
                    feeds.append(Feed(q, path, f"q{qi}.{k}"))
            tasks = [asyncio.create_task(f.run()) for f in feeds]
            try:
                await asyncio.wait_for(asyncio.gather(*(f.connected.wait() for f in feeds)), 20)
            except asyncio.TimeoutError:
                result["notes"].append("live feeds did not all connect within 20 s")
                result["harness"] = False
        task = asyncio.create_task(load.run())
        await asyncio.sleep(args.fault_at)
        down, restarted = await loop.run_in_executor(None, inject, topo, fault, pg, args, result)
        if cluster:
            load.duration = max(args.duration, result["fault_t"] - load.t0 + args.window + 1.0,
                                time.monotonic() - load.t0 + 3.0)
        result["down"] = down
        result["recover"] = await loop.run_in_executor(None, recover, topo, restarted)
        await task
        if cluster:
            acked_now = {m for m, (st, _) in load.attempts.items() if 200 <= st < 300}
            rows_now, _, _ = await loop.run_in_executor(None, settle, topo, path, acked_now)
            want = {str(rid) for rid, _ in rows_now}
            # Feeds may trail the store a little (and resume after reconnects).
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(want <= set(f.ids) for f in feeds):
                await asyncio.sleep(0.5)
            await asyncio.sleep(1.0)  # anything repeated late shows up too
            for f in feeds:
                f.stopping = True
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    acked = {m: rid for m, (st, rid) in load.attempts.items() if 200 <= st < 300}
    rows, settled, caught_up = settle(topo, path, acked)
    counts = collections.Counter()
    ids = collections.defaultdict(list)
    stray = 0
    for rid, qs in rows:
        if not qs.startswith("m="):
            stray += 1
            continue
        m = qs[2:]
        counts[m] += 1
        ids[m].append(str(rid))
    lost = [m for m in acked if counts[m] == 0]
    doubled = [m for m, c in counts.items() if c > 1]
    wrong_id = [m for m, rid in acked.items() if counts[m] == 1 and ids[m][0] != rid]
    unknown = [m for m in counts if m not in load.attempts]
    no2xx_stored = sum(1 for m, (st, _) in load.attempts.items() if not (200 <= st < 300) and counts[m])
    rec = result.get("recover")
    ok = not lost and not doubled and not wrong_id and not unknown and not stray and rec is not None and settled
    av = availability(load, result.get("fault_t"), args.window)
    row = dict(
        run=name, sent=len(load.attempts), ok2xx=len(acked), stored=len(rows), lost=len(lost),
        doubled=len(doubled), no2xx_stored=no2xx_stored, retried=load.retried, gave_up=load.gave_up,
        down=result.get("down", 0.0), recover=rec, settled=settled, caught_up=caught_up, ok=ok,
        notes=[], logical=load.logical, rate=load.logical / max(load.elapsed, 1e-9), **av,
    )
    if cluster:
        feeds_ok, row["feeds"], feed_notes = check_feeds(feeds, [str(rid) for rid, _ in rows])
        r3 = result.get("replicas") == topo.replicas
        row["ok"] = ok and feeds_ok and result["harness"] and r3 and not result.get("failed")
        row["notes"].append("replicas: " + result.get("replica_text", "?"))
        if not r3:
            row["notes"].append(f"captures stream is R{result.get('replicas')}, not R{topo.replicas}: "
                                "CL_STREAM_REPLICAS not honoured")
        row["notes"].extend(result["notes"])
        row["notes"].extend(feed_notes)
        if not result["harness"]:
            row["notes"].append("the fault did not happen as intended (see above)")
    if lost:
        row["notes"].append(f"lost e.g. {lost[:5]}")
    if doubled:
        row["notes"].append(f"doubled e.g. {doubled[:5]}")
    if wrong_id:
        row["notes"].append(f"{len(wrong_id)} stored under another id than the 2xx said, e.g. {wrong_id[:3]}")
    if unknown or stray:
        row["notes"].append(f"{len(unknown) + stray} rows the driver never sent")
    if rec is None:
        row["notes"].append("did not recover within 90 s")
    if not settled:
        row["notes"].append("never settled (consumer not drained) within 120 s")
    with open(os.path.join(args.state, f"{name}.attempts.json"), "w") as f:
        json.dump({"attempts": load.attempts, "stored": counts,
                   "times": {m: (a - load.t0, b - load.t0) for m, (a, b) in load.times.items()},
                   "fault_at": None if result.get("fault_t") is None else result["fault_t"] - load.t0,
                   "feeds": {fd.name: fd.ids for fd in feeds}}, f)
    return row


# --- the suite -----------------------------------------------------------------


def fmt_feeds(f):
    if not f:
        return "-"
    bad = f["missing"] + f["repeated"] + f["extra"]
    txt = f"{f['feeds']} ok" if not bad and not f["order_diff"] else \
        f"{f['feeds']}: missing {f['missing']}, repeated {f['repeated']}" + (f", {f['order_diff']} out of order" if f["order_diff"] else "")
    return txt + f" ({f['reconnects']} reconn.)"


def fmt_table(rows):
    head = ["run", "req/s", "sent", "2xx", "stored", "lost", "doubled", "no-2xx stored", "retried", "down", "time to recover",
            "caught up", "2xx in 10 s after", "slowest 2xx then", "non-2xx after", "longest no-2xx", "live feeds", "result"]
    lines = []
    for r in rows:
        rec = "-" if r["recover"] is None else f"{r['recover']:.1f} s"
        cu = "-" if r["caught_up"] is None else f"{r['caught_up']:.1f} s"
        av = "-" if r.get("avail") is None else f"{100 * r['avail']:.1f} % of {r['avail_n']}"
        lines.append([r["run"], f"{r.get('rate', 0):.0f}", str(r["sent"]), str(r["ok2xx"]), str(r["stored"]), str(r["lost"]), str(r["doubled"]),
                      str(r["no2xx_stored"]), str(r["retried"]), f"{r['down']:.1f} s", rec, cu, av,
                      f"{r['slowest']:.2f} s" if "slowest" in r else "-", str(r.get("after_bad", "-")),
                      f"{r['gap']:.2f} s" if "gap" in r else "-", fmt_feeds(r.get("feeds")), "ok" if r["ok"] else "FAIL"])
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(head)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for l in lines:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(l, widths)) + " |")
    return "\n".join(out)


def nats_version(bin_):
    out = subprocess.run([bin_, "--version"], capture_output=True, text=True).stdout
    return out.strip().split()[-1].lstrip("v")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--bin", default=os.environ.get("CL_BIN", os.path.join(ROOT, "target/debug/callback-listener")))
    ap.add_argument("--nats-current", required=True, help="nats-server >= 2.10 (all split runs)")
    ap.add_argument("--nats-old", default="", help="another nats-server for the kill -9 NATS run (e.g. Debian 2.9.10)")
    ap.add_argument("--state", required=True)
    ap.add_argument("--only", default="", help="comma-separated run names")
    ap.add_argument("--rate", type=float)
    ap.add_argument("--duration", type=float)
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    a.rate = a.rate or (300 if a.short else 2000)
    a.duration = a.duration or (8 if a.short else 30)
    a.concurrency = 64 if a.short else 256
    a.fault_at = a.duration * 0.3
    a.max_attempts, a.timeout = 4, 8.0
    a.nats_down, a.pg_down, a.restart_after = 5.0, 10.0, 1.0
    # cluster runs: live feeds per query process, the availability window after
    # the fault, a lost node's replacement delay, the freeze, Postgres's restart
    a.feeds, a.window, a.node_down, a.freeze, a.pg_restart_down = 3, 10.0, 5.0, 10.0, 3.0
    only = set(filter(None, a.only.split(",")))

    cur_v = nats_version(a.nats_current)
    split_runs = [
        ("baseline", ("none", None)),
        ("kill -9 query", ("kill", "query0")),
        ("kill -9 ingest", ("kill", "ingest0")),
        (f"kill -9 nats {cur_v}", ("kill", "nats")),
        ("stop postgres 10s", ("pg", None)),
        ("SIGTERM ingest", ("term", "ingest0")),
        ("SIGTERM query", ("term", "query0")),
        (f"SIGTERM nats {cur_v}", ("term", "nats")),
    ]
    groups = [("split", a.nats_current, split_runs)]
    if a.nats_old:
        old_v = nats_version(a.nats_old)
        groups.append(("split", a.nats_old, [(f"kill -9 nats {old_v}", ("kill", "nats"))]))
    groups.append(("cluster", a.nats_current, [
        ("cluster baseline", ("cluster-none", None)),
        ("cluster kill -9 stream leader", ("cluster-kill-leader", None)),
        ("cluster rolling restart", ("cluster-rolling", None)),
        ("cluster SIGSTOP stream leader 10s", ("cluster-freeze-leader", None)),
        ("cluster kill -9 leader + restart postgres", ("cluster-kill-leader-pg", None)),
    ]))
    groups.append(("standalone", None, [
        ("kill -9 standalone", ("kill", "standalone")),
        ("SIGTERM standalone", ("term", "standalone")),
    ]))

    def wanted(name):
        return not only or name in only or any(o in name for o in only)

    log(f"binary {a.bin}; load {a.rate:g} req/s for {a.duration:g} s per run; state {a.state}")
    pg = None
    rows = []
    started = time.monotonic()
    try:
        for gi, (shape, nats_bin, runs) in enumerate(groups):
            runs = [r for r in runs if wanted(r[0])]
            if not runs:
                continue
            if shape in ("split", "cluster"):
                if pg is None:
                    pg = Postgres(a.state)
                    log(f"private Postgres on 127.0.0.1:{pg.port} ({pg.dir})")
                    pg.init()
                cls = ClusterSplit if shape == "cluster" else Split
                topo = cls(a, os.path.join(a.state, f"{shape}{gi}"), pg, nats_bin)
                log(f"{shape} topology: nats-server {nats_version(nats_bin)}, stream {topo.stream}")
            else:
                topo = Standalone(a, os.path.join(a.state, "standalone"))
                log("standalone: SQLite " + topo.dbfile)
            topo.up()
            try:
                for name, fault in runs:
                    if fault[1] in ("query0", "ingest0"):
                        kind = fault[1][:-1]
                        fault = (fault[0], f"{kind}-{getattr(topo, kind + '_ports')[0]}")
                    log(f"run: {name}")
                    t = time.monotonic()
                    tag = "f" + rand_tag(6)
                    try:
                        row = one_run(name, topo, fault, pg, a, tag)
                    except Exception as e:
                        row = dict(run=name, sent=0, ok2xx=0, stored=0, lost=0, doubled=0, no2xx_stored=0,
                                   retried=0, gave_up=0, down=0.0, recover=None, settled=False, caught_up=None, ok=False,
                                   notes=[f"error: {type(e).__name__}: {e}"])
                    rows.append(row)
                    rec = "-" if row["recover"] is None else f"{row['recover']:.1f}s"
                    log(f"  {'ok' if row['ok'] else 'FAIL'}: sent {row['sent']}, 2xx {row['ok2xx']}, stored {row['stored']}, "
                        f"lost {row['lost']}, doubled {row['doubled']}, recover {rec}; {row.get('logical', 0)} requests at "
                        f"{row.get('rate', 0):.0f}/s ({time.monotonic() - t:.0f} s)"
                        + "".join(f"; {n}" for n in row["notes"]))
                    if not row["ok"] and row["recover"] is None:
                        if shape == "cluster" and (name, fault) != runs[-1]:
                            # Each cluster scenario matters on its own: start a fresh cluster
                            # (new ports, stream and state dir) for the next one.
                            log("  a service did not recover; a fresh cluster topology for the next run")
                            topo.down()
                            gen = getattr(topo, "gen", 0) + 1
                            topo = ClusterSplit(a, os.path.join(a.state, f"{shape}{gi}.{gen}"), pg, nats_bin)
                            topo.gen = gen
                            topo.up()
                            continue
                        # A service that did not come back would fail every later run in this topology.
                        log("  a service did not recover; skipping the rest of this topology")
                        break
            finally:
                topo.down()
    finally:
        if pg is not None:
            pg.stop("fast")

    print()
    print(fmt_table(rows))
    for r in rows:
        for n in r["notes"]:
            print(f"  {r['run']}: {n}")
    passed = sum(1 for r in rows if r["ok"])
    failed = len(rows) - passed
    print(f"\n(total {time.monotonic() - started:.0f} s; load asked {a.rate:g} req/s for {a.duration:g} s per run, "
          f"req/s = requests the driver achieved; sent counts HTTP attempts, retries included; state in {a.state})")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and rows else 1


if __name__ == "__main__":
    sys.exit(main())
