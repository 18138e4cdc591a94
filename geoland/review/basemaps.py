"""Background layers of the maps: none by default (offline), or the office's own, listed in a TOML file.

Every map of geoland (the web app's pages and ``geoland map``'s files) draws without any background unless the
office lists its layers: its orthophoto or cadastral server (WMS or WMTS), or public XYZ tiles where it allows
them. Nothing is fetched from anywhere else. The list is ``GEOLAND_BASEMAPS`` (a TOML file), else
``basemaps.toml`` in the state folder when it exists; ``GEOLAND_TILE_URL`` (one XYZ URL, the older setting) is
read as a one-layer list. Each ``[[basemap]]``::

    [[basemap]]
    name = "Ảnh trực giao 2023"               # shown in the layer switcher
    type = "wms"                               # xyz | wms | wmts
    url = "https://gis.example.gov.vn/geoserver/wms"
    layers = "sonla:orthophoto_2023"           # wms: LAYERS; wmts: LAYER
    format = "image/jpeg"                      # wms, wmts (default image/png)
    attribution = "© Sở Nông nghiệp và Môi trường"   # required: shown on the map
    max_zoom = 21                              # optional (default 20)
    default = true                             # shown at first (else the blank background is)
    # wmts only: tile_matrix_set = "GoogleMapsCompatible", style = "default"

A WMTS layer is read with the KVP GetTile request on a Web Mercator tile matrix set whose matrices are named by
zoom level (``GoogleMapsCompatible``, ``EPSG:3857``, as GeoServer and MapProxy publish them); an ``xyz`` URL has
``{z}``, ``{x}``, ``{y}`` (and may have ``{s}``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from geoland import config
from geoland.errors import ConfigError

TYPES = ("xyz", "wms", "wmts")
MAX_LAYERS = 20


def configured() -> list[dict]:
    """The background layers configured for this installation (empty: no background)."""
    path = os.environ.get("GEOLAND_BASEMAPS")
    if path:
        return read_basemaps(Path(path))
    default = config.home() / "basemaps.toml"
    if default.exists():
        return read_basemaps(default)
    url = os.environ.get("GEOLAND_TILE_URL")
    if url:
        return check_basemaps([{"name": "tiles", "type": "xyz", "url": url, "attribution": "GEOLAND_TILE_URL",
                                "default": True}], "GEOLAND_TILE_URL")
    return []


def read_basemaps(path: Path) -> list[dict]:
    """The layers of a basemaps TOML file, checked (:class:`ConfigError` naming the file and the entry)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: the basemaps file (GEOLAND_BASEMAPS) does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a TOML file ({exc})") from None
    unknown = set(data) - {"basemap"}
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {sorted(unknown)}: the layers are [[basemap]] entries")
    return check_basemaps(data.get("basemap", []), str(path))


def check_basemaps(entries: list, where: str) -> list[dict]:
    """Each entry complete and of a known type; at most one ``default``; returned in the maps' form."""
    if not isinstance(entries, list) or len(entries) > MAX_LAYERS:
        raise ConfigError(f"{where}: basemap must be a list of at most {MAX_LAYERS} [[basemap]] entries")
    out = []
    allowed = {"name", "type", "url", "layers", "format", "attribution", "max_zoom", "default",
               "tile_matrix_set", "style"}
    for i, entry in enumerate(entries, 1):
        said = f"{where}: basemap {i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{said}: a table of settings is needed")
        extra = set(entry) - allowed
        if extra:
            raise ConfigError(f"{said}: unknown setting(s) {sorted(extra)}")
        for key in ("name", "type", "url", "attribution"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ConfigError(f"{said}: {key} is required (text)")
        kind = entry["type"]
        if kind not in TYPES:
            raise ConfigError(f"{said} ({entry['name']}): type must be one of {', '.join(TYPES)}")
        url = entry["url"]
        if urlsplit(url).scheme not in ("http", "https") and not url.startswith("/"):
            raise ConfigError(f"{said} ({entry['name']}): url must be http(s):// or a path on this server")
        if kind == "xyz" and not all(k in url for k in ("{z}", "{x}", "{y}")):
            raise ConfigError(f"{said} ({entry['name']}): an xyz url needs {{z}}, {{x}} and {{y}}")
        if kind in ("wms", "wmts") and not str(entry.get("layers") or "").strip():
            raise ConfigError(f"{said} ({entry['name']}): layers is required for {kind}")
        zoom = entry.get("max_zoom", 20)
        if not isinstance(zoom, int) or not 1 <= zoom <= 24:
            raise ConfigError(f"{said} ({entry['name']}): max_zoom must be a whole number 1–24")
        layer = {"name": entry["name"].strip(), "type": kind, "url": url, "attribution": entry["attribution"],
                 "maxZoom": zoom, "default": bool(entry.get("default", False))}
        if kind == "wms":
            layer |= {"layers": entry["layers"], "format": entry.get("format", "image/png")}
        if kind == "wmts":
            layer["url"] = wmts_template(url, entry["layers"], entry.get("tile_matrix_set", "GoogleMapsCompatible"),
                                         entry.get("style", "default"), entry.get("format", "image/png"))
            layer["type"] = "xyz"
        out.append(layer)
    if sum(layer["default"] for layer in out) > 1:
        raise ConfigError(f"{where}: at most one basemap may be the default")
    return out


def wmts_template(url: str, layer: str, matrix_set: str, style: str, image_format: str) -> str:
    """A WMTS KVP GetTile URL as an XYZ template (matrices named by zoom level)."""
    from urllib.parse import quote

    joiner = "&" if "?" in url else "?"
    return (f"{url}{joiner}SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={quote(layer)}&STYLE={quote(style)}"
            f"&TILEMATRIXSET={quote(matrix_set)}&FORMAT={quote(image_format)}&TILEMATRIX={{z}}&TILEROW={{y}}"
            "&TILECOL={x}")
