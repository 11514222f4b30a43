"""Hand-made mutants of what mutmut leaves alone: the rule modules' module-level tables.

mutmut mutates the bodies of functions; the playbook's moves, the ways a caller may identify the account,
the private and documentation networks, the SLA policy defaults, the campaign triggers and the card issuers
are data at module level. Each mutant here changes one entry of one table; the tests of that module
(mutation/run.py) run with the change applied (`-p mutation.tables`, MUTATION_TABLE naming the mutant) and
must fail. Run by `make mutation` as its own row; alone:

    .venv/bin/python mutation/tables.py [--verbose] [mutant names...]

prints `killed <name>` or `SURVIVED <name>` per mutant; exit status 1 if any survived.
"""

import ipaddress
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _replace(module, name: str, value) -> None:
    """Set module.name, and every other module's binding of the same object (`from x import NAME`)."""
    old = getattr(module, name)
    if isinstance(old, tuple | list | dict | set | frozenset):
        for other in list(sys.modules.values()):
            for attribute, bound in list(vars(other).items()) if other else []:
                if bound is old:
                    setattr(other, attribute, value)
    setattr(module, name, value)


def _playbook():
    from incidents import playbook

    return playbook


def _verification():
    from incidents import verification

    return verification


def _ipextract():
    from incidents import ipextract

    return ipextract


def _sla():
    from incidents import sla

    return sla


def _triggers():
    from campaigns import triggers

    return triggers


def _redaction():
    from core import redaction

    return redaction


def _issuers(change) -> None:
    redaction = _redaction()
    change(redaction._ISSUERS)
    redaction._FIRST_PAIR, redaction._SECOND_PAIR, redaction._ISSUER_LENGTH = redaction._issuer_tables()


def _stages():
    from incidents.models import Stage

    return Stage


def _move(stage: str, targets: set[str]) -> None:
    _playbook().MOVES[stage] = set(targets)


def _networks(name: str, change) -> None:
    networks = getattr(_ipextract(), name)
    change(networks)


def _net(text: str):
    return ipaddress.ip_network(text)


def _swap_order() -> None:
    order = _playbook().ORDER
    order[1], order[2] = order[2], order[1]


def _step(index: int, title: str | None = None, hint: str | None = None) -> None:
    steps = _playbook().STEPS
    stage, old_title, old_hint = steps[index]
    steps[index] = (stage, title or old_title, hint or old_hint)


def _policy(severity: int, field: str, minutes: int) -> None:
    _sla().DEFAULT_POLICIES[severity][field] = minutes


# (name, module of mutation/run.py, the change)
MUTANTS = [
    ("moves: step 1 cannot close as not confirmed", "playbook", lambda: _move("confirm", {"secure"})),
    ("moves: step 1 may jump to step 3", "playbook", lambda: _move("confirm", {"secure", "closed", "investigate"})),
    ("moves: step 2 goes to step 5", "playbook", lambda: _move("secure", {"communicate"})),
    ("moves: step 3 may close", "playbook", lambda: _move("investigate", {"escalate", "closed"})),
    ("moves: step 6 may go back to step 1", "playbook", lambda: _move("post_incident", {"closed", "confirm"})),
    ("moves: a closed incident cannot reopen", "playbook", lambda: _move("closed", set())),
    ("moves: a closed incident reopens at step 2", "playbook", lambda: _move("closed", {"secure"})),
    ("order: steps 2 and 3 swapped", "playbook", _swap_order),
    ("steps: a title changed", "playbook", lambda: _step(1, title="Secured")),
    ("steps: a hint changed", "playbook", lambda: _step(0, hint="Confirm the changes.")),
    ("gates: step 2 lets everything through", "playbook", lambda: _playbook().GATES.update(secure=lambda i: [])),
    ("gates: step 4 has no gate", "playbook", lambda: _playbook().GATES.pop("escalate")),
    (
        "gates: step 3 checks step 2's gate",
        "playbook",
        lambda: _playbook().GATES.update(investigate=_playbook().gate_secure),
    ),
    (
        "identified by: a supervisor override accepted as a way to identify",
        "verification",
        lambda: _verification().IDENTIFIED_BY.update(supervisor="supervisor override"),
    ),
    (
        "identified by: the account reference refused",
        "verification",
        lambda: _verification().IDENTIFIED_BY.pop("account_reference"),
    ),
    ("passed: an override does not count", "verification", lambda: _replace(_verification(), "PASSED", ("verified",))),
    (
        "passed: a pending code counts",
        "verification",
        lambda: _replace(_verification(), "PASSED", ("verified", "overridden", "pending")),
    ),
    (
        "code lifetime 11 minutes",
        "verification",
        lambda: _replace(_verification(), "CODE_LIFETIME", timedelta(minutes=11)),
    ),
    ("six attempts", "verification", lambda: _replace(_verification(), "MAX_ATTEMPTS", 6)),
    ("four attempts", "verification", lambda: _replace(_verification(), "MAX_ATTEMPTS", 4)),
    (
        "private: no carrier-grade NAT",
        "ipextract",
        lambda: _networks("_PRIVATE", lambda n: n.remove(_net("100.64.0.0/10"))),
    ),
    (
        "private: 172.16.0.0/13 instead of /12",
        "ipextract",
        lambda: _networks("_PRIVATE", lambda n: n.__setitem__(1, _net("172.16.0.0/13"))),
    ),
    ("private: no unique local IPv6", "ipextract", lambda: _networks("_PRIVATE", lambda n: n.remove(_net("fc00::/7")))),
    (
        "documentation: no IPv6 range",
        "ipextract",
        lambda: _networks("_DOCUMENTATION", lambda n: n.remove(_net("2001:db8::/32"))),
    ),
    (
        "documentation: benchmarking network counted",
        "ipextract",
        lambda: _networks("_DOCUMENTATION", lambda n: n.append(_net("198.18.0.0/15"))),
    ),
    ("policy: critical first update 16 minutes", "sla", lambda: _policy(4, "first_update_minutes", 16)),
    ("policy: low claim 12 hours", "sla", lambda: _policy(1, "claim_minutes", 12 * 60)),
    ("policy: high resolve 2 days", "sla", lambda: _policy(3, "resolve_minutes", 2 * 24 * 60)),
    ("policy: warn at 80 %", "sla", lambda: _replace(_sla(), "DEFAULT_WARN_PERCENT", 80)),
    (
        "first update: the acknowledgement counts",
        "sla",
        lambda: _sla().FIRST_UPDATE_TEMPLATES.add("acknowledgement"),
    ),
    (
        "first update: a progress update does not count",
        "sla",
        lambda: _sla().FIRST_UPDATE_TEMPLATES.discard("progress"),
    ),
    (
        "triggers: an unknown verdict does not trigger",
        "campaign",
        lambda: _replace(_triggers(), "TRIGGER_VERDICTS", ("unauthorized",)),
    ),
    (
        "triggers: a legitimate verdict triggers",
        "campaign",
        lambda: _replace(_triggers(), "TRIGGER_VERDICTS", ("unauthorized", "unknown", "legitimate")),
    ),
    (
        "triggers: documentation ranges do not trigger",
        "campaign",
        lambda: _replace(_triggers(), "TRIGGER_SCOPES", ("public",)),
    ),
    (
        "triggers: private addresses trigger",
        "campaign",
        lambda: _replace(_triggers(), "TRIGGER_SCOPES", ("public", "documentation", "private")),
    ),
    ("issuers: no 19-digit Visa", "redaction", lambda: _issuers(lambda t: t.__setitem__(0, ([("4",)], (13, 16))))),
    ("issuers: no Amex 34", "redaction", lambda: _issuers(lambda t: t.__setitem__(6, ([("3", "7")], (15,))))),
    (
        "issuers: Mastercard 51-54 only",
        "redaction",
        lambda: _issuers(lambda t: t[2][0].__setitem__(0, ("5", "1234"))),
    ),
    ("IBAN: British IBANs one longer", "redaction", lambda: _redaction().IBAN_LENGTHS.update(GB=23)),
    ("IBAN: no German IBANs", "redaction", lambda: _redaction().IBAN_LENGTHS.pop("DE")),
]
BY_NAME = {name: (module, change) for name, module, change in MUTANTS}


# --- As a pytest plugin: apply the mutant named by MUTATION_TABLE once Django is set up ----------------------


def pytest_sessionstart(session):
    name = os.environ.get("MUTATION_TABLE")
    if not name:
        return
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    BY_NAME[name][1]()


# --- As a script: each mutant against its module's tests ----------------------------------------------------


def _tests(module: str) -> list[str]:
    sys.path.insert(0, str(ROOT / "mutation"))
    from run import MODULES

    [found] = [m for m in MODULES if m.name.split()[0] == module]
    return list(found.tests)


def _pytest(tests: list[str], env: dict[str, str]) -> int:
    command = [sys.executable, "-m", "pytest", "-p", "mutation.tables", "-p", "no:cacheprovider"]
    command += ["--hypothesis-seed=0", "--reuse-db", "-x", "-q", *tests]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True).returncode


def main() -> int:
    sys.path.insert(0, str(ROOT / "mutation"))
    from run import MAKE_TEMPLATE

    verbose = "--verbose" in sys.argv
    names = [a for a in sys.argv[1:] if not a.startswith("--")] or [name for name, _, _ in MUTANTS]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bulwark-tables-") as folder:
        template = str(Path(folder) / "template.sqlite3")
        subprocess.run([sys.executable, "-c", MAKE_TEMPLATE, template], cwd=ROOT, env=env, check=True)
        env["MUTATION_TEST_DATABASE"] = template
        modules = sorted({BY_NAME[name][0] for name in names})
        clean = _pytest(sorted({test for module in modules for test in _tests(module)}), env)
        if clean != 0:
            print(f"the tests fail without any mutant (exit {clean})")
            return 2

        def one(name: str) -> tuple[str, int]:
            return name, _pytest(_tests(BY_NAME[name][0]), {**env, "MUTATION_TABLE": name})

        survived = 0
        with ThreadPoolExecutor(max_workers=2) as pool:
            for name, code in pool.map(one, names):
                if code == 1:
                    print(f"killed {name}", flush=True)
                else:
                    survived += 1
                    print(f"SURVIVED {name}" + (f" (pytest exit {code})" if verbose or code else ""), flush=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
