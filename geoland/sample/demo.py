"""``geoland demo``: the pipeline on the Sơn La sample, or on a synthetic province without sample data.

Each step goes through the same functions as the matching command, in its own transaction, so the demo
is what a user would get by typing the commands one by one. Running it again changes nothing. Steps that do
not read what another writes run side by side in forked processes (the codes and the population
database's answers beside the reassignment and recoding; the export beside the checks, report and maps;
the maps beside the report): on two cores, a million plots go through in under two minutes.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from pathlib import Path

import geopandas as gpd
import sqlalchemy as sa

from boundaries.coverage import DEFAULT_MIN_AREA_M2
from geoland import config
from geoland.errors import GeolandError
from geoland.output import (
    format_boundaries,
    format_check,
    format_codes,
    format_conversion,
    format_coverage,
    format_export,
    format_import,
    format_map,
    format_reassignment,
    format_recode,
    format_reconcile,
    format_register_import,
    format_verification,
    table,
    write_csv,
)
from geoland.pipeline.units import check_units, load_boundaries, load_conversion
from geoland.store.db import connect, migrate, without_parallel_workers

NEW = dt.date(2025, 7, 1)
OLD = NEW - dt.timedelta(days=1)
SON_LA = "14"
_SAMPLE_FILES = ("admin_units_2025_conversion.csv", "son_la/communes_2025.geojson",
                 "son_la/communes_pre2025.geojson")


def sample_inputs(data_dir: Path | None) -> dict | None:
    """The Sơn La inputs in ``data_dir``, or None when any is missing."""
    if data_dir is None or not all((data_dir / f).is_file() for f in _SAMPLE_FILES):
        return None
    conversion, new, old = (data_dir / f for f in _SAMPLE_FILES)
    return {"province": SON_LA, "conversion": conversion, "new": new, "old": old,
            "new_code_field": "code", "old_code_field": "old_code", "source": f"Sơn La sample in {data_dir}"}


def synthetic_inputs(folder: Path) -> dict:
    """Write the synthetic province's files (same bytes on every run) and describe them."""
    from boundaries.crs import transform_geometries
    from boundaries.synthetic import PROVINCE_CODE, synthetic_reorganisation

    folder.mkdir(parents=True, exist_ok=True)
    reorg = synthetic_reorganisation(seed=0)
    paths = {"conversion": folder / "conversion.csv", "new": folder / "communes_new.geojson",
             "old": folder / "communes_old.geojson"}
    reorg.conversion.to_csv(paths["conversion"], index=False)
    for key, frame in (("new", reorg.new), ("old", reorg.old)):
        wgs84 = gpd.GeoDataFrame(frame.drop(columns="geometry"),
                                 geometry=transform_geometries(frame.geometry.to_numpy(), reorg.crs, "EPSG:4326"),
                                 crs="EPSG:4326")
        wgs84[[c for c in wgs84.columns if c in ("code", "name", "geometry")]].to_file(
            paths[key], driver="GeoJSON", engine="pyogrio", COORDINATE_PRECISION=7)
    return {"province": PROVINCE_CODE, **paths, "new_code_field": "code", "old_code_field": "code",
            "source": f"synthetic province {PROVINCE_CODE} written to {folder}"}


def demo_plots(folder: Path, n_plots: int, *, synthetic: bool, data_dir=None, seed: int = 0) -> Path:
    """The demo's plot file, generated once per size, seed and source.

    The demo's plot file, generated once per (size, seed, source): rerunning the demo imports the very
    same file, which the importer recognises and skips.
    """
    from geoland.sample.cadastre import synth_inputs, synthesize, write_synthetic
    from geoland.sample.register import REGISTER_SUFFIXES, synthesize_register, write_register

    path = folder / f"plots-{'synthetic' if synthetic else 'son-la'}-{n_plots}-seed{seed}.gpkg"
    if not path.exists() or not any(Path(str(path) + f".paper-register.{e}").exists() for e in ("xlsx", "csv")):
        old, new, _ = synth_inputs(data_dir=data_dir, use_synthetic=synthetic,
                                   province="99" if synthetic else SON_LA)
        tmp = path.with_name("tmp-" + path.name)
        plots = synthesize(old, n_plots, seed=seed, province="99" if synthetic else SON_LA, new_communes=new)
        write_synthetic(plots, tmp)
        write_register(synthesize_register(plots, seed=seed), tmp)
        for suffix in ("", ".truth.csv", ".verification.csv", *REGISTER_SUFFIXES):
            if Path(str(tmp) + suffix).exists():
                Path(str(tmp) + suffix).replace(str(path) + suffix)
    return path


def register_files(plots_file: Path) -> tuple[Path, Path]:
    """The registry export (workbook or CSV folder) and the paper register written beside a demo plot file."""
    export = next(p for p in (Path(str(plots_file) + ".register.xlsx"), Path(str(plots_file) + ".register"))
                  if p.exists())
    paper = next(p for p in (Path(str(plots_file) + ".paper-register.xlsx"),
                             Path(str(plots_file) + ".paper-register.csv")) if p.exists())
    return export, paper


class _Background:
    """A demo step in a forked process, beside steps that do not read what it writes.

    A step in a forked process while the demo goes on with steps that do not read what it writes (two
    cores: most steps keep one busy). ``result()`` waits for the step's report, with its own duration as
    ``seconds``, or raises its error; ``cancel()`` stops it when the demo fails meanwhile.
    """

    def __init__(self, name: str, target, *args):
        ctx = multiprocessing.get_context("fork")
        self.name = name
        self._receive, send = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=self._run, args=(send, target, args), name=f"geoland-{name}")
        self._process.start()
        send.close()

    @staticmethod
    def _run(send, target, args) -> None:
        start = time.perf_counter()
        try:
            send.send(("ok", target(*args) | {"seconds": time.perf_counter() - start}))
        except BaseException as exc:
            # as a plain GeolandError with its message: a subclass with other arguments may not unpickle
            send.send(("error", GeolandError(exc.message if isinstance(exc, GeolandError) else repr(exc))))

    def result(self) -> dict:
        try:
            status, value = self._receive.recv()
        except EOFError:
            status, value = "error", GeolandError(f"ended without a result (exit code {self._process.exitcode})")
        self._process.join()
        if status == "error":
            raise GeolandError(f"{self.name}: {value}") from value
        return value

    def wait_for(self, event) -> None:
        """Wait until the step sets ``event``; raise its error if it ends without."""
        while not event.wait(0.5):
            if not self._process.is_alive():
                self.result()             # raises the step's error
                raise GeolandError(f"{self.name}: ended before it was expected to")

    def cancel(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            self.cancel()


def _register(url, province: str, export: Path, paper: Path, imported, checks_done) -> dict:
    """Step 8b: the registry export into the land register, then the paper register reconciled with it.

    ``imported`` is set once the export is committed (the checks may read it); the reconciliation waits for
    ``checks_done`` (the checks are the longest step: it runs beside the report instead), and nothing reads
    what it writes.
    """
    from geoland.pipeline.reconcile import reconcile
    from geoland.pipeline.register_import import import_register

    with connect(url) as conn:
        registered = import_register(conn, export, province=province, progress=False)
    imported.set()
    checks_done.wait()
    with connect(url) as conn:
        reconciled = reconcile(conn, paper, progress=False)
    return {"register": registered, "reconcile": reconciled}


def _codes_and_answers(url, province: str, answers_file: Path) -> dict:
    """Steps 7 and 8: identification codes for every plot; the population database's answers."""
    from geoland.pipeline.codes import issue_codes
    from geoland.pipeline.quality import import_verification

    codes = issue_codes(url, province=province, progress=False)
    with connect(url) as conn:
        answers = import_verification(conn, answers_file, progress=False)
    return {"codes": codes, "answers": answers}


def _maps(url, folder: Path) -> dict:
    """Step 11: review maps of the three communes with the most open findings."""
    from geoland.review.communes import commune_plots
    from geoland.review.maps import write_map

    with connect(url) as conn:
        worst = conn.execute(sa.text("""
            SELECT a.commune_code FROM geoland.finding_current f JOIN geoland.plot_assignment_current a USING (plot_id)
            WHERE a.effective = :e AND a.commune_code IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 3"""),
            {"e": NEW}).scalars().all()
        return {"maps": [write_map(commune_plots(conn, c), folder / f"map-{c}.html") for c in worst]}


def _export(url, province: str, out: Path) -> dict:
    """Step 12: the identifier files, then their verification."""
    from geoland.pipeline.export import export_province, verify_export

    with connect(url) as conn:
        exported = export_province(conn, province=province, commune=None, formats=["csv", "geojson", "gpkg"],
                                   out=out)
    verify_export(out)
    return {"export": exported}


class _Steps:
    """Prints each step's heading and keeps how long every step took (seconds, wall clock)."""

    def __init__(self, echo):
        self.echo, self.seconds = echo, {}
        self._name, self._start = "set-up and migrations", time.perf_counter()

    def __call__(self, heading: str) -> None:
        self.echo(f"\n== {heading}")
        self.part(heading.split(" (")[0].split(":")[0].split(". ", 1)[-1])

    def part(self, name: str) -> None:
        """Count the time from now on under ``name``, without a heading."""
        self._close()
        self._name = name

    def _close(self) -> None:
        now = time.perf_counter()
        self.seconds[self._name] = self.seconds.get(self._name, 0.0) + now - self._start
        self._start = now

    def finish(self) -> dict:
        self._close()
        return self.seconds


def run_demo(url: str | None = None, *, data_dir=None, synthetic: bool = False, n_plots: int = 50_000,
             echo=print, progress: bool = False) -> dict:
    """Run the whole pipeline (``geoland demo``) and return its report; ``echo`` prints each step."""
    with without_parallel_workers():      # the demo runs steps side by side: the cores are busy already
        return _run_demo(url, data_dir=data_dir, synthetic=synthetic, n_plots=n_plots, echo=echo,
                         progress=progress)


def _run_demo(url, *, data_dir, synthetic: bool, n_plots: int, echo, progress: bool) -> dict:
    found = None if synthetic else config.sample_data_dir(data_dir)
    inputs = None if synthetic else sample_inputs(found)
    if inputs is None:
        if not synthetic:
            echo(f"no sample data found ({found or 'no ../shared/data, no --data, no GEOLAND_SAMPLE_DATA'}): "
                 "running on a synthetic province instead")
        synthetic = True
        inputs = synthetic_inputs(config.home() / "synthetic")
    step = _Steps(echo)
    echo(f"== geoland demo: {inputs['source']}")
    before, after = migrate(url)
    if before != after:
        echo(f"schema migrated to revision {after}")
    province = inputs["province"]
    report: dict = {"source": inputs["source"], "province": province}

    step("1. conversion table (bảng chuyển đổi đơn vị hành chính)")
    with connect(url) as conn:
        conv = load_conversion(conn, inputs["conversion"], effective=NEW)
    report["conversion"] = conv.as_dict()
    echo(format_conversion(conv, brief=True))

    step("2. boundaries (ranh giới xã) of both vintages")
    for key, day, field in (("new", NEW, inputs["new_code_field"]), ("old", OLD, inputs["old_code_field"])):
        with connect(url) as conn:
            layer = load_boundaries(conn, inputs[key], effective=day, code_field=field, name_field="name",
                                    province=province)
        report[f"boundaries_{key}"] = layer.as_dict()
        echo(format_boundaries(layer, brief=True))

    step("3. coverage QA (khoảng hở / chồng lấn giữa các xã)")
    for key, day in (("new", NEW), ("old", OLD)):
        with connect(url) as conn:
            cov = check_units(conn, effective=day, province=province, min_area_m2=DEFAULT_MIN_AREA_M2)
        report[f"coverage_{key}"] = cov.as_dict()
        echo(format_coverage(cov, limit=15))

    step(f"4. land plots (thửa đất): {n_plots:,} synthetic plots on the old communes, imported")
    from geoland.pipeline.plots import import_plots

    step.part("synthetic plots")
    plots_file = demo_plots(config.home() / "demo", n_plots, synthetic=synthetic, data_dir=data_dir)
    step.part("land plots")
    with connect(url) as conn:
        imported = import_plots(conn, plots_file, province=province, progress=progress)
    report["plots"] = imported.as_dict()
    echo(format_import(imported, brief=True))

    # Codes need only the plots, the population database's answers nothing: both are loaded in a second
    # process while the plots are reassigned and recoded here (recoding needs the assignments). The land
    # register in a third: its export first (only the checks read it: step 9 waits for it), then the paper
    # register reconciled alongside the checks (nothing reads what that writes).
    fork = multiprocessing.get_context("fork")
    register_imported, checks_done = fork.Event(), fork.Event()
    with _Background("register", _register, url, province, *register_files(plots_file),
                     register_imported, checks_done) as registering:
        with _Background("codes", _codes_and_answers, url, province,
                         Path(str(plots_file) + ".verification.csv")) as coding:
            _reassign(url, report, province, echo=echo, step=step, progress=progress)
            _recode(url, report, province, echo=echo, step=step, progress=progress)
            step("7. identification codes (mã định danh thửa đất)")
            done = coding.result()
        report["codes"] = done["codes"].as_dict() | {"seconds": done["seconds"]}
        echo(format_codes(done["codes"]) + f"\n(with step 8: {done['seconds']:.1f} s, alongside steps 5–6)")
        step("8. population-database answers (kết quả xác thực từ CSDL dân cư)")
        report["verification"] = done["answers"].as_dict()
        echo(format_verification(done["answers"]))
        step("8b. land register (sổ địa chính): registry export imported (alongside steps 5–8)")
        registering.wait_for(register_imported)
        _rest_of_pipeline(url, report, province, echo=echo, step=step, progress=progress, registering=registering,
                          checks_done=checks_done)
    return report


def _reassign(url, report: dict, province: str, *, echo, step: _Steps, progress: bool) -> None:
    """Step 5: every plot to its 2025 commune, and the list of plots to review."""
    from geoland.pipeline.assignments import flagged_plots, reassign

    step("5. reassignment to the new communes (gán thửa đất vào xã mới)")
    reassigned = reassign(url, province=province, effective=NEW, progress=progress)
    with connect(url) as conn:
        flagged = flagged_plots(conn, province=province, effective=NEW)
    flagged_file = config.home() / "demo" / f"reassign-flagged-{province}.csv"
    write_csv(flagged, flagged_file)
    report["reassign"] = reassigned.as_dict() | {"flagged_file": str(flagged_file), "flagged": len(flagged)}
    echo(format_reassignment(reassigned, limit=10))
    echo(f"{len(flagged):,} plots to review (straddling, outside or legal mismatch): {flagged_file}")


def _recode(url, report: dict, province: str, *, echo, step: _Steps, progress: bool) -> None:
    """Step 6: the MX.SB.ST recoding, with its crosswalk file."""
    from geoland.pipeline.recode import crosswalk_frame, recode_province

    step("6. MX.SB.ST recoding, policy prefix (mã thửa mới)")
    recoded = recode_province(url, province=province, policy="prefix", effective=NEW, progress=progress)
    crosswalk_file = config.home() / "demo" / f"crosswalk-{province}.csv"
    with connect(url) as conn:
        write_csv(crosswalk_frame(conn, province=province, effective=NEW), crosswalk_file)
    recoded.crosswalk_file = str(crosswalk_file)
    report["recode"] = recoded.as_dict()
    echo(format_recode(recoded, brief=True))


def _rest_of_pipeline(url, report: dict, province: str, *, echo, step: _Steps, progress: bool,
                      registering: _Background, checks_done) -> None:
    """Steps 9–12 of the demo, then the summary.

    Steps 9–12: the checks, the report, maps of the communes with the most findings, and the
    identifier export; then the summary.
    """
    folder = config.home() / "demo"
    # The export reads what steps 4–7 wrote and writes only files: alongside the checks, the report and
    # the maps (the checks keep one core busy, the other mostly idle).
    with _Background("export", _export, url, province, folder / f"export-{province}") as exporting:
        _check(url, report, province, echo=echo, step=step, progress=progress)
        checks_done.set()                # the paper register may be reconciled now, beside the report
        _report_and_maps(url, report, province, folder, echo=echo, step=step)
        step("12. identifier export for the national address platform (xuất mã định danh)")
        done = exporting.result()
    report["export"] = done["export"].as_dict() | {"seconds": done["seconds"]}
    echo(format_export(done["export"], brief=True) + f", verified ({done['seconds']:.1f} s, alongside steps 9–11)")
    step("12b. land register: the registry export (alongside steps 5–8), the paper register reconciled (beside "
         "steps 10–12)")
    registered = registering.result()
    report["register"] = registered["register"].as_dict() | {"seconds": registered["seconds"]}
    report["reconcile"] = registered["reconcile"].as_dict()
    echo(format_register_import(registered["register"]) + "\n" + format_reconcile(registered["reconcile"])
         + f"\n({registered['seconds']:.1f} s in all)")
    _summary(report, echo=echo, step=step)


def _check(url, report: dict, province: str, *, echo, step: _Steps, progress: bool) -> None:
    """Step 9: the data-quality checks."""
    from geoland.pipeline.quality import check

    step("9. data-quality checks (đúng – đủ – sạch)")
    with connect(url) as conn:
        checked = check(conn, province=province, progress=progress)
    report["check"] = checked.as_dict()
    echo(format_check(checked, brief=True))


def _report_and_maps(url, report: dict, province: str, folder: Path, *, echo, step: _Steps) -> None:
    """Steps 10 and 11: the province report, and (in a second process) maps of the worst communes."""
    from geoland.pipeline.report import build_report

    with _Background("maps", _maps, url, folder / "maps") as drawing:
        step("10. province report (báo cáo)")
        with connect(url) as conn:
            built = build_report(conn, province=province, out=folder / f"report-{province}")
        report["report"] = built.as_dict()
        echo(built.files[0])
        step("11. review maps of the communes with the most findings (bản đồ rà soát)")
        maps = drawing.result()["maps"]
    report["maps"] = [m.as_dict() for m in maps]
    for m in maps:
        echo(format_map(m))


def _summary(report: dict, *, echo, step: _Steps) -> None:
    built, codes, exported, maps = report["report"], report["codes"], report["export"], report["maps"]
    c = built["campaign"]
    step("summary (tổng hợp)")
    echo(table(["", "plots"], [
        ["plots (thửa đất)", c["plots"]], ["full data (đủ thông tin)", c["full_data"]],
        ["  authenticated (đã xác thực)", c["authenticated"]], ["  incorrect (sai thông tin)", c["incorrect"]],
        ["  unverifiable (không xác thực được)", c["unverifiable"]],
        ["  not yet checked (chưa xác thực)", c["not_checked"]],
        ["missing ≥ 1 field (thiếu ≥ 1 trường)", c["missing_1_plus"]],
        ["with an identification code", codes["with_code"]], ["straddling / outside / legal mismatch",
                                                              report["reassign"]["flagged"]],
        ["identifiers exported", exported["rows"]]], right={1}))
    report["summary"] = {"campaign": c, "with_code": codes["with_code"], "exported": exported["rows"]}
    echo(f"report:  {built['files'][0]}")
    echo("maps:    " + ", ".join(m["file"] for m in maps))
    echo(f"export:  {exported['out']}")
    seconds = step.finish()
    report["seconds"] = seconds
    echo("\n== time per step (thời gian)")
    echo(table(["step", "seconds"], [[name, f"{s:.1f}"] for name, s in seconds.items()]
               + [["total", f"{sum(seconds.values()):.1f}"]], right={1}))
