"""The ``geoland`` command line: one click group, one module per command group, ``--json`` wherever counts are
reported. Errors print one line on stderr and exit non-zero; ``--debug`` shows the traceback.

Modules: :mod:`.base` (the group, ``--json``, dates), :mod:`.db`, :mod:`.units`, :mod:`.plots`,
:mod:`.reassign`, :mod:`.codes` (codes, recode), :mod:`.quality` (people, check, report, map), :mod:`.export`,
:mod:`.users`, :mod:`.corrections` (commune workbooks), :mod:`.sample` (synth, demo), :mod:`.national` (run).
Commands of other packages join through the entry point group ``geoland.commands`` (the web app's ``serve``).
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from geoland.errors import GeolandError
from geoland.logs import configure_cli_logging

from . import (  # noqa: F401  (registers the commands)
    audit,
    codes,
    corrections,
    db,
    export,
    national,
    plots,
    quality,
    reassign,
    register,
    sample,
    units,
    users,
)
from .base import cli

__all__ = ["cli", "main"]


def _plugins() -> None:
    """Add the commands other installed packages register (entry point group ``geoland.commands``)."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="geoland.commands"):
        if entry.name not in cli.commands:
            cli.add_command(entry.load(), entry.name)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv or os.environ.get("GEOLAND_DEBUG") == "1"
    configure_cli_logging()
    try:
        _plugins()
        cli.main(args=argv, prog_name="geoland", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("geoland: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except GeolandError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"geoland: error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"geoland: internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                   " (run with --debug for the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
