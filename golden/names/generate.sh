#!/usr/bin/env bash
# Generates the golden data of file names as bytes and of flat executable adds,
# with Nix 2.8 (nix-bin). Run from anywhere:  bash golden/names/generate.sh
#
# The tree of tree.json (names that are not valid UTF-8, names whose byte order
# differs from UTF-16 order, non-UTF-8 symlink targets) is made by tree.mjs, then:
#   tree.nar        nix-store --dump of the tree
#   tree.txt        add=<nix-store --add tree>, fixed-sha256=<--add-fixed --recursive sha256>,
#                   fixed-sha1=<--add-fixed --recursive sha1>, and for each: <key>.hash=
#                   (nix-store -q --hash) and <key>.size= (-q --size)
#   tree-export.nar nix-store --export of the --add path
#   flat.txt        one line per flat add: ALGO KIND PATH NARHASH NARSIZE MODE
#                   (nix-store --add-fixed ALGO FILE; -q --hash; -q --size; the stored file's mode)
#                   KIND: exe (mode 0755), plain (0644), groupx (0654: no owner execute bit)
#   flat/ALGO-KIND.export  nix-store --export of that path
#   nix-version.txt
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false'
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
R="$WORK/root"
mkdir -p "$R"
ns() { nix-store --store "$R" "$@"; }
nix-store --version > "$HERE/nix-version.txt"

node "$HERE/tree.mjs" "$WORK/tree"
nix-store --dump "$WORK/tree" > "$HERE/tree.nar"
ADD=$(ns --add "$WORK/tree")
FSHA256=$(ns --add-fixed --recursive sha256 "$WORK/tree")
FSHA1=$(ns --add-fixed --recursive sha1 "$WORK/tree")
{
  for kv in "add=$ADD" "fixed-sha256=$FSHA256" "fixed-sha1=$FSHA1"; do
    k=${kv%%=*}; p=${kv#*=}
    echo "$k=$p"
    echo "$k.hash=$(ns -q --hash "$p")"
    echo "$k.size=$(ns -q --size "$p")"
  done
} > "$HERE/tree.txt"
ns --export "$ADD" > "$HERE/tree-export.nar"
# Nix's store holds the tree byte for byte.
[ "$(nix-store --dump "$R$ADD" | sha256sum)" = "$(sha256sum < "$HERE/tree.nar")" ]

mkdir -p "$WORK/flat" "$HERE/flat"
printf '#!/bin/sh\necho flat\n' > "$WORK/flat/exe"; chmod 0755 "$WORK/flat/exe"
printf '#!/bin/sh\necho flat\n' > "$WORK/flat/plain"; chmod 0644 "$WORK/flat/plain"
printf '#!/bin/sh\necho flat\n' > "$WORK/flat/groupx"; chmod 0654 "$WORK/flat/groupx"
: > "$HERE/flat.txt"
for algo in md5 sha1 sha256 sha512; do
  for kind in exe plain groupx; do
    p=$(ns --add-fixed "$algo" "$WORK/flat/$kind")
    echo "$algo $kind $p $(ns -q --hash "$p") $(ns -q --size "$p") $(stat -c %a "$R$p")" >> "$HERE/flat.txt"
    ns --export "$p" > "$HERE/flat/$algo-$kind.export"
  done
done
echo "wrote $HERE"
