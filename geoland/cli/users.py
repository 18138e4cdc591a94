"""``geoland users``: users of the web app and API, their roles and tokens."""

from __future__ import annotations

import sys

import click

from geoland.output import emit_json, table

from .base import cli, connect, json_option


@cli.group()
def users():
    """Users of the web app and API: viewer, editor (its communes' plots), reviewer (review actions), admin."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "editor", "reviewer", "admin"]), required=True)
@click.option("--commune", "communes", multiple=True, metavar="CODE",
              help="An editor's commune (2025 code); repeat for several. Editors see and edit only these.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (else prompted).")
@click.option("--token", "with_token", is_flag=True, help="Also issue an API token (printed once, stored hashed).")
@json_option
@click.pass_context
def users_add(ctx, username, role, communes, password_stdin, with_token, as_json):
    """Add a user, or change an existing user's role, password and communes."""
    from geoland.review.users import add_user

    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        "password", hide_input=True, confirmation_prompt=True)
    with connect(ctx) as conn:
        token = add_user(conn, username, role, password, with_token=with_token, communes=communes)
    if as_json:
        return emit_json({"username": username, "role": role, "communes": sorted(set(communes)), "token": token})
    click.echo(f"user {username}: {role}" + (f" of commune(s) {', '.join(sorted(set(communes)))}" if communes else ""))
    if token:
        click.echo(f"API token (shown once): {token}")


@users.command("list")
@json_option
@click.pass_context
def users_list(ctx, as_json):
    """The users, their roles and whether they have an API token."""
    from geoland.review.users import list_users

    with connect(ctx) as conn:
        rows = list_users(conn)
    if as_json:
        return emit_json({"users": rows})
    click.echo(table(["user", "role", "communes", "token", "disabled"],
                     [[r["username"], r["role"], r["communes"] or "", "yes" if r["has_token"] else "",
                       "yes" if r["disabled"] else ""]
                      for r in rows]))


@users.command("disable")
@click.argument("username")
@json_option
@click.pass_context
def users_disable(ctx, username, as_json):
    """Disable a user: no login, no API token, and every open web session ended at once."""
    from geoland.review.users import disable_user

    with connect(ctx) as conn:
        disable_user(conn, username)
    if as_json:
        return emit_json({"username": username, "disabled": True})
    click.echo(f"user {username}: disabled, sessions ended")
