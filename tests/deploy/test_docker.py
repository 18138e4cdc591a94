import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="Debian's docker-compose is not installed (scripts/test.sh installs it)")
def test_compose_file_is_valid():
    proc = subprocess.run(["docker-compose", "-f", str(ROOT / "docker" / "compose.yaml"), "config"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "postgis/postgis" in proc.stdout and "GEOLAND_DATABASE_URL" in proc.stdout
    # The pipeline (migrate, then the demo) and the web app on the loopback port.
    assert "geoland db migrate && geoland demo --data /data" in proc.stdout
    assert "serve" in proc.stdout and "127.0.0.1" in proc.stdout and "8000" in proc.stdout


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="Debian's docker-compose is not installed (scripts/test.sh installs it)")
def test_dask_compose_file_is_valid():
    proc = subprocess.run(["docker-compose", "-f", str(ROOT / "docker" / "compose.dask.yaml"), "config"],
                          capture_output=True, text=True, env={"GEOLAND_WORKERS": "3", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # PostGIS, a scheduler and the workers, all on geoland's image, each worker reaching the database itself
    assert "postgis/postgis" in out and "dask" in out and "scheduler" in out and "tcp://scheduler:8786" in out
    assert out.count("GEOLAND_DATABASE_URL") >= 3 and "DASK_DISTRIBUTED__WORKER__DAEMON" in out
    assert "replicas: 3" in out and "127.0.0.1:8787" in out


def test_dockerfile_installs_every_package():
    text = (ROOT / "docker" / "Dockerfile").read_text()
    for package in ("geoland", "identifiers", "boundaries", "web"):
        assert f"COPY {package} ./{package}" in text
