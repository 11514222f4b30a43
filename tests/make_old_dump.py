"""Make tests/data/db-<OLD_REV>.sql.gz again: the previous release, exported from git, migrates and
seeds a fresh PostgreSQL database, which is dumped as plain SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m tests.make_old_dump

Needs the git history (OLD_REV), `pg_dump` and a server where the role may create databases.
"""

import gzip
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from tests.test_upgrade_from_old_data import DUMP, GENERATED_INCIDENTS, OLD_REV, REPO


def main() -> None:
    server = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    name = f"bulwark_olddump_{secrets.token_hex(4)}"
    url = server._replace(path=f"/{name}").geturl()
    admin = server._replace(path="/postgres").geturl()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "old"
        tree.mkdir()
        archive = subprocess.Popen(["git", "archive", OLD_REV], cwd=REPO, stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout, check=True)
        archive.stdout.close()
        if archive.wait() != 0:
            sys.exit(f"git archive {OLD_REV} failed: is the history there?")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}
        env.update(DEBUG="1", DATABASE_URL=url, BULWARK_VAR_DIR=str(Path(tmp) / "var"), PYTHONPATH="")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            for args in (
                ["migrate", "--noinput"],
                ["seed_demo"],
                ["seed_demo", "--incidents", str(GENERATED_INCIDENTS), "--seed", "1"],
            ):
                subprocess.run([sys.executable, "manage.py", *args], cwd=tree, env=env, check=True)
            dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", url], check=True, capture_output=True)
            DUMP.write_bytes(gzip.compress(dump.stdout, compresslevel=9, mtime=0))
            print(f"wrote {DUMP} ({DUMP.stat().st_size} bytes)")
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
