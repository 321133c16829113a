#!/usr/bin/env bash
# Regenerates this directory with Nix 2.8 (nix-bin): writes the hand-made NARs (make-nars.mjs),
# restores each with `nix-store --restore`, and stores Nix's dump of what it restored as
# <name>.restored.nar. Tests restore the same NARs with tsnix and compare the dumps.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for name in $(node "$here/make-nars.mjs"); do
  nix-store --restore "$work/$name" < "$here/$name.nar"
  nix-store --dump "$work/$name" > "$here/$name.restored.nar"
done
nix-store --version > "$here/nix-version.txt"
echo "wrote $here"
