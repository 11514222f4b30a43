"""What `make bench` needs inside the app, switched on only by BULWARK_BENCH=1 (never in production).

- QueryCountMiddleware adds to every response the number of SQL queries it ran
  (`X-Bulwark-Queries`), the worker's pid and how many requests that worker has served.
- floor(): the floor the pages are compared with. It runs one indexed query and renders a tiny
  template, behind the same middleware (sessions, two factors, CSP...) as every page.
"""

import itertools
import os

from django.db import connection
from django.shortcuts import render

from incidents.models import Incident

_served = itertools.count(1)


class QueryCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        queries = 0

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response["X-Bulwark-Queries"] = str(queries)
        response["X-Bulwark-Worker"] = f"{os.getpid()} {next(_served)}"
        return response


def floor(request):
    newest = Incident.objects.order_by("-created_at", "-id").values_list("id", flat=True).first()
    return render(request, "bench/floor.html", {"newest": newest})
