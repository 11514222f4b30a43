"""Profile one page of the bench desk in-process: its SQL (with timings) and where Python spends time.

    .venv/bin/python bench/profile_pages.py /incidents/123/ [/queue/security/ ...] [--repeat 20] [--post]

Uses the bench database and the bench agent's session, as `make bench` does (no server, no load).
"""

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # sets the bench environment before Django starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--repeat", type=int, default=20, help="requests per path for the timing (default 20)")
    parser.add_argument("--post", action="store_true", help="POST the bench's create-incident form to each path")
    parser.add_argument("--top", type=int, default=30, help="functions listed, by cumulative time")
    parser.add_argument("--sort", default="cumulative", help="pstats order: cumulative, tottime...")
    parser.add_argument("--width", type=int, default=220, help="characters of each query printed")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from incidents.models import Customer

    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["sessionid"] = run.bench_session()
    reference = Customer.objects.order_by("pk").values_list("account_reference", flat=True).first()
    body = {"customer_query": reference, "channel": "phone", "severity": "2", "summary": "Unknown device sign-in."}

    def fetch(path):
        response = client.post(path, body) if args.post else client.get(path)
        assert response.status_code in (200, 302), (path, response.status_code)
        return response

    for path in args.paths:
        fetch(path)  # warm: templates compiled, connection open
        with CaptureQueriesContext(connection) as queries:
            fetch(path)
        print(f"\n=== {path}: {len(queries)} queries, {sum(float(q['time']) for q in queries) * 1000:.1f} ms in SQL")
        for query in queries:
            print(f"  {float(query['time']) * 1000:6.2f} ms  {query['sql'][: args.width]}")
        started = time.perf_counter()
        for _ in range(args.repeat):
            fetch(path)
        print(f"  {(time.perf_counter() - started) / args.repeat * 1000:.1f} ms a request (mean of {args.repeat})")
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            fetch(path)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
