"""Which environment variables may hold an onboarding password, and reading one.

A manifest (and the CLI's ``--password-env``) names the variable that holds each
onboarding password. A manifest is input, not code: if it could name *any* variable,
``OTRS_CLOSURE_PASSWORD`` would write the agent's own password into a ticket note and
``HOME`` the host's home folder. Only the variables meant for onboarding passwords are
read: :data:`DEFAULT_PASSWORD_ENV` and :data:`PASSWORD_ENV_PREFIX` + ``[A-Z0-9_]+``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from otrs_closure.errors import InputError

__all__ = ["DEFAULT_PASSWORD_ENV", "PASSWORD_ENV_PREFIX", "check_password_env", "read_password_env"]

DEFAULT_PASSWORD_ENV = "OTRS_CLOSURE_ONBOARDING_PASSWORD"
"""The variable read when none is named."""

PASSWORD_ENV_PREFIX = DEFAULT_PASSWORD_ENV + "_"
"""Every other variable that may hold an onboarding password starts with this, e.g.
``OTRS_CLOSURE_ONBOARDING_PASSWORD_MGARCIA``."""

_ALLOWED = re.compile(re.escape(DEFAULT_PASSWORD_ENV) + r"(?:_[A-Z0-9_]{1,100})?")

RULE = (
    f"only {DEFAULT_PASSWORD_ENV} or {PASSWORD_ENV_PREFIX}<NAME> (NAME of A-Z, 0-9, _) may hold an onboarding "
    "password: give the variable's name, not the password"
)
"""The rule, as problems state it (without quoting the value given: it is often the password)."""


def check_password_env(name: str, field: str = "password_env") -> str:
    """``name`` when it is a variable meant for onboarding passwords; :class:`InputError`
    (naming ``field`` and the rule, never quoting ``name``) otherwise."""
    if not isinstance(name, str) or not _ALLOWED.fullmatch(name):
        raise InputError(field, RULE)
    return name


def read_password_env(name: str, environ: Mapping[str, str], field: str = "password_env") -> str:
    """The onboarding password held by ``name`` in ``environ``; :class:`InputError` when
    ``name`` breaks the rule (:func:`check_password_env`) or the variable is unset or empty."""
    check_password_env(name, field)
    value = environ.get(name, "")
    if not value:
        raise InputError(field, f"{name} is not set")  # a name that passed the rule is no password
    return value
