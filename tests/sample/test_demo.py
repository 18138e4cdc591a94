"""The demo command end to end: on the Sơn La sample, and on the synthetic province without it."""

import json
from pathlib import Path

import pandas as pd


def test_demo_on_the_synthetic_province_is_idempotent(db_url, geoland_cli, db_snapshot):
    code, out, err = geoland_cli("demo", "--synthetic", "--plots", 2000)
    assert code == 0, err
    assert "synthetic province 99" in out and "coverage of" in out and "2,0" in out
    code, out, err = geoland_cli("demo", "--synthetic", "--plots", 2000, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["conversion"]["unchanged"] and report["boundaries_new"]["unchanged"]
    assert report["boundaries_new"]["matched"] == report["conversion"]["new_communes"]
    assert report["boundaries_old"]["matched"] == report["conversion"]["old_communes"]
    assert report["coverage_new"]["gaps"] == report["coverage_new"]["overlaps"] == 0
    assert report["plots"]["unchanged"] and report["plots"]["imported"] + report["plots"]["quarantined"] == \
        report["plots"]["rows_read"] > 1900
    # The whole pipeline ran: every artefact is there and the summary agrees with the report.
    for key in ("codes", "recode", "verification", "check", "report", "maps", "export"):
        assert key in report, key
    files = [report["report"]["files"][0], report["recode"]["crosswalk_file"], *[m["file"] for m in report["maps"]],
             *[f"{report['export']['out']}/{name}" for name in report["export"]["files"]]]
    assert len(report["maps"]) == 3 and all(Path(f).is_file() for f in files)
    assert json.loads(geoland_cli("export", "verify", report["export"]["out"], "--json")[1])["ok"]
    communes = pd.read_csv(Path(report["report"]["out"]) / "communes.csv", dtype={"commune": str},
                           keep_default_na=False)
    total = communes[communes["commune"] == ""].iloc[0]
    assert {k: int(total[k]) for k in report["summary"]["campaign"]} == report["summary"]["campaign"]
    assert report["summary"]["campaign"]["plots"] == report["plots"]["imported"]
    assert report["summary"]["exported"] == report["summary"]["with_code"] == report["plots"]["imported"]
    # Running it again adds no data (only the jobs, the audit trail and the campaign's progress — one row per
    # commune per check, the time series of the runs — say it ran).
    data = {"job", "audit_event", "campaign_progress"}
    before = {k: v for k, v in db_snapshot(db_url).items() if k not in data}
    assert geoland_cli("demo", "--synthetic", "--plots", 2000)[0] == 0
    assert {k: v for k, v in db_snapshot(db_url).items() if k not in data} == before


def test_demo_falls_back_without_sample_data(db_url, geoland_cli, tmp_path, monkeypatch):
    empty = tmp_path / "no-data"
    empty.mkdir()
    code, out, err = geoland_cli("demo", "--data", empty, "--plots", 500)
    assert code == 0, err
    assert "no sample data found" in out and "synthetic province" in out


def test_demo_on_son_la(db_url, sample_data, geoland_cli):
    code, out, err = geoland_cli("demo", "--data", sample_data, "--plots", 3000, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["province"] == "14"
    assert report["conversion"]["rows"] == 10_565
    assert report["boundaries_new"]["matched"] == 75 and report["boundaries_old"]["matched"] == 163
    assert report["coverage_new"]["units"] == 75 and report["coverage_old"]["units"] == 206
    assert report["coverage_new"]["overlaps"] == 13 and report["coverage_new"]["gaps"] == 0
    plots = report["plots"]
    assert plots["imported"] == plots["rows_read"] > 2900 and plots["srid"] == 9206
