"""The desk's URLs plus the benchmark's floor view, for the test of the fixed cost per request."""

from django.urls import path

from config.benchmark import floor
from config.urls import urlpatterns as desk

urlpatterns = [path("bench/floor/", floor, name="bench-floor"), *desk]
