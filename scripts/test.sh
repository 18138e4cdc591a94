#!/usr/bin/env bash
# geoland's test suite against a real PostGIS (the embedded cluster unless GEOLAND_DATABASE_URL is set).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GEOLAND_WITH_TEST_TOOLS=1 GEOLAND_WITH_BROWSER=1 source "$ROOT/scripts/setup.sh"
cd "$ROOT"
# Lint first: the project's own ruff configuration (pyproject.toml), the same check as the pre-commit hook.
"$VENV/bin/ruff" check "$ROOT"
if [ -z "${GEOLAND_DATABASE_URL:-}" ]; then
    "$VENV/bin/geoland" db start
fi
exec "$VENV/bin/python" -m pytest "$@"
