#!/usr/bin/env bash
# The demo: installs dependencies, builds the CLI and the CNI plugin (NativeAOT), and runs `dataplane demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/as-root.sh
scripts/setup.sh
dotnet build src/Dataplane.Cli -c Release -v quiet -nologo >/dev/null
dotnet publish src/Dataplane.Cni -c Release -o artifacts/cni -v quiet -nologo >/dev/null
exec dotnet src/Dataplane.Cli/bin/Release/net10.0/dataplane.dll demo --cni-bin artifacts/cni "$@"
