#!/usr/bin/env bash
# The soak: MINUTES (default 30) of churn against one daemon (pods, services, flows, floods), then its checks
# (RSS bounded, conntrack back to base, no leaked TAP, namespace or descriptor, no forwarding error). CI runs
# the same test for 60 s. Prints the figures at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/as-root.sh
minutes=${1:-30}
case "$minutes" in
  ''|*[!0-9]*) echo "usage: $(basename "$0") [MINUTES]  (a whole number; default 30)" >&2; exit 2 ;;
esac
dotnet build tests/Dataplane.Tests -c Release
figures=$(mktemp /tmp/dataplane-soak.XXXXXX.txt)
status=0
DATAPLANE_SOAK_SECONDS=$((minutes * 60)) DATAPLANE_SOAK_FIGURES="$figures" \
  dotnet test tests/Dataplane.Tests -c Release --no-build --filter 'FullyQualifiedName~Dataplane.Tests.Soak.SoakTests' \
  --logger "console;verbosity=normal" || status=$?
echo "=== soak figures ==="
cat "$figures" 2>/dev/null || echo "(none: the run stopped before its checks; see the output above)"
rm -f "$figures"
exit "$status"
