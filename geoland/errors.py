"""Errors that carry a message meant for the user; the CLI prints it on one line and exits non-zero.

Messages never contain personal data (names, CCCD numbers): they name files, lines, fields and codes.
"""

from __future__ import annotations


class GeolandError(Exception):
    """Base class: an expected failure with a user-facing message."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigError(GeolandError):
    """The environment or the configuration is not usable (missing binaries, bad URL, bad option)."""


class DatabaseError(GeolandError):
    """The database cannot be reached, or is not migrated, or refused an operation."""


class InputFileError(GeolandError):
    """A user's input file is malformed; names the file and, when known, the line or feature."""

    def __init__(self, path, reason: str, *, line: int | None = None, feature: int | None = None):
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if feature is not None:
            where += f", feature {feature}"
        super().__init__(f"{where}: {reason}")
        self.path = str(path)
        self.line = line
        self.feature = feature
        self.reason = reason
