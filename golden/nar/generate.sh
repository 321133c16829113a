#!/usr/bin/env bash
# Regenerates the NAR golden data with Nix 2.8 (nix-bin): for every tree of
# trees.json, materialises it, stores `nix-store --dump` output as <name>.nar
# (unless noNar) and nix-hash's sha256 (base16 and nix32) and the NAR size in
# expected.json. Tests rebuild the trees from trees.json and compare.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
node "$here/materialize.mjs" "$work/trees"
nix-store --version > "$here/nix-version.txt"
names=$(node -e 'for (const t of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).trees) console.log(t.name + " " + (t.noNar ? 1 : 0))' "$here/trees.json")
{
  echo "{"
  first=1
  while read -r name nonar; do
    p="$work/trees/$name"
    nix-store --dump "$p" > "$work/$name.nar"
    if [ "$nonar" = 0 ]; then cp "$work/$name.nar" "$here/$name.nar"; fi
    size=$(stat -c %s "$work/$name.nar")
    b16=$(nix-hash --type sha256 "$p")
    b32=$(nix-hash --type sha256 --base32 "$p")
    [ $first = 1 ] || echo ","
    first=0
    printf '  "%s": { "narSize": %s, "sha256": "%s", "nix32": "%s", "hasNar": %s }' \
      "$name" "$size" "$b16" "$b32" "$([ "$nonar" = 0 ] && echo true || echo false)"
  done <<< "$names"
  echo
  echo "}"
} > "$here/expected.json"
echo "wrote $here/expected.json"
