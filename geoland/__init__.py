"""geoland: the application that cleans a provincial land database after the 2025 commune reorganisation.

It owns all I/O (files, the PostGIS store, the embedded cluster, the CLI) and calls the pure packages
``identifiers`` (code schemes) and ``boundaries`` (administrative units and their changes). The rooms are
described in ``docs/architecture.md``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geoland")      # one number: pyproject.toml's
except PackageNotFoundError:              # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"
