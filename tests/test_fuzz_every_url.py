"""Hostile input to every URL of the project: 0 server errors.

The URLs come from the resolver (a new one is fuzzed the moment it is routed, and the test fails
if it cannot be reached with real ids). Each is requested with every known query parameter set to
hostile values, and every form the pages render is posted back with each field hostile in turn
(fields read from the rendered HTML: inputs, selects, textareas). Runs on SQLite and, when
DATABASE_URL is set, on PostgreSQL, which refuses NUL characters in text.
"""

import itertools
import traceback
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import pytest
from django.core.signals import got_request_exception
from django.urls import Resolver404, resolve

from tests.conftest import verify_session
from tests.hostile import TEXT, build_world, urls_with_ids

pytestmark = pytest.mark.django_db

VALUES = [
    "\x00",
    "a\x00b",
    "<script>x()</script>",
    '"><img src=x onerror=x()>',
    "javascript:alert(1)",
    "{{ 7|add:1 }}{% now 'Y' %}",
    "\u202eevil\u202a\u2067",
    "e" + "\u0301" * 300,
    "x" * 20_000,
    "\U0001f4a9\ufeff\u200b",
    "not-an-email@",
    "a@b@c",
    "user@[::1",
    "1.2.3.4/99",
    "::ffff:1.2.3.4/200",
    "[::1",
    "fe80::1%eth0/64",
    "fe80::%eth0/64",
    "-1",
    "0",
    "1e309",
    str(2**63),
    str(-(2**63) - 1),
    "9" * 40,
    "NaN",
    "inf",
    "0x1F",
    "\u0661\u0662\u0663",
    "0000-00-00",
    "9999-12-31T23:59",
    "9999-12-31",
    "1900-01-01",
    "2026-02-30",
    "2026-13-01T25:61",
    "99999-01-01",
    "../../etc/passwd",
    "",
    " ",
    TEXT,
]
# Bytes no browser should send: a lone surrogate in UTF-8 (CESU), invalid UTF-8, overlong "/".
RAW = ["%ED%A0%80", "%FF%FE", "%C0%AF", "%E2%80"]
# Every query parameter a view or a filter form reads (grep request.GET and the GET forms), the
# admin's own, and a few nobody reads.
QUERY_PARAMS = [
    "q", "ip", "stage", "status", "severity", "team", "assignee", "mine", "page", "older", "newer", "customer",
    "next", "start", "end", "actor", "action", "incident", "date_from", "date_to", "before", "fmt",
    "o", "p", "e", "all", "_changelist_filters", "_to_field", "_popup", "app_label", "model_name", "field_name",
    "term", "zz_unknown", "__proto__",
]  # fmt: skip
# Pages whose POST ends this browser's session: re-signed in after each.
SIGNING_IN = ("/accounts/login/", "/accounts/verify/", "/accounts/enrol/", "/accounts/confirm/", "/admin/login/")


class _Forms(HTMLParser):
    """The forms of a page: method, action and each field with the values it offers."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").lower(), "action": a.get("action") or "", "fields": {}}
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                if kind == "submit":
                    self._form["fields"].setdefault(a["name"], []).append(a.get("value") or "")
                return
            values = self._form["fields"].setdefault(a["name"], [])
            if kind not in ("checkbox", "radio") or "checked" in a:
                values.insert(0, a.get("value") or "")
            else:
                values.append(a.get("value") or "on")
        elif tag == "select":
            self._select = self._form["fields"].setdefault(a["name"], [])
        elif tag == "textarea":
            self._textarea = self._form["fields"].setdefault(a["name"], [])
            self._textarea.append("")
        if tag == "option" and self._select is not None:
            self._select.append(a.get("value", ""))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


class Fuzzer:
    def __init__(self, client, world):
        self.client, self.world = client, world
        self.failures: list[str] = []
        self.requests = 0
        self.statuses: dict[int, int] = {}
        self._last_exception = None
        client.raise_request_exception = False
        self.sign_in()

    def sign_in(self):
        boss = self.world["boss"]
        boss.refresh_from_db()  # a fuzzed post may have changed the password: sign in with the current one
        verify_session(self.client, boss, reauthenticated=True)

    def _exception(self, sender, request=None, **kwargs):
        lines = traceback.format_exc(limit=-2).strip().splitlines()
        self._last_exception = " | ".join(line.strip() for line in lines[-3:])

    def request(self, method, url, data=None, **extra):
        self._last_exception = None
        got_request_exception.connect(self._exception)
        try:
            response = getattr(self.client, method)(url, data, **extra)
        finally:
            got_request_exception.disconnect(self._exception)
        self.requests += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            shown = {k: v[:40] for k, v in data.items() if v} if isinstance(data, dict) else str(data or extra)[:200]
            self.failures.append(f"{method.upper()} {url} {shown} -> {response.status_code}: {self._last_exception}")
        if (response.status_code == 302 and response["Location"].startswith(SIGNING_IN)) or url in SIGNING_IN:
            self.sign_in()
        return response


def _rotation(start: int, count: int) -> list[str]:
    return [VALUES[(start + i) % len(VALUES)] for i in range(count)]


def _page_forms(fuzzer, urls) -> tuple[dict[str, list[dict]], set[str]]:
    """Every form every page renders, by the path it posts to; and the URLs that only take POST."""
    found: dict[str, list[dict]] = {}
    post_only = set()
    for url in urls:
        response = fuzzer.request("get", url)
        if response.status_code == 405:
            post_only.add(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _Forms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            try:
                target = resolve(urlsplit(urljoin(url, form["action"])).path).view_name
            except Resolver404:
                continue
            found.setdefault(target, []).append(form)
    return found, post_only


def _every_page(urls: dict[str, str]) -> list[str]:
    """The enumerated URLs and the pages of every object of the world: a form an incident shows
    only at its step, or a campaign only while suspected, is found on some page."""
    from campaigns.models import Campaign
    from incidents.models import Incident

    pages = set(urls.values())
    pages |= {incident.get_absolute_url() for incident in Incident.objects.all()}
    pages |= {campaign.get_absolute_url() for campaign in Campaign.objects.all()}
    pages |= {"/queue/tier2/", "/queue/security/"}
    return sorted(pages)


@pytest.fixture
def fuzz(client, django_capture_on_commit_callbacks):
    world = build_world(django_capture_on_commit_callbacks)
    return Fuzzer(client, world), urls_with_ids(world)


def test_every_url_is_reachable_with_real_ids(fuzz):
    _fuzzer, urls = fuzz
    assert [name for name, url in urls.items() if url is None] == []
    assert len(urls) > 100
    for name, url in urls.items():
        try:
            match = resolve(url)
        except Resolver404:
            pytest.fail(f"{name} reversed to {url}, which does not resolve")
        assert match.view_name == name or name in ("admin:login",), (name, url, match.view_name)


def test_hostile_query_parameters_on_every_url_never_error(fuzz):
    fuzzer, urls = fuzz
    forms, _ = _page_forms(fuzzer, _every_page(urls))
    for index, (name, url) in enumerate(sorted(urls.items())):
        if name in ("accounts:logout", "admin:logout"):
            continue
        params = set(QUERY_PARAMS)
        for form in forms.get(name, []):
            if form["method"] == "get":
                params |= set(form["fields"])
        for value in _rotation(index * 3, 3):
            fuzzer.request("get", url, dict.fromkeys(sorted(params), value))
        raw = RAW[index % len(RAW)]
        fuzzer.request("get", url, QUERY_STRING="&".join(f"{quote(p)}={raw}" for p in sorted(params)))
        fuzzer.request("get", url, {f"random_{index}": VALUES[index % len(VALUES)]})
    assert fuzzer.failures == [], "\n".join(fuzzer.failures[:20])


def _post_every_form(fuzzer, urls, *, admin: bool, per_field: int) -> list[str]:
    """Post every form back with each field hostile in turn (`per_field` values each, rotating
    through VALUES), then all fields hostile at once, then undecodable bytes. Returns the
    POST-only URLs no page renders a form for (posted every field seen anywhere instead)."""
    mine = {name: url for name, url in urls.items() if name.startswith("admin:") == admin}
    forms, post_only = _page_forms(fuzzer, _every_page(mine) if not admin else sorted(mine.values()))
    every_field = sorted({field for fs in forms.values() for f in fs for field in f["fields"]})
    without_form = []
    counter = itertools.count()
    for name, url in sorted(mine.items()):
        if name in ("accounts:logout", "admin:logout"):
            continue
        posted = [f for f in forms.get(name, []) if f["method"] == "post"]
        # One of each shape: the incident pages render the same form for every incident.
        posted = list({tuple(sorted(f["fields"])): f for f in posted}.values())
        if not posted:
            if url in post_only:
                without_form.append(name)
            posted = [{"fields": {field: [""] for field in every_field}}]
        for form in posted:
            base = {field: values[0] if values else "" for field, values in form["fields"].items()}
            fuzzer.request("post", url, base)
            for field in base if "method" in form else ():  # a rendered form: field by field
                if field == "csrfmiddlewaretoken":
                    continue
                for value in _rotation(next(counter), per_field):
                    fuzzer.request("post", url, {**base, field: value})
            for value in _rotation(next(counter) * 7, 3):
                fuzzer.request("post", url, {f: (v if f == "csrfmiddlewaretoken" else value) for f, v in base.items()})
            body = "&".join(f"{quote(f)}={RAW[next(counter) % len(RAW)]}" for f in base)
            fuzzer.request("post", url, body, content_type="application/x-www-form-urlencoded")
    return without_form


def test_hostile_posts_to_every_desk_url_never_error(fuzz):
    fuzzer, urls = fuzz
    without_form = _post_every_form(fuzzer, urls, admin=False, per_field=2)
    assert fuzzer.failures == [], "\n".join(fuzzer.failures[:20])
    # Most posts were read and answered (a page, a refusal or a redirect), not bounced to sign-in.
    assert fuzzer.requests > 400 and fuzzer.statuses.get(400, 0) > 100, fuzzer.statuses
    # The desk renders a form for every action it takes by POST.
    assert without_form == [], without_form


def test_hostile_posts_to_every_admin_url_never_error(fuzz):
    fuzzer, urls = fuzz
    _post_every_form(fuzzer, urls, admin=True, per_field=1)
    assert fuzzer.failures == [], "\n".join(fuzzer.failures[:20])
    assert fuzzer.requests > 500 and fuzzer.statuses.get(200, 0) > 200, fuzzer.statuses
