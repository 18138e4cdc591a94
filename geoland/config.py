"""Where geoland keeps its state and finds its database and sample data.

Precedence, highest first: command-line option, environment variable, default.
- ``GEOLAND_DATABASE_URL``: any PostgreSQL/PostGIS server; otherwise the embedded cluster.
- ``GEOLAND_HOME``: state folder (embedded cluster, synthetic data); default ``.geoland`` at the root of a
  source checkout, ``~/.local/share/geoland`` for an installed package.
- ``GEOLAND_SAMPLE_DATA``: the public reference data (default ``../shared/data`` beside the checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

from geoland.errors import ConfigError

_CHECKOUT = Path(__file__).resolve().parents[1]


def _is_checkout(path: Path) -> bool:
    return (path / "pyproject.toml").exists() and (path / "geoland").is_dir()


def home() -> Path:
    """The state folder: ``GEOLAND_HOME``, or ``.geoland/`` in the checkout."""
    if os.environ.get("GEOLAND_HOME"):
        return Path(os.environ["GEOLAND_HOME"]).absolute()
    if _is_checkout(_CHECKOUT):
        return _CHECKOUT / ".geoland"
    return Path.home() / ".local" / "share" / "geoland"


def default_data_dir() -> Path:
    """The embedded cluster's data directory."""
    return home() / "pg"


def sample_data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The folder with the public sample data, or None when there is none.

    An explicit folder (``--data``) or ``GEOLAND_SAMPLE_DATA`` that does not exist is an error rather than
    a silent fall-back: the user asked for that data.
    """
    chosen = explicit or os.environ.get("GEOLAND_SAMPLE_DATA")
    if chosen:
        path = Path(chosen).absolute()
        if not path.is_dir():
            raise ConfigError(f"sample data folder {path} does not exist")
        return path
    for candidate in (_CHECKOUT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


def database_url(explicit: str | None = None) -> str:
    """The URL to connect to: explicit, ``GEOLAND_DATABASE_URL``, or the running embedded cluster."""
    url = explicit or os.environ.get("GEOLAND_DATABASE_URL")
    if url:
        return url
    from geoland.store.embedded import EmbeddedCluster

    cluster = EmbeddedCluster(default_data_dir())
    found = cluster.url() if cluster.running() else None
    if not found:
        raise ConfigError(
            "no database: the embedded cluster is not running (run `geoland db start`) "
            "and GEOLAND_DATABASE_URL is not set"
        )
    return found


def flag(name: str) -> bool:
    """An on/off setting from the environment: ``1``, ``true``, ``yes`` or ``on`` is on."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def seconds(name: str, default: float, unit: int) -> float:
    """A positive duration setting from the environment, in ``unit`` seconds (e.g. minutes: 60), as seconds.

    Raises
    ------
    ConfigError
        The value is not a positive number.
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default * unit
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not value > 0:
        raise ConfigError(f"{name}={raw!r}: a positive number is needed")
    return value * unit


def report_dir() -> Path | None:
    """The folder of the latest data-quality report, the one the web app links to, or None.

    ``GEOLAND_REPORT_DIR`` (where the nightly ``geoland report --out`` writes, see the README's cron line);
    otherwise the newest of ``report/`` and ``demo/report-*`` in the state folder that holds an ``index.html``.
    """
    if os.environ.get("GEOLAND_REPORT_DIR"):
        folder = Path(os.environ["GEOLAND_REPORT_DIR"])
        return folder if (folder / "index.html").exists() else None
    found = [f for f in (home() / "report", *sorted((home() / "demo").glob("report-*")))
             if (f / "index.html").exists()]
    return max(found, key=lambda f: (f / "index.html").stat().st_mtime) if found else None
