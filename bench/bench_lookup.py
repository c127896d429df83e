"""Public JSON lookup over HTTP with one million licences, next to nginx serving a static file of
the same size on the same machine (the ceiling for one HTTP request on loopback).

    .venv/bin/python bench/bench_lookup.py [--rows 1000000] [--home DIR] [--duration 10] [--rounds 3]
                                           [--connections 1,8,32] [--workers 1,2] [--before GITREF]

1. A data directory is bootstrapped and one real licence is issued through the pipeline; its rows
   (numbers, documents, status_events, licence_records, status_list_entries) are then cloned in bulk straight into the
   SQLite file, up to ``--rows`` licences, each with its own number, hashes, GB/T 36904
   identifier and verification code. With ``--home`` an existing benchmark directory is reused.
   Then ``yiyin public-answers`` prepares every licence's public answer, as after a restore.
2. In this process, the lookup of random licences is timed afresh (the answer built from the
   registry's rows) and from the prepared answer, without HTTP.
3. ``yiyin serve`` runs on 127.0.0.1 (YIYIN_RATE_LIMIT=0/1: rate limiting off) with 1 and 2
   uvicorn workers; wrk (Debian's) asks GET /api/v1/verify?n=…&c=… for licences drawn at random
   from the whole million, for ``--duration`` seconds per run, at each connection count.
4. uvicorn, run as ``yiyin serve`` runs it, serves the same bytes from an ASGI app that does
   nothing else: the floor of any Python web application on this machine.
5. nginx (Debian's, started from a private config that listens on 127.0.0.1 only, stopped after)
   serves a file of the lookup's response size, under the same wrk runs.
6. With ``--before GITREF``, ``yiyin serve`` as it was at that commit runs beside today's, on the
   same data (or on ``--before-home``, a copy of it at that commit's schema).

All servers run at once and are measured one after another, ``--rounds`` times over; each
share of nginx is taken within one round. The servers and wrk share this machine's cores.
Prints a Markdown table of medians.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def code_for(i: int) -> str:
    n = int.from_bytes(hashlib.sha256(b"bench-code-%d" % i).digest()[:10], "big")
    chars = "".join(ALPHABET[(n >> (5 * k)) & 31] for k in reversed(range(16)))
    return "-".join(chars[j:j + 4] for j in range(0, 16, 4))


def number_for(i: int) -> str:
    return f"辽EA0321{i:07d}"


def build(home: Path, rows: int) -> dict:
    """Bootstrap, issue one real licence, clone it to ``rows`` licences. Returns facts."""
    env = {**os.environ, "YIYIN_HOME": str(home)}
    t0 = time.perf_counter()
    exe = shutil.which("yiyin", path=str(Path(sys.executable).parent)) or "yiyin"
    subprocess.run([exe, "demo", "--out", str(home / "demo-out")], env=env, check=True, capture_output=True, timeout=600)
    db = sqlite3.connect(home / "yiyin.db", isolation_level=None)
    db.row_factory = sqlite3.Row
    doc = db.execute("SELECT * FROM documents WHERE doc_type = 'licence_drug_retail'").fetchone()
    num = db.execute("SELECT * FROM numbers WHERE number = ?", (doc["number"],)).fetchone()
    ev = db.execute("SELECT * FROM status_events WHERE document_id = ?", (doc["id"],)).fetchone()
    rec = db.execute("SELECT * FROM licence_records WHERE document_id = ?", (doc["id"],)).fetchone()
    prefix = rec["identifier"].rsplit(".", 4)[0]  # 1.2.156.3005.2.<type>.<organ>
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    chunk = 50_000
    for start in range(2, rows + 1, chunk):  # number 1 is the real one
        ids = range(start, min(rows + 1, start + chunk))
        db.executemany("INSERT INTO numbers VALUES (?,?,?,?,?,?)",
                       [(number_for(i), num["organ_id"], num["doc_type"], num["period"], i, num["allocated_at"]) for i in ids])
        docs = []
        for i in ids:
            h = hashlib.sha256(b"bench-doc-%d" % i).hexdigest()
            digest = hashlib.sha256(code_for(i).encode()).hexdigest()
            docs.append((f"{i:032x}", number_for(i), doc["doc_type"], doc["title"], doc["organ_id"], doc["item_code"],
                         doc["case_ref"], doc["holder"], doc["issue_date"], doc["valid_from"], doc["valid_until"], h,
                         doc["size"], doc["seal_id"], digest, h, doc["public_data"], doc["issued_at"]))
        db.executemany("INSERT INTO documents (id, number, doc_type, title, organ_id, item_code, case_ref, holder, issue_date,"
                       " valid_from, valid_until, sha256, size, seal_id, code_digest, storage_key, public_data, issued_at)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", docs)
        db.executemany("INSERT INTO status_events (document_id, status, reason, basis, actor, at) VALUES (?,?,?,?,?,?)",
                       [(f"{i:032x}", ev["status"], ev["reason"], ev["basis"], ev["actor"], ev["at"]) for i in ids])
        db.executemany("INSERT INTO licence_records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       [(f"{i:032x}", f"{prefix}.{i:08d}.001.X", rec["licence_name"], number_for(i), rec["type_code"],
                         rec["organ_code"], rec["organ_name"], 1_000_000 + i, 1, rec["issue_date"], rec["valid_from"],
                         rec["valid_until"], rec["holder"], rec["holder_code"], rec["holder_code_type"], rec["item_code"],
                         rec["item_name"], None, "", rec["recorded_at"]) for i in ids])
        # a place in the status lists: half of each 131,072-bit list, as the registry fills them
        db.executemany("INSERT INTO status_list_entries (document_id, list_id, idx) VALUES (?,?,?)",
                       [(f"{i:032x}", 1000 + i // 65536, 2 * (i % 65536)) for i in ids])
    db.execute("COMMIT")
    db.execute("ANALYZE")
    count = db.execute("SELECT count(*) FROM documents WHERE doc_type = 'licence_drug_retail'").fetchone()[0]
    db.close()
    facts = {"rows": count, "build_seconds": round(time.perf_counter() - t0, 1)}
    # every licence's public answer prepared ahead, as `yiyin public-answers` does after a restore
    t1 = time.perf_counter()
    subprocess.run([exe, "public-answers"], env=env, check=True, capture_output=True, timeout=7200)
    facts["prepare_seconds"] = round(time.perf_counter() - t1, 1)
    (home / "bench.json").write_text(json.dumps(facts, ensure_ascii=False))
    return facts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen | None = None) -> None:
    import urllib.request

    for _ in range(300):
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def wrk_script(path: Path, rows: int, count: int = 4000) -> None:
    rng = random.Random(7)
    picks = [rng.randint(2, rows) for _ in range(count)]
    paths = [f"/api/v1/verify?n={quote(number_for(i))}&c={code_for(i)}" for i in picks]
    path.write_text("paths = {\n" + ",\n".join(f'  "{p}"' for p in paths) + "\n}\n"
                    "local i = 0\n"
                    "request = function()\n"
                    "  i = i + 1\n"
                    "  return wrk.format(\"GET\", paths[(i % #paths) + 1])\n"
                    "end\n"
                    "done = function(summary, latency, requests)\n"
                    "  io.write(string.format(\"STATS %d %d %d %d %.3f %.3f %.3f\\n\", summary.requests,"
                    " summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write"
                    " + summary.errors.timeout, summary.duration,"
                    " latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))\n"
                    "end\n")


def run_wrk(url: str, connections: int, duration: int, script: Path | None) -> dict:
    threads = 1 if connections < 4 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s"]
    if script is not None:
        cmd += ["-s", str(script)]
    else:
        cmd += ["-s", str(script_stats_only())]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 60).stdout
    m = re.search(r"STATS (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if not m:
        raise SystemExit(f"wrk said:\n{out}")
    requests, status_errors, socket_errors, micros = (int(m[i]) for i in range(1, 5))
    return {"rps": requests / (micros / 1e6), "p50": float(m[5]), "p99": float(m[6]), "max": float(m[7]),
            "requests": requests, "non2xx": status_errors, "socket_errors": socket_errors}


_STATS_ONLY: Path | None = None


def script_stats_only() -> Path:
    global _STATS_ONLY
    if _STATS_ONLY is None:
        fd, name = tempfile.mkstemp(suffix=".lua")
        os.write(fd, b'done = function(summary, latency, requests)\n'
                     b'  io.write(string.format("STATS %d %d %d %d %.3f %.3f %.3f\\n", summary.requests, summary.errors.status,'
                     b' summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,'
                     b' summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))\n'
                     b'end\n')
        os.close(fd)
        _STATS_ONLY = Path(name)
    return _STATS_ONLY


def start_yiyin(home: Path, workers: int, pythonpath: Path | None = None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "YIYIN_HOME": str(home), "YIYIN_RATE_LIMIT": "0/1"}
    if pythonpath is not None:  # the package from elsewhere, with this checkout's sample data
        env.update(PYTHONPATH=str(pythonpath), YIYIN_SAMPLES=str(ROOT / "samples"))
    exe = shutil.which("yiyin", path=str(Path(sys.executable).parent)) or "yiyin"
    # no access log, as nginx below
    proc = subprocess.Popen([exe, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--no-access-log"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", proc)
    return proc, base


_EMPTY_APP = """
BODY = open(__file__.replace("empty_app.py", "body.json"), "rb").read()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": BODY})
"""


def start_empty_asgi(root: Path, body: bytes, workers: int) -> tuple[subprocess.Popen, str]:
    """uvicorn (as yiyin serve runs it: uvloop, httptools, no access log) serving the same bytes
    from an ASGI app that does nothing else: what any Python web application pays per request
    on this machine before it does any work."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "empty_app.py").write_text(_EMPTY_APP)
    (root / "body.json").write_bytes(body)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "empty_app:app", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/", proc)
    return proc, base


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def start_nginx(root: Path, body: bytes) -> tuple[Path, str]:
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    for folder in (root.parent, root):
        folder.chmod(0o755)  # nginx's workers run as nobody
    (root / "html").mkdir(parents=True, exist_ok=True)
    (root / "html" / "lookup.json").write_bytes(body)
    (root / "logs").mkdir(exist_ok=True)
    conf = root / "nginx.conf"
    conf.write_text(f"""
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type application/json;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path {root}/tmp-body;
    proxy_temp_path {root}/tmp-proxy;
    fastcgi_temp_path {root}/tmp-fastcgi;
    uwsgi_temp_path {root}/tmp-uwsgi;
    scgi_temp_path {root}/tmp-scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root}/html;
    }}
}}
""")
    subprocess.run(["nginx", "-c", str(conf), "-p", str(root)], check=True, capture_output=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/lookup.json")
    except BaseException:
        stop_nginx(conf, root)
        raise
    return conf, base


def stop_nginx(conf: Path, root: Path) -> None:
    subprocess.run(["nginx", "-c", str(conf), "-p", str(root), "-s", "quit"], capture_output=True)
    for _ in range(100):
        if not (root / "nginx.pid").exists():
            return
        time.sleep(0.1)


def compare_in_process(home: Path, rows: int, count: int = 20_000) -> dict[str, float]:
    """Microseconds per lookup of random licences, in this process, with no HTTP: the answer built
    afresh from the registry's rows (what every lookup did before answers were prepared) and the
    prepared answer, through the same functions the server calls."""
    os.environ["YIYIN_HOME"] = str(home)
    sys.path.insert(0, str(ROOT))
    from yiyin.registry.public_read import PublicReader
    from yiyin.service.app import App
    from yiyin.service.web.lookup import api_lookup, encode, lookup
    from yiyin.service.web.readdb import read_engine

    app = App.open()
    try:
        reads, url = PublicReader(read_engine(app), hold=True), app.settings.public_url
        picks = [random.randint(2, rows) for _ in range(count)]
        out = {}
        for name, ask in (("afresh", lambda i: encode(lookup(reads, number_for(i), code_for(i), None, url))),
                          ("prepared", lambda i: api_lookup(reads, number_for(i), code_for(i), None, url).body)):
            t = time.perf_counter()
            for i in picks:
                ask(i)
            out[name] = round((time.perf_counter() - t) / count * 1e6, 1)
        reply = api_lookup(reads, number_for(picks[0]), code_for(picks[0]), None, url)
        assert reply.prepare is None and reply.body == encode(lookup(reads, number_for(picks[0]), code_for(picks[0]), None, url))
        return out
    finally:
        app.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--home", type=Path, help="reuse (or create, and keep) this benchmark data directory; "
                                              "without it a temporary one is built and removed")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", default="1,8,32")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--rounds", type=int, default=3, help="times each server is measured, interleaved")
    ap.add_argument("--before", metavar="GITREF", help="also run yiyin serve as it was at this commit")
    ap.add_argument("--before-home", type=Path, metavar="DIR",
                    help="the data directory of --before's servers, when its schema is older (a copy of --home made before)")
    ap.add_argument("--build-only", action="store_true", help="build (or reuse) and compare in process; no HTTP runs")
    args = ap.parse_args()
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            raise SystemExit(f"needs Debian's {tool}: apt-get install {tool}")

    home = args.home or Path(tempfile.mkdtemp(prefix="yiyin-bench-lookup-"))
    facts_file = home / "bench.json"
    if facts_file.exists() and json.loads(facts_file.read_text())["rows"] >= args.rows:
        facts = json.loads(facts_file.read_text())
        print(f"reusing {home}: {facts['rows']:,} licences")
    else:
        print(f"building {args.rows:,} licences in {home} …", flush=True)
        facts = build(home, args.rows)
        print(f"built in {facts['build_seconds']} s", flush=True)
    rows = facts["rows"]
    db_size = (home / "yiyin.db").stat().st_size
    # Read the database once, so that both servers answer from the OS page cache (as nginx's file is)
    # rather than from disk: the comparison is of the two servers, not of the disk.
    with open(home / "yiyin.db", "rb") as f:
        while f.read(1 << 24):
            pass
    in_process = compare_in_process(home, rows)
    print(f"in process, per lookup: {in_process}", flush=True)
    if args.build_only:
        return
    script = home / "lookup.lua"
    wrk_script(script, rows)
    conns = [int(x) for x in args.connections.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",")]
    servers: list[Server] = []
    scratch = Path(tempfile.mkdtemp(prefix="yiyin-bench-servers-"))
    nginx_conf: Path | None = None
    try:
        for workers in worker_counts:
            servers.append(Server(f"yiyin serve, {plural(workers)}", *start_yiyin(home, workers), script))
        body = sample_answer(servers[0].base, rows)
        if args.before:
            old = checkout(args.before, scratch / "before")
            for workers in worker_counts:
                servers.append(Server(f"yiyin serve at {args.before}, {plural(workers)}",
                                      *start_yiyin(args.before_home or home, workers, pythonpath=old), script))
        for workers in worker_counts:
            servers.append(Server(f"uvicorn, empty ASGI app, {plural(workers)}",
                                  *start_empty_asgi(scratch / f"asgi-{workers}", body, workers), None))
        nginx_conf, nginx_base = start_nginx(scratch / "nginx", body)
        servers.append(Server("nginx, static file of the same size", None, nginx_base + "/lookup.json", None))
        for server in servers:  # warm up
            run_wrk(server.url, 8, 3, server.script)
        # Every server is measured once per round, one after the other, at each connection count:
        # this machine's speed drifts by minutes, and the shares are taken within a round.
        runs: dict[tuple[str, int], list[dict]] = {}
        for rnd in range(args.rounds):
            for c in conns:
                for server in servers:
                    r = run_wrk(server.url, c, args.duration, server.script)
                    runs.setdefault((server.name, c), []).append(r)
                    print(f"round {rnd + 1} c={c} {server.name}: {r['rps']:,.0f}/s p99 {r['p99']} ms", flush=True)
    finally:
        for server in servers:
            if server.proc is not None:
                stop(server.proc)
        if nginx_conf is not None:
            stop_nginx(nginx_conf, scratch / "nginx")
        shutil.rmtree(scratch, ignore_errors=True)
    if args.home is None:  # a 7 GiB registry nobody asked to keep
        shutil.rmtree(home, ignore_errors=True)

    print(f"\nlicences: {rows:,}; database {db_size / 2**20:,.0f} MiB; response {len(body):,} bytes; "
          f"CPU: {os.cpu_count()} cores shared by server and wrk; in process, µs per lookup: {in_process}; "
          f"{args.rounds} rounds of {args.duration} s: medians, shares taken against nginx in the same round\n")
    print("| server | connections | requests/s | p50 ms | p99 ms | max ms | share of nginx | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    nginx_name = servers[-1].name
    for server in servers:
        for c in conns:
            mine, theirs = runs[(server.name, c)], runs[(nginx_name, c)]
            shares = [a["rps"] / b["rps"] for a, b in zip(mine, theirs)]
            med = {key: statistics.median(r[key] for r in mine) for key in ("rps", "p50", "p99")}
            print(f"| {server.name} | {c} | {med['rps']:,.0f} | {med['p50']:.2f} | {med['p99']:.2f} | "
                  f"{max(r['max'] for r in mine):.1f} | {statistics.median(shares):.0%} "
                  f"({min(shares):.0%}-{max(shares):.0%}) | {sum(r['non2xx'] + r['socket_errors'] for r in mine)} |")


@dataclasses.dataclass
class Server:
    name: str
    proc: subprocess.Popen | None
    base: str
    script: Path | None

    @property
    def url(self) -> str:
        return self.base if self.proc is None else self.base + "/"


def plural(workers: int) -> str:
    return f"{workers} worker{'s' if workers > 1 else ''}"


def sample_answer(base: str, rows: int) -> bytes:
    """One licence's answer from the running server: the size nginx's file is given."""
    import urllib.request

    sample = 2 + rows // 2
    with urllib.request.urlopen(f"{base}/api/v1/verify?n={quote(number_for(sample))}&c={code_for(sample)}") as r:
        body = r.read()
    assert json.loads(body)["result"] == "found"
    return body


def checkout(ref: str, into: Path) -> Path:
    """The package as it was at ``ref``, to run the same server from (``PYTHONPATH``)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "yiyin"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into

if __name__ == "__main__":
    main()
