"""The command line as a user meets it: help everywhere, JSON for scripts, one-line errors."""

import json

import click
import pytest

from geoland.cli import cli
from geoland.store.db import head_revision


def _commands(group, path=()):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


@pytest.mark.parametrize("path", [p for p, _ in _commands(cli)], ids=" ".join)
def test_every_command_explains_itself(path, geoland_cli):
    command = dict(_commands(cli))[path]
    code, out, err = geoland_cli(*path, "--help")
    assert code == 0 and err == ""
    assert f"Usage: geoland {' '.join(path)}" in out
    assert command.help.split("\n")[0].strip()[:40] in " ".join(out.split())


def test_counting_commands_take_json():
    counting = {("db", "start"), ("db", "stop"), ("db", "status"), ("db", "migrate"), ("units", "load-conversion"),
                ("units", "load-boundaries"), ("units", "check"), ("units", "lookup"), ("demo",),
                ("plots", "import"), ("reassign",), ("synth",), ("codes", "issue"), ("recode",), ("codes", "lookup")}
    for path, command in _commands(cli):
        if path in counting:
            assert any(p.name == "as_json" for p in command.params), path


def test_errors_are_one_line_with_exit_1(db_url, geoland_cli, tmp_path):
    code, out, err = geoland_cli("--database-url", "postgresql://nobody:x@127.0.0.1:1/none", "units", "check")
    assert code == 1 and out == "" and err.startswith("geoland: error: cannot use the database")
    assert len(err.strip().splitlines()) == 1
    code, _, err = geoland_cli("units", "load-boundaries", tmp_path / "none.gpkg", "--effective", "2025-07-01")
    assert code == 1 and "none.gpkg: no such file" in err
    code, _, err = geoland_cli("units", "lookup", "1", "--at", "yesterday")
    assert code == 2 and "'yesterday' is not a date" in err


def test_unmigrated_database_says_to_migrate(server_url, geoland_cli, db_query):
    import sqlalchemy as sa

    from geoland.store.db import sqlalchemy_url

    admin = sa.create_engine(sqlalchemy_url(server_url).rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("DROP DATABASE IF EXISTS geoland_test_empty"))
        conn.execute(sa.text("CREATE DATABASE geoland_test_empty"))
    url = server_url.rsplit("/", 1)[0] + "/geoland_test_empty"
    try:
        code, _, err = geoland_cli("--database-url", url, "units", "check")
        assert code == 1 and "run `geoland db migrate`" in err
        code, out, _ = geoland_cli("--database-url", url, "db", "migrate", "--json")
        assert code == 0 and json.loads(out)["after"] == head_revision()
        code, out, _ = geoland_cli("--database-url", url, "db", "migrate")
        assert code == 0 and f"already at revision {head_revision()}" in out
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS geoland_test_empty WITH (FORCE)"))
        admin.dispose()
