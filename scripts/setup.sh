#!/usr/bin/env bash
# Idempotent set-up for geoland on Debian/Ubuntu: Debian packages when missing, the virtualenv,
# the project installed in it. Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GEOLAND_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
    local pkgs=()
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs+=(postgresql)
    ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || pkgs+=(postgresql-15-postgis-3)
    "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1 || pkgs+=(python3-venv)
    if [ "${GEOLAND_WITH_BROWSER:-0}" = 1 ] && [ ! -x /usr/bin/chromium ]; then pkgs+=(chromium); fi
    # The test suite validates docker/compose.yaml with Debian's docker-compose (no engine needed).
    if [ "${GEOLAND_WITH_TEST_TOOLS:-0}" = 1 ] && ! command -v docker-compose >/dev/null; then pkgs+=(docker-compose); fi
    # GDAL's command-line tools: the OGC API tests read the service with ogrinfo and ogr2ogr (OAPIF driver).
    if [ "${GEOLAND_WITH_TEST_TOOLS:-0}" = 1 ] && ! command -v ogr2ogr >/dev/null; then pkgs+=(gdal-bin); fi
    echo "${pkgs[@]:-}"
}

pkgs="$(missing_packages)"
if [ -n "$pkgs" ]; then
    echo "geoland setup: installing Debian packages: $pkgs"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "geoland setup: creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the project's metadata changed: a second run costs a checksum.
stamp="$VENV/.geoland-installed"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "geoland setup: installing geoland and its dependencies into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[test]"
    echo "$want" > "$stamp"
fi
