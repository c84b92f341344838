#!/usr/bin/env bash
# Set up collector and run its main job (`collector sync`) against the bundled GitHub simulator:
# no token and no internet needed. Then print the 2017 book's Table 2-1 as collector rebuilds it.
# Against real GitHub instead: GITHUB_TOKEN=... .venv/bin/collector sync
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/collector ]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
fi

log=$(mktemp)
# Port 0: the system picks a free port, and the simulator prints its address.
.venv/bin/python -m collector.testing.simulator --port "${SIMULATOR_PORT:-0}" --scenario frameworks >"$log" 2>&1 &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 60); do
    grep -q "GitHub simulator:" "$log" && break
    kill -0 "$sim" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.5
done
base=$(grep -o "http://127.0.0.1:[0-9]*" "$log" | head -n 1)
[ -n "$base" ] || { echo "error: the simulator did not start; its output:"; cat "$log"; exit 1; }
echo "GitHub simulator (2017 frameworks scenario) at $base"

export GITHUB_API_URL="$base"
export GITHUB_TOKEN="simulator-demo-token"
export COLLECTOR_DATABASE_URL="${COLLECTOR_DATABASE_URL:-sqlite:///demo.db}"
.venv/bin/collector sync
.venv/bin/collector report --at 2017-01-03
echo "The store is ${COLLECTOR_DATABASE_URL}; try: COLLECTOR_DATABASE_URL=${COLLECTOR_DATABASE_URL} .venv/bin/collector report --since 2017-01 --every year"
