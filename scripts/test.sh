#!/usr/bin/env bash
# The test suite, as CI runs it: installs dependencies, builds in Release, runs every test.
# Root-only tests (TAP devices, namespaces) skip with a reason when not root, and fail instead when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/as-root.sh
scripts/setup.sh
dotnet test Dataplane.sln -c Release --blame-hang-timeout 10m --logger "console;verbosity=normal" "$@"
