#!/usr/bin/env bash
# Generates the repair goldens with Nix 2.8 (nix-bin). Run from anywhere:
#   bash golden/repair/generate.sh
# A chroot store with one added directory (tree/a, tree/b), copied to a file:// cache; then the
# path's files are damaged and repaired. For each case, <name>.stderr (the cache's URI written
# CACHE) and <name>.status:
#   repair-path-nosub     --repair-path of a damaged path, no substituter
#   verify-repair-nosub   --verify --check-contents --repair, no substituter
#   repair-path           --repair-path of a damaged path (tree/a changed), the cache as substituter
#   verify-repair         --verify --check-contents --repair (tree/b changed), the cache as substituter
#   repair-path-intact    --repair-path of an undamaged path (fetched again all the same)
#   verify-after          --verify --check-contents once repaired
# path.txt is the path.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ='
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
R="$WORK/root"
mkdir -p "$WORK/tree"
printf 'a\n' > "$WORK/tree/a"
printf 'b\n' > "$WORK/tree/b"
P=$(nix-store --store "$R" --add "$WORK/tree")
echo "$P" > "$HERE/path.txt"
nix --store "$R" copy --to "file://$WORK/cache" "$P" 2>/dev/null
SUB=(--option substituters "file://$WORK/cache" --option require-sigs false)
damage() { chmod -R u+w "$R$P"; printf 'damaged\n' > "$R$P/$1"; chmod -R a-w "$R$P"; }
run() {
  local name=$1; shift
  set +e
  nix-store --store "$R" "$@" 2> "$HERE/$name.stderr"
  echo $? > "$HERE/$name.status"
  set -e
  sed -i "s|file://$WORK/cache|CACHE|g" "$HERE/$name.stderr"
}
damage a
run repair-path-nosub --repair-path "$P"
run verify-repair-nosub --verify --check-contents --repair
run repair-path --repair-path "$P" "${SUB[@]}"
damage b
run verify-repair --verify --check-contents --repair "${SUB[@]}"
run repair-path-intact --repair-path "$P" "${SUB[@]}"
run verify-after --verify --check-contents
