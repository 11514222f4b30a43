"""`make bench`: the desk's pages under load on PostgreSQL with 100k incidents and 1M audit entries.

Not a test: it prints figures and writes bench/results.json; nothing here gates CI.

1. Creates the benchmark database if missing (BENCH_DATABASE_URL, default
   postgres://postgres@127.0.0.1:5432/bulwark_bench), migrates it and tops it up to --incidents
   incidents and --audit-entries audit entries (`seed_demo --incidents`), then VACUUM ANALYZE.
2. Serves the app with gunicorn on 127.0.0.1 (2 workers x 2 threads, gthread: one worker per
   core of the 2-core target, threads so keep-alive connections are held), with BULWARK_BENCH=1,
   which adds the query-count header and the floor view.
3. Signs a bench agent (security team) in server-side with a confirmed authenticator, as the
   test suite's verify_session does, and hands its session cookie to the load generator
   (bench/loadgen.py, a separate process, --connections keep-alive connections over loopback).
4. Measures each page in --rounds alternations with the floor (a view that runs one indexed query
   and renders a tiny template, behind the same middleware as every page): floor, page, floor,
   page ...; a page's verdict is the median of the per-round ratios of p95 to the floor's p95.
   Then the workers' memory after 100 and after --memory-requests requests each (RSS from /proc).
"""

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bulwark_bench")
SECRET = os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50)
DJANGO_ENV = {
    "DATABASE_URL": BENCH_DB,
    "SECRET_KEY": SECRET,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DEBUG": "0",
    "HTTPS": "0",
    "CONN_MAX_AGE": "60",
    "BULWARK_BENCH": "1",
    "BULWARK_VAR_DIR": str(ROOT / "var" / "bench"),
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}
for name in ("CELERY_BROKER_URL", "EMAIL_URL"):  # tasks run in the web process, mail goes to files
    os.environ.pop(name, None)
os.environ.update(DJANGO_ENV)
sys.path.insert(0, str(ROOT))


def ensure_database() -> None:
    import psycopg

    url = urlparse(BENCH_DB)
    name = url.path.lstrip("/")
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def fill(incidents: int, audit_entries: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from audit.models import AuditEntry
    from incidents.models import Incident
    from incidents.seeding import seed_views

    call_command("migrate", verbosity=0)
    have = Incident.objects.count()
    timings = {}
    if have < incidents:
        print(f"seeding {incidents - have:,} incidents (have {have:,})")
        started = time.perf_counter()
        call_command("seed_demo", incidents=incidents - have, allow_production=True)
        timings["seed_seconds"] = round(time.perf_counter() - started, 1)
    entries = AuditEntry.objects.count()
    if entries < audit_entries:
        print(f"adding {audit_entries - entries:,} audit entries (have {entries:,})")
        started = time.perf_counter()
        seed_views(audit_entries - entries)
        timings["audit_top_up_seconds"] = round(time.perf_counter() - started, 1)
    if timings:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
    return {"incidents": Incident.objects.count(), "audit_entries": AuditEntry.objects.count(), **timings}


def bench_session() -> str:
    """A verified session of the bench agent: the value of its session cookie."""
    from django.contrib.auth.models import Group
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from accounts.roles import Role

    user = User.objects.filter(email="bench@bench.bulwark.test").first()
    if user is None:
        user = User.objects.create_user("bench@bench.bulwark.test", None, full_name="Bench Agent")
    user.groups.add(Group.objects.get(name=Role.SECURITY))
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="Authenticator app", confirmed=True
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return session.session_key


def targets(deep_pages: int) -> list[dict]:
    """The pages, with the ids and words they are fetched with."""
    import random

    from audit.selectors import PAGE_SIZE as AUDIT_PAGE
    from audit.selectors import head_seq
    from core.paging import PAGE_SIZE, cursor_for
    from incidents.models import Customer, Incident, Indicator

    rng = random.Random(1)
    top = Incident.objects.order_by("-id").values_list("id", flat=True).first()
    detail_ids = [rng.randrange(1, top) for _ in range(300)]
    deep_pages = min(deep_pages, (Incident.objects.count() - 1) // PAGE_SIZE)  # small desks have fewer
    deep = Incident.objects.order_by("-created_at", "-id")[deep_pages * PAGE_SIZE]
    references = list(Customer.objects.order_by("?").values_list("account_reference", flat=True)[:100])
    shared_ip = (
        Indicator.objects.filter(ip__startswith="185.220.101.").values_list("ip", flat=True).first() or "185.220.101.7"
    )
    head = head_seq()
    audit_page = max(1, min(5000, head // AUDIT_PAGE - 2))
    return [
        {"name": "floor (one indexed query, tiny template)", "paths": ["/bench/floor/"]},
        {"name": "incident list", "paths": ["/incidents/"]},
        {
            "name": "incident list, filtered",
            "paths": ["/incidents/?status=open&severity=3", "/incidents/?stage=investigate", "/incidents/?team=tier2"],
        },
        {"name": f"incident list, page {deep_pages:,}", "paths": [f"/incidents/?older={cursor_for(deep)}"]},
        {"name": "incident detail", "paths": [f"/incidents/{pk}/" for pk in detail_ids]},
        {"name": "security queue", "paths": ["/queue/security/"]},
        {"name": "text search, common word", "paths": ["/incidents/?q=customer"]},
        {"name": "text search, one customer", "paths": [f"/incidents/?{urlencode({'q': r})}" for r in references]},
        {"name": "IP search, one address", "paths": [f"/ip/?ip={shared_ip}"]},
        {"name": "IP search, /24 network", "paths": ["/ip/?ip=185.220.101.0/24"]},
        {"name": "audit viewer, first page", "paths": ["/audit/"]},
        {
            "name": f"audit viewer, page {audit_page:,}",
            "paths": [f"/audit/?before={max(2, head - audit_page * AUDIT_PAGE - i)}" for i in range(50)],
        },
        {
            "name": "create incident (POST)",
            "method": "POST",
            "paths": ["/incidents/new/"],
            "references": references,
            "expect": [302],
        },
    ]


class Server:
    def __init__(self, port: int, workers: int, threads: int):
        self.port = port
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [
                str(gunicorn),
                "config.wsgi",
                f"--bind=127.0.0.1:{port}",
                f"--workers={workers}",
                "--worker-class=gthread",
                f"--threads={threads}",
                "--keep-alive=30",
                "--log-level=warning",
                "--logger-class=config.gunicorn_conf.RedactingLogger",  # card numbers never logged
            ],
            cwd=ROOT,
            env={**os.environ},
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        import http.client

        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise SystemExit("gunicorn exited before it answered")
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer /healthz in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def rss_kib(pid: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def load(port, cookie, csrf, target, *, requests, seconds, connections) -> dict:
    """Run the load generator (its own process) against one page and return its raw result."""
    body = None
    if target.get("method") == "POST":
        body = urlencode(
            {
                "customer_query": target["references"][int(time.time()) % len(target["references"])],
                "channel": "phone",
                "severity": "2",
                "summary": "Customer reports a sign-in from an unknown device and a changed payout account.",
            }
        )
    job = {
        "host": "127.0.0.1",
        "port": port,
        "headers": {"Cookie": f"sessionid={cookie}; csrftoken={csrf}", "X-CSRFToken": csrf},
        "connections": connections,
        "requests": requests,
        "seconds": seconds,
        "method": target.get("method", "GET"),
        "paths": target["paths"],
        "body": body,
        "expect": target.get("expect", [200]),
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "loadgen.py")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def merged(results: list[dict]) -> dict:
    """Several load runs of one page as one: latencies and query counts pooled, walls added."""
    return {
        "latencies": [x for r in results for x in r["latencies"]],
        "queries": [x for r in results for x in r["queries"]],
        "wall": sum(r["wall"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:5],
        "error_count": sum(r["error_count"] for r in results),
        "workers": {k: v for r in results for k, v in r["workers"].items()},
    }


def summarise(name: str, result: dict) -> dict:
    latencies = sorted(result["latencies"])
    if len(latencies) < 2:
        return {
            "page": name,
            "requests": len(latencies),
            "errors": result["errors"],
            "error_count": result["error_count"],
        }
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    queries = result["queries"]
    return {
        "page": name,
        "requests": len(latencies),
        "rps": round(len(latencies) / result["wall"], 1),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "queries": statistics.median(queries) if queries else None,
        "queries_min": min(queries) if queries else None,
        "queries_max": max(queries) if queries else None,
        "error_count": result["error_count"],
        "errors": result["errors"],
    }


def table(rows: list[dict], floor_p95: float) -> str:
    """One line a page: p95/floor against the first floor run; the verdict is the median, over the
    rounds, of the page's p95 over the floor's p95 measured just before it in the same round."""
    head = (
        f"{'page':42} {'req':>5} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'SQL':>4} "
        f"{'p95/floor':>9} {'adj.floor':>9} {'median of rounds':>16}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        if "p95_ms" not in row:
            lines.append(f"{row['page']:42} {row['requests']:>5}  no successful requests: {row['errors'][:2]}")
            continue
        ratio = row["p95_ms"] / floor_p95 if floor_p95 else 0
        adjacent = row.get("adjacent_floor_p95_ms") or 0
        local = row.get("median_round_ratio") or 0
        row["p95_ratio_to_floor"] = round(ratio, 2)
        mark = "" if local <= 3 else "  > 3x"
        errors = f"  ({row['error_count']} errors)" if row["error_count"] else ""
        queries = "-" if row["queries"] is None else f"{row['queries']:g}"
        lines.append(
            f"{row['page']:42} {row['requests']:>5} {row['rps']:>6.1f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {queries:>4} {ratio:>8.2f}x {adjacent:>9.1f} {local:>15.2f}x{mark}{errors}"
        )
    return "\n".join(lines)


def free_port(preferred: int) -> int:
    for port in [preferred, *range(8700, 8800)]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port from 8700 to 8799")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--audit-entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=400, help="requests per page (default 400)")
    parser.add_argument("--seconds", type=float, default=30, help="at most this long per page (default 30)")
    parser.add_argument("--connections", type=int, default=4, help="concurrent keep-alive connections (default 4)")
    parser.add_argument("--rounds", type=int, default=5, help="floor/page alternations per page (default 5)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-requests", type=int, default=10_000, help="requests per worker for the memory check")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8707")))
    parser.add_argument("--deep-page", type=int, default=2000, help="the deep incident-list page (default 2,000)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args()

    ensure_database()
    import django

    django.setup()
    print(f"database {BENCH_DB}")
    data = fill(args.incidents, args.audit_entries)
    print(f"data: {data['incidents']:,} incidents, {data['audit_entries']:,} audit entries")
    cookie, csrf = bench_session(), secrets.token_hex(16)
    pages = targets(args.deep_page)
    from django.db import connections

    connections.close_all()

    port = free_port(args.port)
    load_before = os.getloadavg()
    server = Server(port, args.workers, args.threads)
    try:
        server.wait_ready()
        print(
            f"gunicorn on 127.0.0.1:{port}: {args.workers} workers x {args.threads} threads (gthread); "
            f"{args.connections} connections"
        )
        mixed = {"name": "mixed", "paths": [p for t in pages if t.get("method") != "POST" for p in t["paths"][:3]]}
        served: dict[str, int] = {}
        while len(served) < args.workers or min(served.values()) < 100:
            result = load(port, cookie, csrf, mixed, requests=100, seconds=60, connections=args.connections)
            served.update(result["workers"])
        memory_100 = {pid: rss_kib(pid) for pid in served}
        rows = []
        floor = pages[0]
        for target in pages:
            # Floor and page in alternation, several rounds (A B A B ...): the other work on the
            # machine comes and goes, and each round compares the page with the floor measured
            # under the same load. The page's figure is the median of the rounds' ratios.
            per_round = max(20, args.requests // args.rounds)
            floors, results, ratios = [], [], []
            for _ in range(args.rounds):
                adjacent = load(
                    port, cookie, csrf, floor, requests=per_round, seconds=args.seconds, connections=args.connections
                )
                result = load(
                    port, cookie, csrf, target, requests=per_round, seconds=args.seconds, connections=args.connections
                )
                served.update(result["workers"])
                floors.append(adjacent)
                results.append(result)
                page_p95 = summarise(target["name"], result).get("p95_ms")
                floor_p95_round = summarise(floor["name"], adjacent).get("p95_ms")
                if page_p95 and floor_p95_round:
                    ratios.append(page_p95 / floor_p95_round)
            row = summarise(target["name"], merged(results))
            row["adjacent_floor_p95_ms"] = summarise(floor["name"], merged(floors)).get("p95_ms")
            row["round_ratios"] = [round(r, 2) for r in ratios]
            row["median_round_ratio"] = round(statistics.median(ratios), 2) if ratios else None
            rows.append(row)
            print(
                f"  {row['page']}: {row.get('p95_ms', '-')} ms p95, median of {len(ratios)} rounds "
                f"{row['median_round_ratio']}x the floor ({row['requests']} requests)",
                flush=True,
            )
        while min(served.values()) < args.memory_requests:
            result = load(port, cookie, csrf, mixed, requests=2000, seconds=600, connections=args.connections)
            served.update(result["workers"])
            print(f"  memory run: {min(served.values()):,} requests served by the least busy worker", end="\r")
        print()
        memory_end = {pid: rss_kib(pid) for pid in served}
    finally:
        server.stop()
    load_after = os.getloadavg()

    floor_p95 = rows[0]["p95_ms"]
    printed = table(rows, floor_p95)
    memory = [
        {
            "worker_pid": int(pid),
            "rss_kib_after_100": memory_100[pid],
            "requests_served": served[pid],
            "rss_kib_at_end": memory_end[pid],
            "growth_percent": round(100 * (memory_end[pid] - memory_100[pid]) / memory_100[pid], 1),
        }
        for pid in sorted(served)
    ]
    print()
    print(printed)
    print()
    for m in memory:
        print(
            f"worker {m['worker_pid']}: RSS {m['rss_kib_after_100'] / 1024:.1f} MiB after 100 requests, "
            f"{m['rss_kib_at_end'] / 1024:.1f} MiB after {m['requests_served']:,} ({m['growth_percent']:+.1f}%)"
        )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores shared with other work)")
    results = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "database": urlparse(BENCH_DB)._replace(netloc=urlparse(BENCH_DB).hostname or "").geturl(),
        "data": data,
        "server": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread"},
        "connections": args.connections,
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "floor_p95_ms": floor_p95,
        "pages": rows,
        "memory": memory,
        "table": printed,
    }
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
