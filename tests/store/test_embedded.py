"""The embedded cluster: a throw-away cluster in tmp_path, started, found, idempotent, stopped."""

import os
import shutil

import pytest
import sqlalchemy as sa

from geoland.store.db import sqlalchemy_url
from geoland.store.embedded import EmbeddedCluster, mask_url

pytestmark = pytest.mark.skipif(bool(os.environ.get("GEOLAND_DATABASE_URL")),
                                reason="GEOLAND_DATABASE_URL points at an external server")


@pytest.fixture
def cluster(tmp_path):
    c = EmbeddedCluster(tmp_path / "state" / "pg")
    yield c
    c.stop()
    if tmp_path not in c.data_dir.parents:       # as root: the cluster lived under /var/lib/postgresql
        shutil.rmtree(c.data_dir.parent, ignore_errors=True)


def test_start_is_idempotent_and_local_only(cluster, geoland_cli, tmp_path):
    assert not cluster.status().initialised
    assert cluster.start() is True
    port = cluster.status().port
    assert cluster.start() is False and cluster.status().port == port          # no-op on a running cluster
    engine = sa.create_engine(sqlalchemy_url(cluster.url()))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW listen_addresses")).scalar() == "127.0.0.1"
        assert conn.execute(sa.text("SHOW port")).scalar() == str(port)
        assert conn.execute(sa.text("SELECT current_database()")).scalar() == "geoland"
        assert conn.execute(sa.text("SHOW password_encryption")).scalar() == "scram-sha-256"
    engine.dispose()
    hba = (cluster.data_dir / "pg_hba.conf").read_text() if os.access(cluster.data_dir, os.R_OK) else ""
    assert "trust" not in "".join(line for line in hba.splitlines() if not line.startswith("#"))
    # A wrong password is refused.
    bad = sa.create_engine(sqlalchemy_url(cluster.url().replace(cluster.password(), "wrong")))
    with pytest.raises(sa.exc.OperationalError):
        bad.connect()
    bad.dispose()
    code, out, _ = geoland_cli("db", "status", "--data-dir", tmp_path / "state" / "pg", "--json")
    assert code == 0 and '"running": true' in out and cluster.password() not in out
    assert cluster.stop() is True and cluster.stop() is False
    assert not cluster.status().running and cluster.status().initialised
    assert cluster.start() is True      # restarts on the same data


def test_mask_url():
    assert mask_url("postgresql://geoland:s3cret@127.0.0.1:5432/geoland") == "postgresql://geoland:***@127.0.0.1:5432/geoland"
