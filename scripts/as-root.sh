#!/usr/bin/env bash
# Sourced by the entry scripts: re-runs the calling script as root (TAP devices, namespaces and apt need it).
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    exec sudo --preserve-env=CI,DOTNET_ROOT,PATH "$0" "$@"
  fi
  echo "$(basename "$0"): run as root (creating TAP devices and network namespaces needs CAP_NET_ADMIN)" >&2
  exit 1
fi
