"""geoland: the application that cleans a provincial land database after the 2025 commune reorganisation.

It owns all I/O (files, the PostGIS store, the embedded cluster, the CLI) and calls the pure packages
``identifiers`` (code schemes) and ``boundaries`` (administrative units and their changes).
"""

__version__ = "0.1.0"
