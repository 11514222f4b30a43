"""Agents: accounts, roles, two-factor sign-in, sessions, access expiry, the access decorators.

May import core and audit (every sign-in, lockout and account change is written to the audit
trail); never incidents. Contract: [tool.importlinter] in pyproject.toml.
"""
