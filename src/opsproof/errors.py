"""The one error path: every expected failure is an OpsproofError that leaves through fatal()."""

from __future__ import annotations

import sys
from typing import NoReturn


class OpsproofError(Exception):
    """An expected failure with a message that names the cause and the fix."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} — fix: {self.fix}" if self.fix else self.message


class ConfigError(OpsproofError):
    """A file or variable given by the operator is wrong or missing."""

    exit_code = 2


class PreconditionError(OpsproofError):
    """The machine lacks something (root, a tool, a free subnet)."""

    exit_code = 3


class LabError(OpsproofError):
    """A lab operation failed on the machine."""

    exit_code = 4


class ValidationError(OpsproofError):
    """A results file does not match the results schema."""

    exit_code = 5


def fatal(err: OpsproofError) -> NoReturn:
    """Print one line naming the cause and the fix, and exit non-zero."""
    print(f"opsproof: error: {err}", file=sys.stderr)
    sys.exit(err.exit_code)
