#!/usr/bin/env bash
# Generates the Store goldens with Nix 2.8 (nix-bin). Run from anywhere:
#   bash golden/store/generate.sh
# Builds a small chroot store (files, a directory, fixed-output paths, text
# paths referring to each other, two derivations, an "output" registered with
# a deriver), then records Nix's answers (all committed; tests read them, CI
# does not need nix-bin):
#   paths.txt           named paths (key=path)
#   all.txt             every valid path (sorted)
#   export.nar          nix-store --export of every valid path (arguments in sorted order)
#   export-rev.nar      the same with the arguments reversed (Nix sorts topologically anyway)
#   export-top.nar      nix-store --export of the top text path alone
#   export-mid.nar      nix-store --export of the closure of mid.txt (mid, leaf)
#   dump-db.txt         nix-store --dump-db
#   queries/<name>.out  stdout of a query; queries/<name>.args its arguments (one a line)
#   errors/<name>.*     stderr and exit status of failing commands
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false'
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
R="$WORK/root"
mkdir -p "$R"
ns() { nix-store --store "$R" "$@"; }

printf 'hello\n' > "$WORK/hello.txt"
mkdir -p "$WORK/tree/sub"
printf 'a\n' > "$WORK/tree/a"
printf '#!/bin/sh\necho hi\n' > "$WORK/tree/sub/run.sh"; chmod +x "$WORK/tree/sub/run.sh"
ln -s a "$WORK/tree/link"
printf 'fixed flat\n' > "$WORK/fixed.txt"
HELLO=$(ns --add "$WORK/hello.txt")
TREE=$(ns --add "$WORK/tree")
FLAT=$(ns --add-fixed sha256 "$WORK/fixed.txt")
RSHA1=$(ns --add-fixed --recursive sha1 "$WORK/tree")

cat > "$WORK/expr.nix" <<NIX
let
  leaf = builtins.toFile "leaf.txt" "leaf\n";
  mid = builtins.toFile "mid.txt" "mid refers to \${leaf}\n";
  top = builtins.toFile "top.txt" "top refers to \${mid} and \${leaf}\n";
  dep = derivation {
    name = "dep";
    system = "x86_64-linux";
    builder = "/bin/sh";
    args = [ "-c" "echo \${leaf} > \$out" ];
  };
in derivation {
  name = "app";
  system = "x86_64-linux";
  builder = "/bin/sh";
  args = [ "-c" "echo \${top} \${dep} > \$out; echo > \$dev" ];
  outputs = [ "out" "dev" ];
}
NIX
DRV=$(nix-instantiate --store "$R" "$WORK/expr.nix" 2>/dev/null)
TOP=$(ns -qR "$DRV" | grep -- '-top.txt$')
MID=$(ns -qR "$DRV" | grep -- '-mid.txt$')
LEAF=$(ns -qR "$DRV" | grep -- '-leaf.txt$')
DEPDRV=$(ns -qR "$DRV" | grep -- '-dep.drv$')
OUT=$(ns -q --outputs "$DRV" | grep -v -- '-dev$')

# A fake "built" output of $DRV, referring to $TOP and $HELLO, registered with its deriver.
printf 'output of app: %s %s\n' "$TOP" "$HELLO" > "$R$OUT"
{
  printf '%s\n%s\n%s\n%s\n2\n%s\n%s\n' "$OUT" "$(nix-hash --type sha256 "$R$OUT")" "$(ns --dump "$R$OUT" | wc -c)" "$DRV" "$TOP" "$HELLO"
} | ns --load-db

{
  echo "hello=$HELLO"; echo "tree=$TREE"; echo "flat=$FLAT"; echo "rsha1=$RSHA1"; echo "drv=$DRV"
  echo "depdrv=$DEPDRV"; echo "top=$TOP"; echo "mid=$MID"; echo "leaf=$LEAF"; echo "out=$OUT"
} > "$HERE/paths.txt"

sqlite3 "$R/nix/var/nix/db/db.sqlite" 'select path from ValidPaths order by path' > "$HERE/all.txt"
mapfile -t ALL < "$HERE/all.txt"
ns --export "${ALL[@]}" > "$HERE/export.nar"
REV=(); for ((i=${#ALL[@]}-1; i>=0; i--)); do REV+=("${ALL[i]}"); done
ns --export "${REV[@]}" > "$HERE/export-rev.nar"
ns --export "$TOP" > "$HERE/export-top.nar"
ns --export $(ns -qR "$MID") > "$HERE/export-mid.nar"
ns --dump-db > "$HERE/dump-db.txt"

rm -rf "$HERE/queries" "$HERE/errors"; mkdir -p "$HERE/queries" "$HERE/errors"
q() { # q NAME ARGS...: record nix-store ARGS
  local name=$1; shift
  printf '%s\n' "$@" > "$HERE/queries/$name.args"
  ns "$@" > "$HERE/queries/$name.out"
}
q qR-top -qR "$TOP"
q qR-drv -qR "$DRV"
q qR-out-hello -qR "$OUT" "$HELLO"
q qR-drv-include-outputs -qR --include-outputs "$DRV"
q references-top -q --references "$TOP"
q references-drv -q --references "$DRV"
q referrers-leaf -q --referrers "$LEAF"
q referrers-hello -q --referrers "$HELLO"
q referrers-closure-leaf -q --referrers-closure "$LEAF"
q referrers-closure-hello -q --referrers-closure "$HELLO"
q tree-drv -q --tree "$DRV"
q tree-out -q --tree "$OUT"
q graph-drv -q --graph "$DRV"
q graph-out -q --graph "$OUT"
q hash -q --hash "$HELLO" "$TREE" "$FLAT" "$RSHA1" "$OUT" "$DRV"
q size -q --size "$HELLO" "$TREE" "$FLAT" "$RSHA1" "$OUT" "$DRV"
q deriver -q --deriver "$OUT" "$HELLO" "$DRV"
q outputs -q --outputs "$DRV" "$DEPDRV" "$HELLO"
q dump-db-subset --dump-db "$TOP" "$OUT"
q check-validity-valid --check-validity "$HELLO" "$TOP"
q print-invalid --check-validity --print-invalid "$HELLO" /nix/store/00000000000000000000000000000000-nope "$TOP"

e() { # e NAME ARGS...: record a failing nix-store ARGS (stderr and status)
  local name=$1; shift
  printf '%s\n' "$@" > "$HERE/errors/$name.args"
  set +e; ns "$@" > "$HERE/errors/$name.stdout" 2> "$HERE/errors/$name.stderr"; echo $? > "$HERE/errors/$name.status"; set -e
}
e check-validity-invalid --check-validity /nix/store/00000000000000000000000000000000-nope
e references-short -q --references /nix/store/short
e delete-referenced --delete "$LEAF"
# Modify a file behind Nix's back: export refuses it, verify --check-contents reports it.
chmod u+w "$R$HELLO"; printf 'HELLO\n' > "$R$HELLO"
e export-modified --export "$HELLO"
e verify-path-modified --verify-path "$HELLO"
e verify-check-contents --verify --check-contents
nix --version > "$HERE/nix-version.txt"
echo "done: $HERE"
