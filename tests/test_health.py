import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_eager_broker_without_signing_in(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager"}


def test_healthz_is_503_when_the_broker_cannot_be_reached(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["broker"].startswith("error")


def test_healthz_reaches_the_real_redis_broker(client, settings, redis_broker):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_broker
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"] == "ok"


def test_healthz_reaches_the_real_postgresql(client, postgres):
    from django.db import connection

    assert connection.vendor == "postgresql"
    assert client.get("/healthz").json()["database"] == "ok"


def test_pages_carry_the_security_headers(client):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "camera=()" in response["Permissions-Policy"]
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
