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


def test_a_restart_keeps_the_port_and_the_web_app_recovers(cluster, geoland_cli):
    """Issue 14, defect 6: stop then start keeps the port (its old connections in TIME_WAIT); the running
    app answers 503 with Retry-After while the database is down, then serves again without a restart; a
    batch job says in one line that the database cannot be reached."""
    from geoland.store.db import migrate
    from web.app import create_app

    cluster.start()
    url, port = cluster.url(), cluster.status().port
    migrate(url)
    app = create_app(url, secret_key="test")
    client = app.test_client()
    assert client.get("/api/communes").status_code == 401                 # up (no token): the app answers
    cluster.stop()
    response = client.get("/api/communes")
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    assert response.get_json()["status"] == 503 and "cannot use the database" in response.get_json()["message"]
    code, _, err = geoland_cli("--database-url", url, "reassign")
    assert code == 1 and "cannot use the database" in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1
    cluster.start()
    assert cluster.status().port == port                                  # the same URL works again
    assert client.get("/api/communes").status_code == 401                 # recovered: the pool reconnects
