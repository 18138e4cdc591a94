"""The ``geoland`` group and what every command module shares: ``--json``, dates, the connection."""

from __future__ import annotations

import datetime as dt

import click

from geoland.output import emit_json


def parse_date(ctx, param, value):
    """Click callback: a ``YYYY-MM-DD`` option as a date."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from None


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--database-url", envvar="GEOLAND_DATABASE_URL", metavar="URL",
              help="PostgreSQL/PostGIS to use (default: the embedded cluster; env GEOLAND_DATABASE_URL).")
@click.option("--debug", is_flag=True, help="Show the full traceback when a command fails.")
@click.version_option(package_name="geoland")
@click.pass_context
def cli(ctx, database_url, debug):
    """geoland: clean a provincial land database after the 2025 reorganisation of communes.

    Start with `geoland db start` and `geoland db migrate`, then load the administrative units
    (`geoland units --help`).
    """
    ctx.obj = {"url": database_url}


def connect(ctx):
    """A connection to the command's database (one transaction, committed when the block ends)."""
    from geoland.store.db import connect as open_connection

    return open_connection(ctx.obj["url"])


def show(result, as_json: bool, text) -> None:
    """Print a command's result: ``as_dict()`` as JSON with ``--json``, else ``text(result)``."""
    if as_json:
        emit_json(result.as_dict() if hasattr(result, "as_dict") else result)
    else:
        click.echo(text(result))
