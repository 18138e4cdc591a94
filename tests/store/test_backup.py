"""`geoland db backup` / `db restore` (issue 14, defect 10): a database dumped, lost and restored gives the
same identifiers; a restore never overwrites data unless asked; a file that is not a backup is named."""

import json

import pytest
import sqlalchemy as sa

from geoland.store.db import head_revision, sqlalchemy_url


@pytest.fixture
def coded(db_url, load_province, geoland_cli, tmp_path):
    load_province("99", n_plots=400)
    for args in (("reassign",), ("codes", "issue")):
        code, _, err = geoland_cli(*args)
        assert code == 0, err
    code, out, err = geoland_cli("export", "--province", "99", "--out", tmp_path / "before", "--json")
    assert code == 0, err
    return json.loads(out)["export_id"]


def test_backup_lose_restore_gives_the_same_identifiers(coded, db_url, db_query, geoland_cli, tmp_path):
    dump = tmp_path / "geoland.dump"
    code, out, err = geoland_cli("db", "backup", dump, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["bytes"] > 10_000 and report["schema_version"] == head_revision()
    plots = db_query(db_url, "SELECT count(*) FROM geoland.plot")[0][0]
    engine = sa.create_engine(sqlalchemy_url(db_url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA geoland CASCADE"))                # the disk is lost
    engine.dispose()
    code, out, err = geoland_cli("db", "restore", dump, "--json")
    assert code == 0, err
    assert json.loads(out)["migrated_to"] == head_revision()
    assert db_query(db_url, "SELECT count(*) FROM geoland.plot")[0][0] == plots
    code, out, err = geoland_cli("export", "--province", "99", "--out", tmp_path / "after", "--json")
    assert code == 0, err
    assert json.loads(out)["export_id"] == coded                             # the very same identifier files
    assert geoland_cli("export", "verify", tmp_path / "after")[0] == 0
    # The audit trail came back too, still append-only.
    assert db_query(db_url, "SELECT count(*) > 0 FROM geoland.audit_event")[0][0]


def test_a_restore_over_data_is_refused_unless_asked(coded, db_url, db_query, geoland_cli, tmp_path):
    dump = tmp_path / "geoland.dump"
    assert geoland_cli("db", "backup", dump)[0] == 0
    jobs = db_query(db_url, "SELECT count(*) FROM geoland.job")[0][0]
    code, _, err = geoland_cli("db", "restore", dump)
    assert code == 1 and "--replace" in err
    assert geoland_cli("reassign")[0] == 0                                   # more jobs after the backup
    code, _, err = geoland_cli("db", "restore", dump, "--replace")
    assert code == 0, err
    assert db_query(db_url, "SELECT count(*) FROM geoland.job")[0][0] == jobs    # as it was at the backup
    assert db_query(db_url, "SELECT to_regclass('geoland_replaced.job')")[0][0] is None


def test_a_file_that_is_not_a_backup_is_named(db_url, geoland_cli, tmp_path):
    bad = tmp_path / "notes.dump"
    bad.write_text("không phải bản sao lưu")
    code, _, err = geoland_cli("db", "restore", bad)
    assert code == 1 and "notes.dump" in err and "not a geoland backup" in err
