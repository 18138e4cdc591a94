#!/usr/bin/env bash
# Refresh the vendored Leaflet (maps must render offline: no CDN at run time). Needs npm and the registry;
# the files it writes are committed, so nobody else needs to run it.
set -euo pipefail
VERSION="${1:-1.9.4}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/geoland/review/static/vendor/leaflet"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "leaflet@$VERSION" >/dev/null && tar xzf "leaflet-$VERSION.tgz")
rm -rf "$DEST" && mkdir -p "$DEST"
cp "$work/package/dist/leaflet.js" "$work/package/dist/leaflet.css" "$work/package/LICENSE" "$DEST/"
cp -r "$work/package/dist/images" "$DEST/"
echo "leaflet $VERSION" > "$DEST/VERSION"
echo "vendored leaflet $VERSION into $DEST"
