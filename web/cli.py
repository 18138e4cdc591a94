"""``geoland serve``, registered as a plugin of the ``geoland`` command.

``geoland serve``: registered as a plugin of the ``geoland`` command (entry point group
``geoland.commands``), so that the ``geoland`` package never imports ``web``.
"""

from __future__ import annotations

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.pass_context
def serve(ctx, host, port):
    """The review web app and the JSON API: province overview, commune review pages with the map and the
    findings, plot pages, review actions (reviewer role), /api/… and /collections/plots/items. Users come
    from `geoland users add`.
    """
    from web.app import serve as run

    click.echo(f"geoland web app on http://{host}:{port}/ (Ctrl+C to stop)")
    run(host=host, port=port, database_url=ctx.obj["url"])
