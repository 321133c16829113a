#!/usr/bin/env bash
# Generates the store-database goldens with Nix 2.8 (nix-bin). Run from anywhere:
#   bash golden/db/generate.sh
# Produces (all committed; tests read them, CI does not need nix-bin):
#   nix-store-fixture/      a small chroot store written by Nix 2.8 (db + store files)
#   dump-db.txt             nix-store --dump-db of the whole fixture
#   dump-db-subset.txt      nix-store --dump-db of two paths
#   qR.txt                  nix-store -qR of the top text path
#   referrers-closure.txt   nix-store --query --referrers-closure of the leaf file
#   paths.txt               named paths of the fixture (key=path)
#   register-validity-*.txt inputs fed to --register-validity (plain and --hash-given)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false'
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
R="$WORK/root"
mkdir -p "$R"
ns() { nix-store --store "$R" "$@"; }

# Plain files and a directory added with --add (content-addressed "source" paths).
printf 'hello\n' > "$WORK/hello.txt"
mkdir -p "$WORK/dir/sub"
printf 'a\n' > "$WORK/dir/a"
printf '#!/bin/sh\necho hi\n' > "$WORK/dir/sub/run.sh"; chmod +x "$WORK/dir/sub/run.sh"
ln -s a "$WORK/dir/link"
HELLO=$(ns --add "$WORK/hello.txt")
DIR=$(ns --add "$WORK/dir")

# Text paths referencing each other and a derivation (nix-instantiate writes them).
cat > "$WORK/expr.nix" <<NIX
let
  leaf = builtins.toFile "leaf.txt" "leaf\n";
  mid = builtins.toFile "mid.txt" "mid refers to \${leaf}\n";
  top = builtins.toFile "top.txt" "top refers to \${mid} and \${leaf}\n";
in derivation {
  name = "demo";
  system = "x86_64-linux";
  builder = "/bin/sh";
  args = [ "-c" "echo \${top} > \$out" ];
  outputs = [ "out" "dev" ];
}
NIX
DRV=$(nix-instantiate --store "$R" "$WORK/expr.nix" 2>/dev/null)
TOP=$(ns -qR "$DRV" | grep -- '-top.txt$')
MID=$(ns -qR "$DRV" | grep -- '-mid.txt$')
LEAF=$(ns -qR "$DRV" | grep -- '-leaf.txt$')

# Hand-made paths registered with --register-validity (with a deriver and a self-reference).
SD=/nix/store
P1=$SD/00000000000000000000000000000001-reg-one
P2=$SD/00000000000000000000000000000002-reg-two
mkdir -p "$R$SD"
printf 'one\n' > "$R$P1"
printf 'two refers to %s and itself %s\n' "$P1" "$P2" > "$R$P2"
# (The plain-format file is only a parser input; the store gets the --hash-given data.)
{
  printf '%s\n\n0\n' "$P1"
  printf '%s\n%s\n2\n%s\n%s\n' "$P2" "$DRV" "$P1" "$P2"
} > "$HERE/register-validity-plain.txt"
hashOf() { nix-hash --type sha256 "$R$1"; }
sizeOf() { ns --dump "$R$1" | wc -c; }
{
  printf '%s\n%s\n%s\n\n0\n' "$P1" "$(hashOf "$P1")" "$(sizeOf "$P1")"
  printf '%s\n%s\n%s\n%s\n2\n%s\n%s\n' "$P2" "$(hashOf "$P2")" "$(sizeOf "$P2")" "$DRV" "$P1" "$P2"
} > "$HERE/register-validity-hash-given-1.txt"
# Nix 2.8's --register-validity canonicalises the LOGICAL path even with --hash-given, which
# fails in a chroot store; --load-db reads the same format (plus nothing) without touching files.
ns --load-db < "$HERE/register-validity-hash-given-1.txt"

P3=$SD/00000000000000000000000000000003-reg-three
printf 'three\n' > "$R$P3"
H3=$(nix-hash --type sha256 "$R$P3")
S3=$(ns --dump "$R$P3" | wc -c)
printf '%s\n%s\n%s\n\n1\n%s\n' "$P3" "$H3" "$S3" "$HELLO" > "$HERE/register-validity-hash-given.txt"
ns --load-db < "$HERE/register-validity-hash-given.txt"

ns --dump-db > "$HERE/dump-db.txt"
ns --dump-db "$TOP" "$P2" > "$HERE/dump-db-subset.txt"
ns -qR "$TOP" > "$HERE/qR.txt"
ns -qR "$DRV" > "$HERE/qR-drv.txt"
ns --query --referrers-closure "$LEAF" > "$HERE/referrers-closure.txt"
ns --query --outputs "$DRV" > "$HERE/drv-outputs.txt"
{
  echo "hello=$HELLO"; echo "dir=$DIR"; echo "drv=$DRV"; echo "top=$TOP"; echo "mid=$MID"
  echo "leaf=$LEAF"; echo "p1=$P1"; echo "p2=$P2"; echo "p3=$P3"
} > "$HERE/paths.txt"

# Copy the store, checkpointing the WAL into db.sqlite first.
DB="$R/nix/var/nix/db"
sqlite3 "$DB/db.sqlite" 'pragma wal_checkpoint(TRUNCATE);' > /dev/null
rm -rf "$HERE/nix-store-fixture"
mkdir -p "$HERE/nix-store-fixture/nix/var/nix/db"
cp "$DB/db.sqlite" "$DB/schema" "$HERE/nix-store-fixture/nix/var/nix/db/"
cp -a "$R/nix/store" "$HERE/nix-store-fixture/nix/"
chmod -R u+w "$HERE/nix-store-fixture"
sqlite3 "$DB/db.sqlite" .dump > "$HERE/sqlite-dump.sql"
echo "done: $HERE"
