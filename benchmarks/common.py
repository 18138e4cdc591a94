"""What the benchmark scripts share: a scratch database on the configured server, and the plot file."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geoland import config
from geoland.store.db import migrate, sqlalchemy_url


def _admin(server_url: str):
    url = sa.engine.make_url(sqlalchemy_url(server_url))
    return url, sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


@contextlib.contextmanager
def scratch_database():
    """A new, migrated database on the embedded cluster (or GEOLAND_DATABASE_URL's server), dropped after."""
    server = config.database_url()
    name = f"geoland_bench_{uuid.uuid4().hex[:8]}"
    url, admin = _admin(server)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        scratch = url.set(database=name).render_as_string(hide_password=False)
        migrate(scratch)
        yield scratch
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def plots_file(keep: Path | None, n_plots: int, seed: int):
    """A synthetic Sơn La plot GeoPackage: ``keep`` when it exists (written there when it does not),
    else a temporary file."""
    from geoland.sample.cadastre import synth_inputs, synthesize, write_synthetic

    workdir = Path(tempfile.mkdtemp(prefix="geoland-bench-"))
    path = keep or workdir / "plots.gpkg"
    try:
        if not path.exists():
            old, new, _ = synth_inputs()
            write_synthetic(synthesize(old, n_plots, seed=seed, new_communes=new), path)
        yield path
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def province_arguments(description: str, default_plots: int = 100_000, extra=None):
    """The options every province benchmark takes: --plots, --seed, --keep; ``extra(parser)`` adds its own."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    if extra:
        extra(parser)
    parser.add_argument("--plots", type=int, default=default_plots)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="plot GeoPackage to reuse (written there when missing)")
    parser.add_argument("--register", action="store_true",
                        help="import the synthetic registry export of the plots too (benchmarks/register.py)")
    return parser.parse_args()


def sample_data() -> Path:
    data = config.sample_data_dir()
    if data is None:
        sys.exit("this benchmark needs the Sơn La sample data (../shared/data or GEOLAND_SAMPLE_DATA)")
    return data


def coded_province(url: str, data: Path, plots: Path) -> None:
    """Sơn La's conversion table and 2025 communes, the plots imported, reassigned and coded."""
    import datetime as dt

    from geoland.pipeline.assignments import reassign
    from geoland.pipeline.codes import issue_codes
    from geoland.pipeline.plots import import_plots
    from geoland.pipeline.units import load_boundaries, load_conversion
    from geoland.store.db import connect

    with connect(url) as conn:
        load_conversion(conn, data / "admin_units_2025_conversion.csv")
        load_boundaries(conn, data / "son_la" / "communes_2025.geojson", effective=dt.date(2025, 7, 1))
        import_plots(conn, plots, province="14", progress=False)
    reassign(url, province="14", progress=False)
    issue_codes(url, province="14", progress=False)
