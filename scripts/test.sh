#!/usr/bin/env bash
# The test suite, as CI runs it: installs dependencies, builds in Release, runs every test.
# Root-only tests (TAP devices, namespaces) skip with a reason when not root, and fail instead when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/as-root.sh
scripts/setup.sh
log=$(mktemp /tmp/dataplane-test.XXXXXX.log)
status=0
dotnet test Dataplane.sln -c Release --blame-hang-timeout 10m --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?
# A CI log is often read from its tail: repeat every failure (name, message, stack) last, where it is seen.
if [ "$status" -ne 0 ] && grep -q '^\s*Failed ' "$log"; then
    echo "=== failed tests (repeated from above) ==="
    awk '/^  Failed /{p=1} /^  Passed /{p=0} p' "$log" | head -400
fi
rm -f "$log"
exit "$status"
