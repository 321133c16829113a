#!/usr/bin/env bash
# Generates the CLI goldens with Nix 2.8 (nix-bin). Run from anywhere:
#   bash golden/cli/generate.sh
# The store: golden/store/export.nar imported into a chroot store, plus
# expr.nix instantiated (a fixed-output derivation and one using it) and a
# fake output of dep.drv registered with --load-db, so that every output of
# dep.drv is valid. All of it is exported to store.nar, which the tests import.
# Then each case runs nix-store (or nix) in a work directory $WORK holding a
# copy of inputs/ (as $WORK/in) and records (all committed; tests read them, CI has no nix):
#   paths.txt            named paths (key=path)
#   store.nar            nix-store --export of every valid path
#   cases.txt            the case names, in the order they ran (later cases see earlier ones' effects)
#   cases/NAME.args      the arguments (one a line; first line the program: nix-store, nix, nix-hash)
#   cases/NAME.cwd       the directory the case ran in, relative to $WORK (absent: $WORK)
#   cases/NAME.store     "2": the case ran on the second store (store.nar imported into a fresh root,
#                        @ROOT2@), for the order cases that delete paths and files; absent: the first
#   cases/NAME.stdin     standard input (absent: empty)
#   cases/NAME.remove    store paths whose files were removed (behind Nix's back) before the case ran
#   cases/NAME.stdout / .stderr / .status
#   gcroots-auto.txt     gcroots/auto after the cases: "NAME -> TARGET" lines, sorted (NAME is a hash of
#                        the real target path, so work-dir.txt records the $WORK these names were made for)
#   roots.txt            every symlink the cases created under $WORK: "LINK -> TARGET", sorted
# In every recorded file the work directory is written @WORK@ and the store root @ROOT@.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ='
TMP="$(mktemp -d)"
trap 'chmod -R u+w "$TMP"; rm -rf "$TMP"' EXIT
R="$TMP/root"
WORK="$TMP/work"
mkdir -p "$R"
mkdir -p "$WORK"; cp -r "$HERE/inputs" "$WORK/in"
ns() { nix-store --store "$R" "$@"; }

ns --import < "$HERE/../store/export.nar" > /dev/null
source <(sed 's/^/G_/' "$HERE/../store/paths.txt")
FODDRV=$(nix-instantiate --store "$R" "$HERE/expr.nix" -A fod 2>/dev/null)
USEDRV=$(nix-instantiate --store "$R" "$HERE/expr.nix" -A user 2>/dev/null)
DEPOUT=$(ns -q --outputs "$G_depdrv")
# A fake output of dep.drv, registered with its deriver: every output of dep.drv is then valid.
printf 'output of dep\n' > "$R$DEPOUT"
{
  printf '%s\n%s\n%s\n%s\n0\n' "$DEPOUT" "$(nix-hash --type sha256 "$R$DEPOUT")" "$(ns --dump "$R$DEPOUT" | wc -c)" "$G_depdrv"
} | ns --load-db
{
  sed 's/^//' "$HERE/../store/paths.txt"
  echo "fod=$FODDRV"; echo "user=$USEDRV"; echo "depout=$DEPOUT"
} > "$HERE/paths.txt"
sqlite3 "$R/nix/var/nix/db/db.sqlite" 'select path from ValidPaths order by path' > "$TMP/all.txt"
mapfile -t ALL < "$TMP/all.txt"
ns --export "${ALL[@]}" > "$HERE/store.nar"
source <(sed 's/^/P_/' "$HERE/paths.txt")

rm -rf "$HERE/cases"; mkdir -p "$HERE/cases"; : > "$HERE/cases.txt"
R2="$TMP/root2"
subst() { sed -e "s|$WORK|@WORK@|g" -e "s|$R2|@ROOT2@|g" -e "s|$R|@ROOT@|g"; }
# c NAME [store=2] [cwd=DIR] [stdin=FILE] PROGRAM ARGS...: run and record one case.
c() {
  local name=$1; shift
  local cwd="" stdin=/dev/null root="$R"
  if [[ $1 == store=2 ]]; then root="$R2"; echo 2 > "$HERE/cases/$name.store"; shift; fi
  if [[ $1 == cwd=* ]]; then cwd=${1#cwd=}; shift; fi
  if [[ $1 == stdin=* ]]; then stdin=${1#stdin=}; cp "$stdin" "$HERE/cases/$name.stdin"; shift; fi
  local prog=$1; shift
  echo "$name" >> "$HERE/cases.txt"
  [ -n "$cwd" ] && echo "$cwd" > "$HERE/cases/$name.cwd"
  printf '%s\n' "$prog" "$@" | subst > "$HERE/cases/$name.args"
  local store=(--store "$root"); [ "$prog" = nix-hash ] && store=()
  set +e
  (cd "$WORK/$cwd" && "$prog" "${store[@]}" "$@" < "$stdin" > "$TMP/out" 2> "$TMP/err"); echo $? > "$HERE/cases/$name.status"
  set -e
  subst < "$TMP/out" > "$HERE/cases/$name.stdout"; subst < "$TMP/err" > "$HERE/cases/$name.stderr"
}
NOPE=/nix/store/00000000000000000000000000000000-nope

# 1. -q --binding, -q --graphml, --print-env
c binding-out nix-store -q --binding out "$P_drv"
c binding-short nix-store -q -b name "$P_drv" "$P_depdrv"
c binding-of-output nix-store -q --binding system "$P_out"
c binding-missing nix-store -q --binding nope "$P_drv"
c binding-no-deriver nix-store -q --binding name "$P_hello"
c binding-no-name nix-store -q --binding
c binding-fod nix-store -q -b outputHash "$P_fod"
c binding-invalid nix-store -q --binding x "$NOPE"
c binding-invalid-drv nix-store -q --binding x "$NOPE.drv"
c graphml-drv nix-store -q --graphml "$P_drv"
c graphml-paths nix-store -q --graphml "$P_hello" "$P_top" "$P_out"
c graphml-use-output nix-store -q --graphml -u "$P_depdrv" "$P_hello"
c print-env-drv nix-store --print-env "$P_drv"
c print-env-fod nix-store --print-env "$P_fod"
c print-env-user nix-store --print-env "$P_user"
c print-env-none nix-store --print-env
c print-env-two nix-store --print-env "$P_drv" "$P_depdrv"
c print-env-relative nix-store --print-env in/notdrv.drv
c print-env-not-in-store nix-store --print-env /tmp
c print-env-invalid nix-store --print-env "$NOPE.drv"

# 2. show-derivation
c show-r nix show-derivation -r "$P_user"
c show-recursive nix show-derivation --recursive "$P_drv"
c show-output nix show-derivation "$P_out"
c show-outputs nix show-derivation "$P_depout" "$P_fod"
c show-no-deriver nix show-derivation "$P_hello"
c show-invalid nix show-derivation "$NOPE.drv"
c show-invalid-output nix show-derivation "$NOPE"
c show-fod nix show-derivation "$P_fod"
c show-user nix show-derivation "$P_user"

# 3. -r and --add-root
c realise-valid nix-store -r "$P_hello"
c realise-root nix-store -r "$P_hello" --add-root myroot
c realise-root-indirect nix-store -r "$P_hello" "$P_top" --add-root roots/r2 --indirect
c realise-drv nix-store -r "$P_depdrv"
c realise-drv-root nix-store --realise "$P_depdrv" --add-root deproot
c realise-drv-root-two nix-store -r "$P_hello" "$P_depdrv" --add-root two
c realise-drv-output nix-store -r "$P_depdrv!out" --add-root outroot
c realise-drv-bad-output nix-store -r "$P_depdrv!nope"
c realise-root-exists nix-store -r "$P_hello" --add-root in/notdrv.drv
c realise-invalid nix-store -r "$NOPE"
c realise-relative nix-store -r nonexistent
c realise-invalid-drv nix-store -r "$NOPE.drv"
c realise-invalid-two nix-store -r "$NOPE" /nix/store/11111111111111111111111111111111-nope "$P_hello"

# 4. --add naming
c add-dot cwd=in/dir nix-store --add .
c add-dir-dot nix-store --add in/dir/.
c add-dir-slash nix-store --add in/dir/
c add-dotdot nix-store --add in/dir/sub/..
c add-fixed-dot nix-store --add-fixed --recursive sha256 in/dir/.
c add-nonexistent nix-store --add nonexistent
c add-fixed-nonexistent nix-store --add-fixed sha256 nonexistent

# 5. hash conversions (tsnix: hash --to-X)
S1=a9993e364706816aba3e25717850c26c9cd0d89d
M5=900150983cd24fb0d6963f7d28e17f72
S256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
c hash-sha1-typed nix hash to-base32 "sha1:$S1"
c hash-sha1-sri nix hash to-sri "sha1:$S1"
c hash-md5-sri nix hash to-base16 md5-kAFQmDzST7DWlj99KOF/cg==
c hash-sha256-forms nix hash to-base16 "sha256:$S256" sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=
c hash-to-base64 nix hash to-base64 "sha1:$S1" "md5:$M5"
c hash-typed-with-type nix hash to-base32 --type sha1 "sha1:$S1"
c hash-untyped-with-type nix hash to-sri --type md5 "$M5"
c hash-type-disagrees nix hash to-base16 --type sha256 "sha1:$S1"
c hash-sri-type-disagrees nix hash to-base16 --type sha256 sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0=
c hash-untyped nix hash to-base16 "$S1"
c hash-wrong-length nix hash to-base16 sha256:xyz
c hash-bad-base16 nix hash to-base32 "sha1:${S1:0:39}g"
c hash-bad-base32 nix hash to-base16 sha1:kpcd173cq987hw957sx6m0868wv3x6de
c hash-bad-sri nix hash to-base16 sha512-abc
c hash-unknown-algo nix hash to-base16 foo:abc

# 6. --load-db with a .drv whose file is missing: nothing is loaded
EXTRA=/nix/store/22222222222222222222222222222222-extra
printf 'extra\n' > "$R$EXTRA"
EH=$(nix-hash --type sha256 "$R$EXTRA"); ES=$(ns --dump "$R$EXTRA" | wc -c)
printf '%s\n%s\n%s\n\n0\n%s\n%s\n%s\n\n0\n' "$EXTRA" "$EH" "$ES" "/nix/store/00000000000000000000000000000000-missing.drv" "$EH" "$ES" > "$TMP/load.txt"
c load-db-missing-drv stdin="$TMP/load.txt" nix-store --load-db
printf '%s\nxyz\n10\n\n0\n' "$EXTRA" > "$TMP/badhash.txt"
printf '%s\n%s\nabc\n\n0\n' "$EXTRA" "$EH" > "$TMP/badsize.txt"
c load-db-bad-hash stdin="$TMP/badhash.txt" nix-store --load-db
c load-db-bad-size stdin="$TMP/badsize.txt" nix-store --load-db
c load-db-missing-drv-after nix-store --check-validity --print-invalid "$EXTRA" /nix/store/00000000000000000000000000000000-missing.drv

# 7. errors: relative arguments are reported as absolute paths
c err-references-relative nix-store -q --references nonexistent
c err-references-not-in-store nix-store -q --references in
c err-references-invalid nix-store -q --references "$NOPE"
c err-hash-invalid nix-store -q --hash "$NOPE"
c err-deriver-short nix-store -q --deriver /nix/store/short
c err-dump-db-relative nix-store --dump-db nonexistent
c err-export-relative nix-store --export nonexistent
c err-verify-path-relative nix-store --verify-path nonexistent
c err-check-validity-relative nix-store --check-validity nonexistent
c err-delete-relative nix-store --delete nonexistent
c err-tree-relative nix-store -q --tree nonexistent
c err-references-notdir nix-store -q --references in/notdrv.drv/x
c err-add-notdir nix-store --add in/notdrv.drv/x
c err-dump-missing nix-store --dump nonexistent
c err-export-invalid nix-store --export "$NOPE"
c err-add-fixed-algo nix-store --add-fixed foo in/dir/a
c err-nix-hash-missing nix-hash --type sha256 nonexistent
c err-nix-hash-flat-missing nix-hash --type sha256 --flat nonexistent

# 8. Nix's order where it is deterministic: --delete's "deleting" lines, --verify's "disappeared" lines.
mkdir -p "$R2"
nix-store --store "$R2" --import < "$HERE/store.nar" > /dev/null
c delete-order store=2 nix-store --delete "$P_drv" "$P_out" "$P_hello" "$P_user" "$P_fod"
chmod -R u+w "$R2/nix/store"
printf '%s\n' "$P_leaf" "$P_mid" "$P_tree" "$P_rsha1" "$P_top" "$P_depout" > "$HERE/cases/verify-order.remove"
while read -r p; do rm -rf "$R2$p"; done < "$HERE/cases/verify-order.remove"
c verify-order store=2 nix-store --verify
c verify-order-after store=2 nix-store --check-validity --print-invalid "$P_leaf" "$P_mid" "$P_tree" "$P_rsha1" "$P_top" "$P_depout"

(cd "$R/nix/var/nix/gcroots/auto" && for l in *; do echo "$l -> $(readlink "$l")"; done) | subst | sort > "$HERE/gcroots-auto.txt"
(cd "$WORK" && find . -type l | sort | while read -r l; do echo "${l#./} -> $(readlink "$l")"; done) | subst > "$HERE/roots.txt"
echo "$WORK" > "$HERE/work-dir.txt"
nix --version > "$HERE/nix-version.txt"
echo "done: $(wc -l < "$HERE/cases.txt") cases in $HERE"
