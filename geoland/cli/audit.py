"""``geoland audit``: read the audit trail (who saw whose personal data, who changed what)."""

from __future__ import annotations

import click

from geoland.output import emit_json, write_csv

from .base import cli, connect, json_option, parse_date


@cli.command("audit")
@click.option("--since", callback=parse_date, metavar="DATE", help="Events on or after this day.")
@click.option("--user", metavar="NAME", help="Events of this user (or batch actor).")
@click.option("--plot", type=click.IntRange(min=1), metavar="ID", help="Events about this plot.")
@click.option("--action", metavar="A", help="This action (personal_data.viewed …), or a prefix ending in '.'.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write the events to this CSV file.")
@json_option
@click.pass_context
def audit_command(ctx, since, user, plot, action, limit, csv_path, as_json):
    """The audit trail, newest first: views of personal data in clear (who, when, which plot, from where),
    exports with personal data, review actions, users added or disabled, every batch job's end. ID numbers
    in the details are masked; the trail itself can only be appended to.
    """
    from geoland.review.audit import audit_events, describe

    with connect(ctx) as conn:
        frame = audit_events(conn, since=since, user=user, plot=plot, action=action, limit=limit)
    if csv_path:
        write_csv(frame.astype({"at": str}), csv_path)
    if as_json:
        return emit_json({"events": frame.astype({"at": str}).to_dict(orient="records")})
    for line in describe(frame):
        click.echo(line)
    click.echo(f"{len(frame):,} events" + (f" → {csv_path}" if csv_path else ""))
