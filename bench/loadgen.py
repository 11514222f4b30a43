"""Load generator for `make bench`: its own process, keep-alive connections over loopback.

Reads one JSON job on stdin and prints one JSON result on stdout:

    {"host": "127.0.0.1", "port": 8707, "headers": {"Cookie": "..."}, "connections": 4,
     "requests": 500, "seconds": 20, "method": "GET", "paths": ["/incidents/", ...],
     "body": null, "expect": [200]}

Each connection (a thread with its own http.client connection) sends requests one after another,
cycling through `paths`, until `requests` were sent in all or `seconds` have passed. Latency is
measured from sending the request to reading the whole response body.
"""

import http.client
import itertools
import json
import sys
import threading
import time


def run(job: dict) -> dict:
    paths = job["paths"]
    total, deadline = job["requests"], time.perf_counter() + job["seconds"]
    tickets = itertools.count()
    lock = threading.Lock()
    latencies, queries, workers, errors = [], [], {}, []
    body = job.get("body")
    payload = body.encode() if body else None
    headers = dict(job.get("headers", {}))
    if payload is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    expect = set(job.get("expect", [200]))

    def worker():
        conn = http.client.HTTPConnection(job["host"], job["port"], timeout=30)
        while True:
            with lock:
                ticket = next(tickets)
            if ticket >= total or time.perf_counter() > deadline:
                break
            path = paths[ticket % len(paths)]
            started = time.perf_counter()
            try:
                conn.request(job.get("method", "GET"), path, body=payload, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection(job["host"], job["port"], timeout=30)
                with lock:
                    errors.append(f"{path}: {exc.__class__.__name__}")
                continue
            elapsed = time.perf_counter() - started
            with lock:
                if response.status not in expect:
                    errors.append(f"{path}: HTTP {response.status}")
                    continue
                latencies.append(elapsed)
                if response.getheader("X-Bulwark-Queries"):
                    queries.append(int(response.getheader("X-Bulwark-Queries")))
                pid, _, served = (response.getheader("X-Bulwark-Worker") or "0 0").partition(" ")
                workers[pid] = max(workers.get(pid, 0), int(served or 0))
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(job["host"], job["port"], timeout=30)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(job["connections"])]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "latencies": latencies,
        "wall": wall,
        "queries": queries,
        "workers": workers,
        "errors": errors[:20],
        "error_count": len(errors),
    }


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
