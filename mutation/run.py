"""`make mutation`: mutation testing of the rule modules, one module at a time, then a table of scores.

For each rule module, the checkout is copied to `.mutation/<name>/` (minus the virtualenv, git and caches),
mutmut 3 is configured there to mutate that one file and to run only the tests that exercise it, on SQLite
(no DATABASE_URL, no broker), with a fixed Hypothesis seed; `mutmut results --all true` then says what became
of each mutant. The hand-made mutants of the tables mutmut does not touch (mutation/tables.py) make the
last row. Equivalent mutants are marked in the code with `# pragma: no mutate` and a reason.

    .venv/bin/python mutation/run.py                # every module, then the tables
    .venv/bin/python mutation/run.py playbook sla   # some of them ("tables" is one name)
    .venv/bin/python mutation/run.py --survivors playbook   # also list the surviving mutants with their diff

Exit status 1 when a module scores under the target (90 % killed).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
TARGET = 90.0
PACKAGES = [
    "accounts", "alerts", "audit", "breaches", "campaigns", "config", "core", "incidents", "notifications", "reporting",
]  # fmt: skip
ALSO_COPY = ["templates", "static", "manage.py", "mutation"]
IGNORED = shutil.ignore_patterns(
    ".venv", ".git", ".mutation", "mutants", "var", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache",
    ".import_linter_cache", ".grimp_cache", "artifacts", "bench", "deploy",
)  # fmt: skip
# Tests that need what the mutation runs do not have (PostgreSQL, Redis, a browser) skip on their own.
ENVIRONMENT = {
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnop",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "HTTPS": "0",
    "DEBUG": "0",
    "CONN_MAX_AGE": "0",
    "HYPOTHESIS_PROFILE": "mutation",
}
DROPPED = ("DATABASE_URL", "CELERY_BROKER_URL", "REQUIRE_SERVICES")
PYTEST_ARGS = ["-p", "no:cacheprovider", "--hypothesis-seed=0", "--reuse-db", "-q", "-x"]
TEMPLATE = "test-template.sqlite3"
# The test database, migrated once per module; each pytest run copies it (tests/conftest.py).
MAKE_TEMPLATE = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
django.setup()
from django.db import connection
connection.settings_dict["TEST"]["NAME"] = sys.argv[1]
connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
"""


@dataclass(frozen=True)
class Module:
    name: str
    path: str
    tests: tuple[str, ...]
    pytest_args: tuple[str, ...] = ()  # more arguments for pytest


REDACTION_THROUGH_THE_SERVICES = (
    "tests/incidents/test_redaction_properties.py::test_card_numbers_never_reach_the_database_audit_email_tasks_or_logs"
)
MODULES = [
    Module(
        "playbook",
        "incidents/playbook.py",
        (
            "tests/incidents/test_playbook_rules.py",
            "tests/incidents/test_playbook.py",
            "tests/incidents/test_guards_against_mistakes.py",
        ),
    ),
    Module(
        "verification",
        "incidents/verification.py",
        (
            "tests/incidents/test_verification_rules.py",
            "tests/incidents/test_verification.py",
            "tests/incidents/test_email_of_record.py",
            "tests/incidents/test_playbook.py",
        ),
    ),
    Module(
        "redaction",
        "core/redaction.py",
        (
            "tests/incidents/test_redaction_rules.py",
            "tests/incidents/test_ip_extraction_and_card_masking.py",
            "tests/incidents/test_redaction_properties.py",
        ),
        # Covered by the property tests' own cases without the database: one run of the services per example.
        ("--deselect", REDACTION_THROUGH_THE_SERVICES),
    ),
    Module(
        "ipextract",
        "incidents/ipextract.py",
        ("tests/incidents/test_ip_scope.py", "tests/incidents/test_ip_extraction_and_card_masking.py"),
    ),
    # The alerts' tests use these rules through the breach tick and the pages; the rules are asserted on their own.
    Module("sla", "incidents/sla.py", ("tests/incidents/test_sla_rules.py",)),
    Module(
        "campaign triggers",
        "campaigns/triggers.py",
        ("tests/campaigns/test_triggers.py", "tests/campaigns/test_detection_banner_and_decisions.py"),
    ),
]
KILLED = {"killed", "timeout", "caught by type check"}
LINE = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+?)\s*$")


@dataclass
class Score:
    name: str
    killed: int
    total: int
    seconds: float
    survivors: list[str]

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 0.0


def environment(folder: Path | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in DROPPED}
    env.update(ENVIRONMENT)
    if folder is not None:
        env["MUTATION_TEST_DATABASE"] = str(folder / TEMPLATE)
    return env


def prepare(module: Module) -> Path:
    """A fresh copy of the checkout for this module, with mutmut's configuration in its pyproject.toml."""
    folder = WORK / module.name.replace(" ", "_")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in [*PACKAGES, "tests", *ALSO_COPY, "pyproject.toml"]:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=IGNORED)
        elif source.exists():
            shutil.copy2(source, folder / name)

    def toml_list(items) -> str:
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    with open(folder / "pyproject.toml", "a") as pyproject:
        pyproject.write(
            "\n[tool.mutmut]\n"
            f"source_paths = {toml_list(PACKAGES)}\n"
            f"only_mutate = {toml_list([module.path])}\n"
            f"also_copy = {toml_list(ALSO_COPY)}\n"
            f"pytest_add_cli_args = {toml_list([*PYTEST_ARGS, *module.pytest_args])}\n"
            f"pytest_add_cli_args_test_selection = {toml_list(module.tests)}\n"
            "use_git_change_detection = false\n"
        )
    command = [sys.executable, "-c", MAKE_TEMPLATE, str(folder / TEMPLATE)]
    subprocess.run(command, cwd=folder, env=environment(), check=True)
    return folder


def mutmut(folder: Path, *args: str, quiet: bool = False) -> str:
    command = [str(Path(sys.executable).with_name("mutmut")), *args]
    result = subprocess.run(command, cwd=folder, env=environment(folder), capture_output=True, text=True)
    if result.returncode != 0 and not quiet:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"mutmut {' '.join(args)} failed in {folder} (exit {result.returncode})")
    return result.stdout


def run_module(module: Module, *, children: int, show: bool) -> Score:
    folder = prepare(module)
    started = time.monotonic()
    log = mutmut(folder, "run", "--max-children", str(children))
    (folder / "run.log").write_text(log)
    statuses = {}
    for line in mutmut(folder, "results", "--all", "true").splitlines():
        match = LINE.match(line)
        if match:
            statuses[match["name"]] = match["status"]
    seconds = time.monotonic() - started
    survivors = sorted(name for name, status in statuses.items() if status not in KILLED)
    score = Score(module.name, len(statuses) - len(survivors), len(statuses), seconds, survivors)
    if show:
        for name in survivors:
            print(f"--- {name}: {statuses[name]}")
            print(mutmut(folder, "show", name, quiet=True))
    return score


def run_tables(*, show: bool) -> Score:
    started = time.monotonic()
    command = [sys.executable, str(ROOT / "mutation" / "tables.py")] + (["--verbose"] if show else [])
    result = subprocess.run(command, cwd=ROOT, env=environment(), capture_output=True, text=True)
    killed = total = 0
    survivors = []
    for line in result.stdout.splitlines():
        if line.startswith(("killed ", "SURVIVED ")):
            total += 1
            if line.startswith("killed "):
                killed += 1
            else:
                survivors.append(line.split(" ", 1)[1])
    if result.returncode not in (0, 1) or not total:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit("mutation/tables.py failed")
    if show:
        print(result.stdout)
    return Score("tables (hand-made)", killed, total, time.monotonic() - started, survivors)


def table(scores: list[Score]) -> str:
    rows = [f"| {'module':<20} | {'killed':>7} | {'total':>5} | {'score':>6} | {'time':>7} |", f"|{'-' * 22}|{'-' * 8}:|{'-' * 6}:|{'-' * 7}:|{'-' * 8}:|"]  # fmt: skip
    for score in scores:
        minutes, seconds = divmod(round(score.seconds), 60)
        rows.append(
            f"| {score.name:<20} | {score.killed:>7} | {score.total:>5} | {score.percent:>5.1f}% | {minutes:>3}m{seconds:02d}s |"
        )
    total = sum(score.seconds for score in scores)
    rows.append(f"total time {int(total // 60)}m{round(total % 60):02d}s")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="modules to run (default: all, then the tables)")
    parser.add_argument("--survivors", action="store_true", help="print each surviving mutant's diff")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once (default 2)")
    options = parser.parse_args()
    known = {module.name.split()[0]: module for module in MODULES}
    names = options.names or [*known, "tables"]
    unknown = [name for name in names if name not in known and name != "tables"]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; known: {', '.join([*known, 'tables'])}")
    scores = []
    for name in names:
        if name == "tables":
            score = run_tables(show=options.survivors)
        else:
            score = run_module(known[name], children=options.children, show=options.survivors)
        scores.append(score)
        print(f"{score.name}: {score.killed}/{score.total} killed ({score.percent:.1f}%) in {score.seconds:.0f}s")
        for survivor in score.survivors:
            print(f"    survived: {survivor}")
        sys.stdout.flush()
    print()
    print(table(scores))
    return 0 if all(score.percent >= TARGET for score in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
