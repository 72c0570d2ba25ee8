#!/usr/bin/env bash
# Fuzzes one target of tests/Dataplane.Fuzz with afl-fuzz for SECONDS (default 60), then prints afl's figures:
#   scripts/fuzz.sh pipeline 600
# Targets: pipeline, frames, pcap, config, control, cni (`dotnet tests/Dataplane.Fuzz/bin/.../Dataplane.Fuzz.dll`
# lists them). Installs afl++ and the SharpFuzz instrumenter when missing (as scripts/setup.sh does), builds the
# fuzz project, instruments the dataplane's assemblies and runs afl-fuzz from the target's corpus
# (tests/Dataplane.Fuzz/corpus/TARGET). Findings go to artifacts/fuzz/TARGET (crashes/, hangs/, queue/); to keep
# an input afl found, copy it into the corpus, where the corpus tests run it on every build.
# Exits 1 when afl saved a crash, 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(pipeline frames pcap config control cni)
target=${1:-}
seconds=${2:-60}
if [[ ! " ${targets[*]} " == *" $target "* ]] || ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh TARGET [SECONDS]   (TARGET: ${targets[*]})" >&2
  exit 2
fi

sharpfuzz_version=2.3.0
tools="$HOME/.dotnet/tools"
export PATH="$PATH:$tools"
if ! command -v afl-fuzz >/dev/null; then
  echo "fuzz: installing afl++"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ >/dev/null; }
fi
if ! command -v sharpfuzz >/dev/null; then
  echo "fuzz: installing the sharpfuzz tool $sharpfuzz_version"
  dotnet tool install --global SharpFuzz.CommandLine --version "$sharpfuzz_version" >/dev/null
fi

# The build output, copied afresh every time: sharpfuzz refuses an assembly it already instrumented, and the
# build's own copies must stay plain (the corpus tests run them). FUZZ_BUILD_OUTPUT=DIR takes an existing build
# instead of building (the fuzz smoke test passes the one its test run built).
build=${FUZZ_BUILD_OUTPUT:-tests/Dataplane.Fuzz/bin/Release/net10.0}
if [[ -z "${FUZZ_BUILD_OUTPUT:-}" ]]; then
  echo "fuzz: building tests/Dataplane.Fuzz"
  if ! log=$(dotnet build tests/Dataplane.Fuzz -c Release --nologo -v quiet 2>&1); then
    echo "$log" >&2
    exit 1
  fi
fi
if [[ ! -f "$build/Dataplane.Fuzz.dll" ]]; then
  echo "fuzz: $build/Dataplane.Fuzz.dll is missing: build tests/Dataplane.Fuzz first" >&2
  exit 1
fi
bin="artifacts/fuzz/bin-$target"  # one per target: several may run at once
rm -rf "$bin"
mkdir -p "$bin"
cp -r "$build/." "$bin/"
# Our assemblies, and YamlDotNet because the config parser's paths run through it. The framework is left alone.
for assembly in Dataplane.Core Dataplane.Host Dataplane.Config Dataplane.Protocol dataplane-cni YamlDotNet; do
  sharpfuzz "$bin/$assembly.dll" >/dev/null
done

findings="artifacts/fuzz/$target"
rm -rf "$findings"
# afl's own checks that do not apply: the CPU governor and core_pattern are the host's, and dotnet itself is not
# instrumented (SharpFuzz instruments the assemblies and talks afl's fork-server protocol from inside).
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1
echo "fuzz: afl-fuzz on $target for ${seconds}s (log: $findings.log)"
status=0
# -t: one input runs in milliseconds; the generous limit covers the JIT compiling a new path on a loaded machine.
afl-fuzz -i "tests/Dataplane.Fuzz/corpus/$target" -o "$findings" -t 10000 -m none -V "$seconds" \
  -- dotnet "$bin/Dataplane.Fuzz.dll" "$target" >"$findings.log" 2>&1 || status=$?
stats="$findings/default/fuzzer_stats"
if [[ ! -f "$stats" ]]; then
  echo "fuzz: afl-fuzz did not start (exit $status); the end of its log:" >&2
  tail -n 30 "$findings.log" >&2
  exit 1
fi

stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
crashes=$(stat saved_crashes)
crashes=${crashes:-$(stat unique_crashes)}
hangs=$(stat saved_hangs)
hangs=${hangs:-$(stat unique_hangs)}
echo "target:     $target"
echo "run time:   $(stat run_time) s"
echo "executions: $(stat execs_done)"
echo "exec/s:     $(stat execs_per_sec)"
echo "paths:      $(stat corpus_count) (from $(stat corpus_found) found and the seeds)"
echo "stability:  $(stat stability)"
echo "crashes:    $crashes"
echo "hangs:      $hangs"
if [[ "${crashes:-0}" != 0 ]]; then
  echo "fuzz: crashes saved in $findings/default/crashes; reproduce one with" >&2
  echo "  dotnet $bin/Dataplane.Fuzz.dll $target $findings/default/crashes/id:..." >&2
  exit 1
fi
