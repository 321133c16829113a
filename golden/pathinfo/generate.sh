#!/usr/bin/env bash
# Generates the `nix path-info` goldens with Nix 2.8 (nix-bin). Run from anywhere:
#   bash golden/pathinfo/generate.sh
# The store: golden/store/export.nar imported into a chroot store, plus
#   --add of a small file, a 5 kB file (for -h's K suffix) and two files whose sizes are -h ties, --add-fixed sha256 and md5 of a file,
#   --add-fixed --recursive sha1 and sha512 of a directory, builtins.toFile text paths (one referring
#   to another), chain.nix instantiated (two derivations, c2 using c1, nothing built),
#   a fake output of dep.drv registered with --load-db (so every output of dep.drv is valid),
#   one path signed (nix store sign, with a throw-away key made here), and, with sqlite3, one path
#   marked ultimate (Nix sets that flag only for paths it built, and a chroot store cannot build here)
#   and every registrationTime set to a fixed value (so regenerating gives the same files).
# Recorded (all committed; tests read them, CI has no nix):
#   paths.txt        named paths (key=path)
#   public-key.txt   the public half of the signing key (tests check the signatures with it)
#   store.nar        nix-store --export of every valid path (what the test imports with tsnix)
#   meta.txt         what an export cannot carry, from Nix's database, one path a line:
#                    path<TAB>registrationTime<TAB>ultimate (0/1)<TAB>sigs<TAB>ca
#   cases.txt        the case names
#   cases/NAME.args  the arguments of `nix path-info` (one a line)
#   cases/NAME.stdout / .stderr / .status
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ='
TMP="$(mktemp -d)"
trap 'chmod -R u+w "$TMP"; rm -rf "$TMP"' EXIT
R="$TMP/root"
mkdir -p "$R"
ns() { nix-store --store "$R" "$@"; }
DB="$R/nix/var/nix/db/db.sqlite"

ns --import < "$HERE/../store/export.nar" > /dev/null
source <(sed 's/^/G_/' "$HERE/../store/paths.txt")
printf 'small\n' > "$TMP/small.txt"
head -c 5000 /dev/zero | tr '\0' 'z' > "$TMP/big.txt"
# NAR sizes 1280 and 1792 bytes: 1.25K and 1.75K, ties for -h's %.1f (rounded half to even: 1.2K, 1.8K).
head -c 1168 /dev/zero | tr '\0' 'a' > "$TMP/tie1.txt"; head -c 1680 /dev/zero | tr '\0' 'b' > "$TMP/tie2.txt"
mkdir -p "$TMP/dir/sub"; printf 'x\n' > "$TMP/dir/x"; printf 'y\n' > "$TMP/dir/sub/y"
SMALL=$(ns --add "$TMP/small.txt")
BIG=$(ns --add "$TMP/big.txt")
TIE1=$(ns --add "$TMP/tie1.txt")
TIE2=$(ns --add "$TMP/tie2.txt")
FSHA256=$(ns --add-fixed sha256 "$TMP/small.txt")
FMD5=$(ns --add-fixed md5 "$TMP/small.txt")
RSHA1=$(ns --add-fixed --recursive sha1 "$TMP/dir")
RSHA512=$(ns --add-fixed --recursive sha512 "$TMP/dir")
cat > "$TMP/chain.nix" <<'NIX'
let
  note = builtins.toFile "note.txt" "a note\n";
  ref = builtins.toFile "ref.txt" "refers to ${note}\n";
  c1 = derivation { name = "c1"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo ${ref} > $out" ]; };
in derivation { name = "c2"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo ${c1} > $out" ]; }
NIX
C2=$(nix-instantiate --store "$R" "$TMP/chain.nix" 2>/dev/null)
C1=$(ns -qR "$C2" | grep -- '-c1.drv$')
NOTE=$(ns -qR "$C2" | grep -- '-note.txt$')
REF=$(ns -qR "$C2" | grep -- '-ref.txt$')
DEPOUT=$(ns -q --outputs "$G_depdrv")
printf 'output of dep\n' > "$R$DEPOUT"
{
  printf '%s\n%s\n%s\n%s\n0\n' "$DEPOUT" "$(nix-hash --type sha256 "$R$DEPOUT")" "$(ns --dump "$R$DEPOUT" | wc -c)" "$G_depdrv"
} | ns --load-db
nix-store --generate-binary-cache-key pathinfo-test-1 "$TMP/sk" "$TMP/pk"
nix --store "$R" store sign -k "$TMP/sk" "$FSHA256" "$G_out" 2> /dev/null
cp "$TMP/pk" "$HERE/public-key.txt"
sqlite3 "$DB" "update ValidPaths set ultimate = 1 where path = '$SMALL'"
sqlite3 "$DB" "update ValidPaths set registrationTime = 1700000000 + id"

{
  sed 's/^//' "$HERE/../store/paths.txt"
  echo "small=$SMALL"; echo "big=$BIG"; echo "tie1=$TIE1"; echo "tie2=$TIE2"; echo "fsha256=$FSHA256"; echo "fmd5=$FMD5"; echo "rsha1b=$RSHA1"
  echo "rsha512=$RSHA512"; echo "c1=$C1"; echo "c2=$C2"; echo "note=$NOTE"; echo "ref=$REF"; echo "depout=$DEPOUT"
} > "$HERE/paths.txt"
mapfile -t ALL < <(sqlite3 "$DB" 'select path from ValidPaths order by path')
ns --export "${ALL[@]}" > "$HERE/store.nar"
sqlite3 -separator $'\t' "$DB" \
  "select path, registrationTime, coalesce(ultimate, 0), coalesce(sigs, ''), coalesce(ca, '') from ValidPaths order by path" \
  > "$HERE/meta.txt"

rm -rf "$HERE/cases"; mkdir -p "$HERE/cases"; : > "$HERE/cases.txt"
subst() { sed -e "s|$TMP|@TMP@|g" -e "s|$R|@ROOT@|g"; }
c() { # c NAME ARGS...: record `nix path-info ARGS`
  local name=$1; shift
  echo "$name" >> "$HERE/cases.txt"
  printf '%s\n' "$@" | subst > "$HERE/cases/$name.args"
  set +e
  (cd "$TMP" && nix --store "$R" path-info "$@" > "$TMP/out" 2> "$TMP/err"); echo $? > "$HERE/cases/$name.status"
  set -e
  subst < "$TMP/out" > "$HERE/cases/$name.stdout"; subst < "$TMP/err" > "$HERE/cases/$name.stderr"
}
NOPE=/nix/store/00000000000000000000000000000000-nope
source <(sed 's/^/P_/' "$HERE/paths.txt")

c one "$P_out"
c several "$P_tree" "$P_hello" "$P_flat" "$P_hello"
c recursive -r "$P_out"
c sizes -rsS "$P_out"
c size-only -s "$P_big" "$P_hello"
c closure-only -S "$P_top" "$P_leaf"
c human -rsSh "$P_out" "$P_big"
c human-ties -s -h "$P_tie1" "$P_tie2"
c human-long -s --human-readable --closure-size "$P_big"
c sigs --sigs "$P_small" "$P_fsha256" "$P_fmd5" "$P_rsha1b" "$P_rsha512" "$P_out" "$P_ref" "$P_c1"
c sigs-sizes -s -S --sigs "$P_small" "$P_fsha256" "$P_out"
c sub-path "$P_out/sub/path"
c drv-valid-outputs "$P_depdrv"
c drv-missing-output "$P_drv"
c drv-chain-unbuilt "$P_c2"
c derivation --derivation "$P_drv" "$P_out" "$P_depout"
c derivation-no-deriver --derivation "$P_hello"
c derivation-recursive -r --derivation "$P_c2"
c invalid "$NOPE"
c invalid-after-valid "$P_hello" "$NOPE"
c invalid-recursive -r "$NOPE"
c invalid-drv "$NOPE.drv"
c json --json "$P_out" "$P_small" "$P_fsha256" "$P_fmd5" "$P_rsha1b" "$P_rsha512" "$P_ref" "$P_c1" "$P_out"
c json-invalid --json "$P_hello" "$NOPE"
c json-closure --json -r -S "$P_out"
c json-flags-ignored --json -s --sigs -h "$P_fsha256"
c json-drv --json "$P_drv"
c json-derivation --json --derivation "$P_c2" "$P_drv"
c all --all -s
nix --version > "$HERE/nix-version.txt"
echo "done: $HERE"
