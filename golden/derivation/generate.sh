#!/usr/bin/env bash
# Regenerates the golden derivations with Nix 2.8 (nix-bin) in a chroot store.
# Output: drv/<basename>.drv (the .drv files exactly as Nix wrote them) and
# json/<basename>.json (stdout of `nix show-derivation` for that one file,
# byte for byte), plus index.txt (one "<attr file> <drv store path>" line per
# top-level derivation). Tests read only these committed files.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=${DRVROOT:-/tmp/drvroot}
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group ='
rm -rf "$ROOT" drv json index.txt
mkdir -p "$ROOT" drv json
for f in simple multi fixed structured strings deps; do
  nix-instantiate --store "$ROOT" "nix/$f.nix" 2>/dev/null | while read -r p; do echo "$f ${p%%!*}"; done >> index.txt
done
for f in "$ROOT"/nix/store/*.drv; do
  b=$(basename "$f")
  cp "$f" "drv/$b"
  chmod 644 "drv/$b"
  nix --store "$ROOT" show-derivation "/nix/store/$b" > "json/${b%.drv}.json"
done
# The show-derivation output for several paths at once (one object, sorted keys).
nix --store "$ROOT" show-derivation $(cut -d' ' -f2 index.txt) > all.json
echo "wrote $(ls drv | wc -l) derivations"
