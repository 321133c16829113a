#!/usr/bin/env bash
# What Nix 2.8 says when the store (--store LINK) or ROOT/nix/store is a symlink.
# Writes link.txt and nix-store-link.txt (stderr and exit status, the temp dir replaced by ROOT).
set -euo pipefail
cd "$(dirname "$0")"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group ='
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/real" "$t/r2/nix" "$t/r2target"
ln -s real "$t/link"
ln -s "$t/r2target" "$t/r2/nix/store"
run() { set +e; nix-store --store "$1" --gc --print-dead 2>&1 >/dev/null; echo "exit $?"; set -e; }
run "$t/link" | sed "s|$t|ROOT|g" > link.txt
run "$t/r2" | sed "s|$t|ROOT|g" > nix-store-link.txt
