"""Errors that carry a message meant for the user; the CLI prints it on one line and exits non-zero.

Callers branch on the type, never on the words of the message: each class carries the HTTP status the web
app answers with (``status``) and the CLI's exit code (``exit_code``). Messages never contain personal data
(names, CCCD numbers): they name files, lines, fields and codes.

==================  ======  =====================================================================
class               status  when
==================  ======  =====================================================================
``InvalidInput``    400     a parameter, option or code is malformed or out of range
``InputFileError``  400     an input file is malformed (names the file, line or feature)
``Unauthorized``    401     no valid login or API token
``Forbidden``       403     the user's role does not allow it
``NotFound``        404     the thing asked for does not exist (yet): a plot, a code, a commune
``Conflict``        409     it contradicts what is stored or running (a job holds the lock, …)
``TooManyRequests`` 429     the user already runs as many heavy requests as allowed
``TooSlow``         503     the request's queries passed the statement timeout and were cancelled
``Busy``            503     the server already runs as many heavy requests as it allows (retry in a second)
``ConfigError``     500     the environment or the configuration is not usable
``DatabaseError``   503     the database cannot be reached, is not migrated, or refused
==================  ======  =====================================================================
"""

from __future__ import annotations


class GeolandError(Exception):
    """Base class: an expected failure with a user-facing message.

    Parameters
    ----------
    message : str
        What went wrong and, where it helps, what to do; shown as is to the user.
    """

    exit_code = 1
    status = 500
    retry_after: int | None = None      # seconds, for the Retry-After of a 429 or 503 (the default when None)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(GeolandError):
    """A parameter, option or code given by the user is malformed or out of range."""

    status = 400


class Unauthorized(GeolandError):
    """No valid login or API token."""

    status = 401


class Forbidden(GeolandError):
    """The user is known but their role does not allow the action."""

    status = 403


class NotFound(GeolandError):
    """What was asked for does not exist, or does not exist yet (run the step that makes it)."""

    status = 404


class Conflict(GeolandError):
    """The request contradicts the stored state: a job already running, a recoding with another policy."""

    status = 409


class TooManyRequests(GeolandError):
    """The user already has as many heavy requests running as allowed; try again shortly."""

    status = 429


class TooSlow(GeolandError):
    """The request's queries ran past the statement timeout and were cancelled; narrow it."""

    status = 503


class Busy(GeolandError):
    """The server already runs as many heavy requests as it allows, so that light ones keep a thread; retry."""

    status = 503
    retry_after = 1


class ConfigError(GeolandError):
    """The environment or the configuration is not usable (missing binaries, bad URL, bad option)."""


class DatabaseError(GeolandError):
    """The database cannot be reached, or is not migrated, or refused an operation."""

    status = 503


class InputFileError(InvalidInput):
    """A user's input file is malformed; names the file and, when known, the line or feature.

    Parameters
    ----------
    path : str or path-like
        The file.
    reason : str
        What is wrong with it.
    line, feature : int, optional
        Where in the file (1-based line of a text file, 0-based feature of a layer).
    """

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
