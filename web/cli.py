"""``geoland serve``, registered as a plugin of the ``geoland`` command.

The server is waitress: maintained, pure Python (nothing to compile, runs the same on the office's Linux or
Windows server and in the docker image), one process with a pool of threads. That fits geoland's requests,
which spend their time waiting on PostgreSQL and release the GIL meanwhile; gunicorn's forked workers would
each hold their own connection pool and need a Unix host. Request bodies over 20 MB are refused (413) by
waitress before Flask sees them; Flask refuses any over 64 KB but a commune workbook's upload.

``geoland serve``: registered as a plugin of the ``geoland`` command (entry point group
``geoland.commands``), so that the ``geoland`` package never imports ``web``.
"""

from __future__ import annotations

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 256), help="Request threads (default: 4 per core, at most 32).")
@click.option("--trusted-proxy", metavar="ADDRESS", envvar="GEOLAND_TRUSTED_PROXY",
              help="The reverse proxy's IP address: its X-Forwarded-Host/Proto headers are believed, nobody else's.")
@click.pass_context
def serve(ctx, host, port, threads, trusted_proxy):
    """The review web app and the JSON API: province overview, commune review pages with the map and the
    findings, plot pages, review actions (reviewer role), the audit page (admins), /api/… and OGC API -
    Features at /ogc. Users come from `geoland users add`.
    """
    from web.app import serve as run

    click.echo(f"geoland web app on http://{host}:{port}/ (waitress; Ctrl+C to stop)")
    run(host=host, port=port, database_url=ctx.obj["url"], threads=threads, trusted_proxy=trusted_proxy)
