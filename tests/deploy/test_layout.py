"""The layout's rules (docs/architecture.md), checked on the source: imports point one way, no SQL and no
Folium under web/, no error recognised by the words of its message, the pure packages do no I/O."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SQL = re.compile(r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)\b")


def _sources(folder):
    return sorted((ROOT / folder).rglob("*.py"))


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("folder", ["geoland", "boundaries", "identifiers"])
def test_imports_point_one_way(folder):
    offenders = [f"{p.relative_to(ROOT)}: {m}" for p in _sources(folder) for m in _imports(p)
                 if m == "web" or m.startswith("web.")]
    assert offenders == []


@pytest.mark.parametrize("folder", ["boundaries", "identifiers"])
def test_pure_packages_import_no_io_layer(folder):
    banned = ("geoland", "sqlalchemy", "psycopg", "pyogrio", "flask")
    offenders = [f"{p.relative_to(ROOT)}: {m}" for p in _sources(folder) for m in _imports(p)
                 if m.split(".")[0] in banned]
    assert offenders == []


def test_web_has_no_sql_and_no_folium():
    files = _sources("web")
    assert files
    sql = [str(p.relative_to(ROOT)) for p in files if SQL.search(p.read_text(encoding="utf-8"))]
    folium = [str(p.relative_to(ROOT)) for p in files for m in _imports(p) if m.split(".")[0] in ("folium", "branca")]
    assert sql == [] and folium == []
    templates = [p.name for p in (ROOT / "web" / "templates").glob("*.html") if SQL.search(p.read_text())]
    assert templates == []


def test_no_error_is_recognised_by_its_message():
    pattern = re.compile(r"""(["'][^"']*["']\s+(not\s+)?in\s+\w+\.(message|args)|\.message\s*(==|!=|\.startswith))""")
    offenders = [f"{p.relative_to(ROOT)}:{i}" for folder in ("geoland", "web")
                 for p in _sources(folder)
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_the_version_is_written_once():
    import geoland

    text = (ROOT / "geoland" / "__init__.py").read_text(encoding="utf-8")
    assert "importlib.metadata" in text and not re.search(r"__version__\s*=\s*['\"]\d+\.\d", text)
    assert geoland.__version__ == re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(),
                                            re.M).group(1)
