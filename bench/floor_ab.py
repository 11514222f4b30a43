"""The floor side by side: this checkout against a baseline commit, on one database, in one run.

    .venv/bin/python bench/floor_ab.py --baseline 332074e [--rounds 6] [--requests 600]

Two gunicorns (2 workers x 2 threads each) serve the same PostgreSQL database (BENCH_DATABASE_URL,
default .../bulwark_floorab, made and seeded with 2,000 incidents on first use): one from a
temporary worktree of --baseline, one from this checkout. The load generator (bench/loadgen.py)
asks each for the floor view in alternation, several rounds, each server with a session signed in
by its own code. It prints, per round, requests/s, p95 and SQL statements of both, and the median of
the rounds' throughput ratios. Both servers share the machine, so what else runs on it weighs on
both alike. Not a test; nothing here gates CI.
"""

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bulwark_floorab")
ENV = {
    **os.environ,
    "DATABASE_URL": DB,
    "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DEBUG": "0",
    "HTTPS": "0",
    "CONN_MAX_AGE": "60",
    "BULWARK_BENCH": "1",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings",
}
ENV.pop("CELERY_BROKER_URL", None)
SESSION = (
    "import sys, django; sys.path.insert(0, 'bench'); django.setup(); "
    "from run import bench_session; print(bench_session())"
)


def manage(cwd: Path, *args: str) -> str:
    done = subprocess.run([str(PYTHON), *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def prepare(database_name: str) -> None:
    import psycopg

    admin = DB.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database_name]).fetchone():
            conn.execute(f'CREATE DATABASE "{database_name}"')
    manage(ROOT, "manage.py", "migrate", "-v0")
    count = "import django; django.setup(); from incidents.models import Incident; print(Incident.objects.count())"
    if int(manage(ROOT, "-c", count).splitlines()[-1]) < 2000:
        manage(ROOT, "manage.py", "seed_demo", "--incidents", "2000", "--allow-production")


def serve(cwd: Path, port: int) -> subprocess.Popen:
    gunicorn = PYTHON.with_name("gunicorn")
    args = ["config.wsgi", f"--bind=127.0.0.1:{port}", "--workers=2", "--worker-class=gthread", "--threads=2"]
    process = subprocess.Popen(
        [str(gunicorn), *args, "--keep-alive=30", "--log-level=warning"], cwd=cwd, env=ENV, start_new_session=True
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn from {cwd} did not answer")


def load(port: int, cookie: str, requests: int) -> dict:
    csrf = secrets.token_hex(16)
    job = {
        "host": "127.0.0.1",
        "port": port,
        "headers": {"Cookie": f"sessionid={cookie}; csrftoken={csrf}"},
        "connections": 4,
        "requests": requests,
        "seconds": 60,
        "method": "GET",
        "paths": ["/bench/floor/"],
        "body": None,
        "expect": [200],
    }
    done = subprocess.run(
        [str(PYTHON), str(ROOT / "bench" / "loadgen.py")], input=json.dumps(job), capture_output=True, text=True
    )
    result = json.loads(done.stdout)
    latencies = sorted(result["latencies"])
    if len(latencies) < 2:
        raise SystemExit(f"port {port}: no successful requests: {result['errors'][:3]}")
    return {
        "rps": len(latencies) / result["wall"],
        "p95_ms": statistics.quantiles(latencies, n=100)[94] * 1000,
        "sql": statistics.median(result["queries"]) if result["queries"] else None,
        "errors": result["error_count"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=600, help="requests per server per round")
    args = parser.parse_args()
    prepare(DB.rsplit("/", 1)[1])
    with tempfile.TemporaryDirectory(prefix="bulwark-baseline-") as tmp:
        baseline = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True)
        servers = []
        try:
            cookies = {
                8801: manage(baseline, "-c", SESSION).splitlines()[-1],
                8802: manage(ROOT, "-c", SESSION).splitlines()[-1],
            }
            servers = [serve(baseline, 8801), serve(ROOT, 8802)]
            load(8801, cookies[8801], 100), load(8802, cookies[8802], 100)  # warm-up
            ratios = []
            print(
                f"{'round':>5} {'baseline req/s':>14} {'p95 ms':>7} {'SQL':>4} {'this req/s':>10} {'p95 ms':>7} {'SQL':>4} {'ratio':>6}"
            )
            for number in range(1, args.rounds + 1):
                before, after = load(8801, cookies[8801], args.requests), load(8802, cookies[8802], args.requests)
                ratios.append(after["rps"] / before["rps"])
                print(
                    f"{number:>5} {before['rps']:>14.0f} {before['p95_ms']:>7.1f} {before['sql']:>4g} "
                    f"{after['rps']:>10.0f} {after['p95_ms']:>7.1f} {after['sql']:>4g} {ratios[-1]:>5.2f}x",
                    flush=True,
                )
            print(f"median throughput ratio (this / {args.baseline}): {statistics.median(ratios):.2f}x")
        finally:
            for server in servers:
                os.killpg(server.pid, signal.SIGTERM)
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
