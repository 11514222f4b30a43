"""Start-up and deployment checks, run as an operator would: a fresh process with only env vars."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k8Jd2-a9!xZq7Lm4Rt6Vb1Nc3Hs5Fw0Pe8Yu2Io4Gk6Tj9Mn1Bv3Cx5Za7Sd9Qw",
    "ALLOWED_HOSTS": "desk.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://desk.example.com",
}


def manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE")
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_hashes_passwords_with_argon2_first_and_only_the_suite_uses_md5(tmp_path):
    """The test profile's fast hasher must not leak into production: a fresh process with the
    production variables (and no settings module chosen, as manage.py, wsgi and celery start)
    hashes a new password with Argon2, with PBKDF2 second so hashes made before it still check."""
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; from django.contrib.auth.hashers import make_password; "
        "print(settings.SETTINGS_MODULE); print(*settings.PASSWORD_HASHERS); print(make_password('x').split('$')[0])",
        env={**PRODUCTION, "BULWARK_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    module, hashers, algorithm = result.stdout.strip().splitlines()[-3:]
    assert module == "config.settings"
    assert hashers.split() == [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    assert algorithm == "argon2"
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "config.settings_test"
    assert django_settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_deploy_check_is_clean_with_production_variables(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "BULWARK_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "SECRET_KEY is not set"),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS is not set"),
    ],
)
def test_start_up_refuses_missing_production_variables_in_one_line(tmp_path, missing, message):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = manage("check", env={**env, "BULWARK_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def test_debug_mode_generates_and_keeps_a_local_secret(tmp_path):
    env = {"DEBUG": "1", "BULWARK_VAR_DIR": str(tmp_path)}
    assert manage("check", env=env).returncode == 0
    secret = (tmp_path / "secret_key").read_text()
    assert len(secret) >= 50
    assert manage("check", env=env).returncode == 0
    assert (tmp_path / "secret_key").read_text() == secret
