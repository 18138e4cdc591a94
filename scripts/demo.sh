#!/usr/bin/env bash
# The whole geoland demo on the Sơn La sample (or a synthetic province), in the embedded PostGIS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
"$VENV/bin/geoland" db start
"$VENV/bin/geoland" db migrate
exec "$VENV/bin/geoland" demo "$@"
