#!/usr/bin/env bash
# Generates the store-layout goldens with Nix 2.8 (nix-bin). Run from anywhere (as root, as the
# goldens were: the per-user directories are named after the user, written USER below):
#   bash golden/layout/generate.sh
# Produces (all committed; tests read them, CI does not need nix-bin):
#   new-store-tree.txt   what the first `nix-store --store ROOT -q ...` creates in a new store:
#                        one line per file, "MODE TYPE PATH [-> TARGET]" (ROOT for the root, USER
#                        for the user name; db/reserved's size is checked separately: 8388608)
#   init-tree.txt        the same after `nix-store --store ROOT --init` (equal to the above)
#   x-store-fixture/     a chroot store made by Nix with NIX_STORE_DIR=/x/store --store ROOT:
#                        its files are in ROOT/nix/store (db and store files; no locks, no reserve)
#   x-store-paths.txt    named paths of that store (key=path)
#   x-store-answers/<name>.out, .err, .rc   Nix's answers on that store (see below)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false'
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
USERNAME="$(id -un)"

# "MODE TYPE PATH [-> TARGET]" for every file under $1, sorted by path.
tree() {
  (cd "$1" && find . -mindepth 1 -printf '%M %y %P\t%l\n' | LC_ALL=C sort -t ' ' -k3) |
    sed -e "s|$1|ROOT|g" -e "s|/per-user/$USERNAME|/per-user/USER|g" -e 's|\t$||' -e 's|\t| -> |'
}

nix-store --store "$WORK/q" -q --hash /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x > /dev/null 2>&1 || true
tree "$WORK/q" > "$HERE/new-store-tree.txt"
test "$(stat -c %s "$WORK/q/nix/var/nix/db/reserved")" = 8388608
nix-store --store "$WORK/i" --init
tree "$WORK/i" > "$HERE/init-tree.txt"

# A store with the logical directory /x/store, kept by Nix in ROOT/nix/store.
R="$WORK/x"
export NIX_STORE_DIR=/x/store
ns() { nix-store --store "$R" "$@"; }
printf 'hello\n' > "$WORK/hello.txt"
mkdir -p "$WORK/dir/sub"
printf 'a\n' > "$WORK/dir/a"
printf '#!/bin/sh\necho hi\n' > "$WORK/dir/sub/run.sh"; chmod +x "$WORK/dir/sub/run.sh"
ln -s a "$WORK/dir/link"
HELLO=$(ns --add "$WORK/hello.txt")
DIR=$(ns --add "$WORK/dir")
FIXED=$(ns --add-fixed sha256 "$WORK/hello.txt")
cat > "$WORK/expr.nix" <<NIX
let
  leaf = builtins.toFile "leaf.txt" "leaf\n";
  mid = builtins.toFile "mid.txt" "mid refers to \${leaf}\n";
  top = builtins.toFile "top.txt" "top refers to \${mid} and \${leaf} and ${DIR}\n";
in derivation {
  name = "demo";
  system = "x86_64-linux";
  builder = "/bin/sh";
  args = [ "-c" "echo \${top} > \$out" ];
}
NIX
DRV=$(nix-instantiate --store "$R" "$WORK/expr.nix" 2>/dev/null)
TOP=$(ns -q --references "$DRV" | grep top.txt)
{ echo "hello=$HELLO"; echo "dir=$DIR"; echo "fixed=$FIXED"; echo "drv=$DRV"; echo "top=$TOP"; } > "$HERE/x-store-paths.txt"
test -d "$R/nix/store" && ! test -e "$R/x"

# Nix's answers on it (each: arguments after `nix-store --store ROOT`).
A="$HERE/x-store-answers"
rm -rf "$A"; mkdir -p "$A"
answer() {
  local name="$1"; shift
  printf '%s\n' "$@" > "$A/$name.args"
  set +e
  ns "$@" > "$A/$name.out" 2> "$A/$name.err"
  echo $? > "$A/$name.rc"
  set -e
}
answer dump-db --dump-db
answer qR -qR "$TOP"
answer q-hash -q --hash "$HELLO" "$DIR" "$FIXED"
answer q-outputs -q --outputs "$DRV"
answer check-validity --check-validity "$HELLO" "$DRV"
answer verify --verify --check-contents
answer dump-db-after-verify --dump-db

# Copy the store, checkpointing the WAL into db.sqlite first.
DB="$R/nix/var/nix/db"
sqlite3 "$DB/db.sqlite" 'pragma wal_checkpoint(TRUNCATE);' > /dev/null
rm -rf "$HERE/x-store-fixture"
mkdir -p "$HERE/x-store-fixture/nix/var/nix/db"
cp "$DB/db.sqlite" "$DB/schema" "$HERE/x-store-fixture/nix/var/nix/db/"
cp -a "$R/nix/store" "$HERE/x-store-fixture/nix/"
rmdir "$HERE/x-store-fixture/nix/store/.links"
chmod -R u+w "$HERE/x-store-fixture"
echo "done: $HERE"
