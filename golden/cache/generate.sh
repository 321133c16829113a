#!/usr/bin/env bash
# Generates the binary-cache goldens with Nix 2.8 (nix-bin). Run from anywhere:
#   bash golden/cache/generate.sh
# Builds a small chroot store (a text file, a tree with an executable and a
# symlink, a text path referring to another, a path registered with a deriver
# and references), generates a signing key, then records (all committed;
# tests read them, CI does not need nix-bin):
#   keys/test-1.sec, keys/test-1.pub       nix-store --generate-binary-cache-key test-1
#   paths.txt                              named paths (key=path)
#   <compression>/                          nix copy --to file://…?compression=C&secret-key=…&write-nar-listing=1
#                                           (nix-cache-info, *.narinfo, *.ls, nar/*) for xz zstd bzip2 none br gzip
#   unsigned/                               nix copy --to file://…?compression=none (no key, no listing)
#   path-info-signed.json                   nix path-info --json --store <cache> after signing (Sig bytes)
#   fingerprints.txt                        path;fingerprint lines (what the sigs sign), from the narinfos
#   errors/<name>.err/.rc                   what Nix says about a bad cache (copy --from)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ='
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
export XDG_CACHE_HOME="$WORK/xdg"
R="$WORK/root"
mkdir -p "$R"
ns() { nix-store --store "$R" "$@"; }

printf 'hello\n' > "$WORK/hello.txt"
mkdir -p "$WORK/tree/sub"
printf 'a\n' > "$WORK/tree/a"
printf '#!/bin/sh\necho hi\n' > "$WORK/tree/sub/run.sh"; chmod +x "$WORK/tree/sub/run.sh"
ln -s a "$WORK/tree/link"
HELLO=$(ns --add "$WORK/hello.txt")
TREE=$(ns --add "$WORK/tree")
cat > "$WORK/expr.nix" <<NIX
let
  leaf = builtins.toFile "leaf.txt" "leaf\n";
  mid = builtins.toFile "mid.txt" "mid refers to \${leaf}\n";
in mid
NIX
MID=$(nix-instantiate --store "$R" --eval --read-write-mode "$WORK/expr.nix" | tr -d '"')
LEAF=$(ns -q --references "$MID")
# A built path (a deriver, references to mid and itself), built with a static busybox in the store.
mkdir -p "$WORK/bb/bin"; cp /usr/bin/busybox "$WORK/bb/bin/busybox"; ln -s busybox "$WORK/bb/bin/sh"
BB=$(ns --add "$WORK/bb")
cat > "$WORK/drv.nix" <<'NIX'
{ bb }:
let
  leaf = builtins.toFile "leaf.txt" "leaf\n";
  mid = builtins.toFile "mid.txt" "mid refers to ${leaf}\n";
in derivation {
  name = "out"; system = builtins.currentSystem; builder = "${builtins.storePath bb}/bin/sh";
  args = [ "-c" "echo ${mid} $out > $out" ];
}
NIX
DRV=$(nix-instantiate --store "$R" --argstr bb "$BB" "$WORK/drv.nix")
OUT=$(ns -r "$DRV")
PATHS=("$HELLO" "$TREE" "$MID" "$LEAF" "$OUT")
{
  echo "hello=$HELLO"; echo "tree=$TREE"; echo "mid=$MID"; echo "leaf=$LEAF"; echo "out=$OUT"; echo "drv=$DRV"; echo "bb=$BB"
} > "$HERE/paths.txt"

rm -rf "$HERE/keys" && mkdir -p "$HERE/keys"
nix-store --generate-binary-cache-key test-1 "$HERE/keys/test-1.sec" "$HERE/keys/test-1.pub"

for c in xz zstd bzip2 none br gzip; do
  rm -rf "${HERE:?}/$c"
  nix copy --store "$R" --to "file://$HERE/$c?compression=$c&secret-key=$HERE/keys/test-1.sec&write-nar-listing=1" "${PATHS[@]}"
done
# A .drv named as an installable means its outputs; --derivation copies the file itself (and its
# closure: the busybox, so only in the xz cache).
nix copy --store "$R" --derivation --to "file://$HERE/xz?compression=xz&secret-key=$HERE/keys/test-1.sec&write-nar-listing=1" "$DRV"
rm -rf "$HERE/unsigned"
nix copy --store "$R" --to "file://$HERE/unsigned?compression=none" "${PATHS[@]}"
# The directories Nix creates empty (log/, realisations/) are not kept by git.
find "$HERE" -type d -empty -delete

{ nix path-info --json --store "file://$HERE/none" "${PATHS[@]}"; echo
  nix path-info --json --store "file://$HERE/xz" --derivation "$DRV"; echo; } > "$HERE/path-info-signed.json"
# Nix's own signatures of the local store's paths with the same key (nix store sign)
nix store sign --store "$R" -k "$HERE/keys/test-1.sec" "${PATHS[@]}"
nix store sign --store "$R" -k "$HERE/keys/test-1.sec" --derivation "$DRV"
nix store sign --store "$R" -k "$HERE/keys/test-1.sec" "$BB"
{ nix path-info --json --store "$R" "${PATHS[@]}"; echo
  nix path-info --json --store "$R" --derivation "$DRV"; echo; } > "$HERE/path-info-local-signed.json"

# Errors: a cache whose narinfo is corrupt, a NAR whose hash differs, an untrusted key.
rm -rf "$HERE/errors" && mkdir -p "$HERE/errors"
err() { # name, command...
  local name=$1; shift
  set +e; "$@" >/dev/null 2>"$HERE/errors/$name.err"; echo $? > "$HERE/errors/$name.rc"; set -e
}
B="$WORK/bad"
cp -r "$HERE/none" "$B"
H=$(basename "$HELLO" | cut -c1-32)
sed -i 's/^NarSize: .*/NarSize: 0/' "$B/$H.narinfo"
err corrupt-narsize nix copy --store "$WORK/dst1" --no-check-sigs --from "file://$B" "$HELLO"
cp -r "$HERE/none" "$B.2"
sed -i 's/^StorePath: .*/StorePath: nonsense/' "$B.2/$H.narinfo"
err corrupt-storepath nix copy --store "$WORK/dst2" --no-check-sigs --from "file://$B.2" "$HELLO"
O=$(basename "$OUT" | cut -c1-32)
err untrusted-key nix copy --store "$WORK/dst3" --from "file://$HERE/none" "$OUT"
err unsigned nix copy --store "$WORK/dst4" --option trusted-public-keys "$(cat "$HERE/keys/test-1.pub")" --from "file://$HERE/unsigned" "$OUT"
cp -r "$HERE/none" "$B.3"
N=$(sed -n 's/^URL: //p' "$B.3/$O.narinfo")
chmod u+w "$B.3/$N"; sed -i 's/mid/miD/' "$B.3/$N"
err nar-hash-mismatch nix copy --store "$WORK/dst5" --no-check-sigs --from "file://$B.3" "$OUT"
cp -r "$HERE/none" "$B.4"
N=$(sed -n 's/^URL: //p' "$B.4/$O.narinfo")
chmod u+w "$B.4/$N"; truncate -s 100 "$B.4/$N"
err truncated-nar nix copy --store "$WORK/dst6" --no-check-sigs --from "file://$B.4" "$OUT"
cp -r "$HERE/none" "$B.5"
sed -i 's/^Sig: test-1:./Sig: test-1:A/' "$B.5/$O.narinfo"
err wrong-sig nix copy --store "$WORK/dst7" --option trusted-public-keys "$(cat "$HERE/keys/test-1.pub")" --from "file://$B.5" "$OUT"
sed -i "s|$WORK|\$WORK|g; s|$HERE|\$HERE|g" "$HERE"/errors/*.err
echo "ok"
