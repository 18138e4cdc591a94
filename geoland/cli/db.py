"""``geoland db``: the embedded PostGIS cluster and the schema migrations."""

from __future__ import annotations

import click

from geoland import config
from geoland.output import emit_json

from .base import cli, connect, json_option


@cli.group()
def db():
    """The database: the embedded PostGIS cluster and the schema migrations."""


data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False), envvar="GEOLAND_PG_DIR", show_envvar=True,
    default=lambda: str(config.default_data_dir()), show_default=".geoland/pg",
    help="Folder of the embedded cluster.")


def _cluster(data_dir):
    from geoland.store.embedded import EmbeddedCluster

    return EmbeddedCluster(data_dir)


@db.command()
@data_dir_option
@json_option
def start(data_dir, as_json):
    """Create (first time) and start the embedded PostgreSQL + PostGIS cluster; a no-op when it runs.

    It listens on 127.0.0.1 and a unix socket only. Prints the URL with the password hidden
    (`geoland db url` prints it whole).
    """
    cluster = _cluster(data_dir)
    started = cluster.start()
    status = cluster.status().as_dict() | {"started": started}
    if as_json:
        emit_json(status)
    else:
        click.echo(f"embedded PostGIS {'started' if started else 'already running'}: {status['url']} "
                   f"(data in {status['data_dir']})")


@db.command()
@data_dir_option
@json_option
def stop(data_dir, as_json):
    """Stop the embedded cluster (a no-op when it is not running)."""
    stopped = _cluster(data_dir).stop()
    if as_json:
        emit_json({"stopped": stopped})
    else:
        click.echo("embedded PostGIS stopped" if stopped else "embedded PostGIS was not running")


@db.command()
@data_dir_option
@json_option
def status(data_dir, as_json):
    """Whether the embedded cluster exists and runs, where, and on which port."""
    st = _cluster(data_dir).status().as_dict()
    if as_json:
        emit_json(st)
    else:
        state = "running" if st["running"] else "initialised, stopped" if st["initialised"] else "not created"
        click.echo(f"embedded PostGIS: {state}; data dir {st['data_dir']}"
                   + (f"; {st['url']}" if st["url"] else ""))


@db.command()
@click.pass_context
def url(ctx):
    """Print the database URL geoland uses (GEOLAND_DATABASE_URL, or the running embedded cluster)."""
    click.echo(config.database_url(ctx.obj["url"]))


@db.command()
@json_option
@click.pass_context
def migrate(ctx, as_json):
    """Create or upgrade the schema `geoland` (Alembic migrations; PostGIS and btree_gist extensions)."""
    from geoland.store.db import migrate as run

    before, after = run(ctx.obj["url"])
    if as_json:
        emit_json({"before": before, "after": after})
    elif before == after:
        click.echo(f"schema already at revision {after}")
    else:
        click.echo(f"schema migrated from {before or 'nothing'} to revision {after}")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@json_option
@click.pass_context
def backup_command(ctx, path, as_json):
    """Back up the whole geoland schema to one file (PostgreSQL's pg_dump, custom format), with its schema
    version. Schedule it (cron, systemd timer) and keep copies off the server: see the README.
    """
    from geoland.store.backup import backup

    report = backup(ctx.obj["url"], path)
    if as_json:
        return emit_json(report)
    click.echo(f"{report['file']}: {report['bytes']:,} bytes, schema {report['schema_version']}")


@db.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Drop the geoland data already in the database first.")
@json_option
@click.pass_context
def restore_command(ctx, path, replace, as_json):
    """Restore a backup (from `geoland db backup`) and migrate it to this geoland's schema. Refused over a
    database that already holds geoland data unless --replace.
    """
    from geoland.store.backup import restore

    report = restore(ctx.obj["url"], path, replace=replace)
    if as_json:
        return emit_json(report)
    click.echo(f"{report['file']} restored (schema {report['schema_version']}, now {report['migrated_to']})")


@db.command("purge-audit")
@click.option("--days", type=click.IntRange(min=30), metavar="N",
              help="Keep N days (default GEOLAND_AUDIT_RETENTION_DAYS, else five years).")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; delete nothing.")
@json_option
@click.pass_context
def purge_audit_command(ctx, days, dry_run, as_json):
    """Delete the audit events older than the retention period (the only deletion the audit trail allows),
    and record the purge itself. Run it from the same schedule as the backups, after one.
    """
    from geoland.review.audit import purge
    from geoland.store.jobs import current_actor

    with connect(ctx) as conn:
        report = purge(conn, days=days, actor=current_actor(), dry_run=dry_run)
    if as_json:
        return emit_json(report)
    count = report.get("purged", report.get("would_purge"))
    click.echo(f"{count:,} audit events older than {report['cutoff'][:10]} ({report['retention_days']} days) "
               + ("would be purged (dry run)" if dry_run else "purged"))
