#!/usr/bin/env bash
# Generates the store-optimisation golden data with Nix 2.8 (nix-bin), from the trees of inputs.json
# (materialised by tree.mjs). In a fresh chroot store R (ROOT spelt @ROOT@ in messages):
#   nix/add.stdout            nix-store --add of the "main" trees (in inputs.json order)
#   nix/optimise1.{stderr,status}  nix-store --optimise
#   nix/optimised.json        the store after it (tree.mjs describe: files, modes, mtimes, inode sharing, .links)
#   nix/optimise2.stderr      a second --optimise (nothing left to link)
#   nix/auto.stdout           --add of the "auto" trees with --option auto-optimise-store true
#   nix/auto.json             the store after it
#   nix/verify.{stderr,status}       --verify --check-contents of the optimised store
#   nix/verify-bad.{stderr,status}   the same with a bogus .links entry (nix/bogus.name, contents "bogus")
#   nix/gc.{stdout,stderr}    --gc with roots on the a and c paths; nix/gc.json the store after it
#   nix/delete.{stdout,stderr}  --delete of top.txt (re-added) afterwards; nix/delete.json
#   nix/printf.txt            "N X" lines: X is C's printf("%.2f", N / 1048576.0) (awk's printf, a double
#                             as Nix's showBytes and GC note have), ties and negative values included
#   nix/tie.stderr            --optimise of a store whose only duplicate is 131072 bytes (0.125 MiB:
#                             printf's "%.2f" rounds the tie to even, "0.12")
# Usage: golden/optimise/generate.sh   (needs nix-store and node)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/tsnix-optimise-golden.XXXXXX)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ='
out="$here/nix"
rm -rf "$out"; mkdir -p "$out"
R="$work/root"
ns() { nix-store --store "$R" "$@"; }
unroot() { sed "s|$R|@ROOT@|g"; }
names() { node -e 'const j=require(process.argv[1]);for(const [g,t] of Object.entries(j)) if(g===process.argv[2]) console.log(Object.keys(t).join("\n"))' "$here/inputs.json" "$1"; }
describe() { node "$here/tree.mjs" describe "$R/nix/store" > "$out/$1.json"; }

node "$here/tree.mjs" make main "$work/in"
node "$here/tree.mjs" make auto "$work/in-auto"
node "$here/tree.mjs" make tie "$work/in-tie"

mapfile -t main < <(names main)
(cd "$work/in" && ns --add "${main[@]}") > "$out/add.stdout"
set +e
ns --optimise > /dev/null 2> >(unroot > "$out/optimise1.stderr"); echo $? > "$out/optimise1.status"
set -e
sleep 0.2
describe optimised
ns --optimise 2>&1 >/dev/null | unroot > "$out/optimise2.stderr"
mapfile -t auto < <(names auto)
(cd "$work/in-auto" && ns --option auto-optimise-store true --add "${auto[@]}") > "$out/auto.stdout"
describe auto

set +e
ns --verify --check-contents > /dev/null 2> >(unroot > "$out/verify.stderr"); echo $? > "$out/verify.status"
bogus=00000000000000000000000000000000000000000000000000000
echo "$bogus" > "$out/bogus.name"
printf bogus > "$R/nix/store/.links/$bogus"
ns --verify --check-contents > /dev/null 2> >(unroot > "$out/verify-bad.stderr"); echo $? > "$out/verify-bad.status"
set -e
sleep 0.2
rm -f "$R/nix/store/.links/$bogus"

a=$(sed -n 1p "$out/add.stdout"); c=$(sed -n 1p "$out/auto.stdout")
mkdir -p "$R/nix/var/nix/gcroots"
ln -s "$a" "$R/nix/var/nix/gcroots/a"
ln -s "$c" "$R/nix/var/nix/gcroots/c"
ns --gc > "$out/gc.stdout" 2> >(unroot > "$out/gc.stderr")
sleep 0.2
describe gc
top=$(cd "$work/in" && ns --add top.txt)
ns --delete "$top" > "$out/delete.stdout" 2> >(unroot > "$out/delete.stderr")
sleep 0.2
describe delete

R="$work/tie"
mapfile -t tie < <(names tie)
(cd "$work/in-tie" && ns --add "${tie[@]}") > "$out/tie.stdout"
ns --optimise 2>&1 >/dev/null | unroot > "$out/tie.stderr"

# C's %.2f of byte counts in MiB: ties (odd multiples of 128 KiB, of 5 KiB·2^k), values near
# them, negatives (the GC note goes negative), zero and large counts.
{
  for k in 1 3 5 7 9 11 13 15 17 19 21 23 25 27 29 31 33 35 37 39 41 43 45 47 49 99 101 999 1001; do
    for d in 0 1 -1; do echo $((k * 131072 + d)); echo $((-(k * 131072 + d))); done
  done
  for n in 0 1 5 4096 -4096 5242 5243 10485 10486 15728 15729 1048575 1048576 104857 1000000 123456789 99999999999 -1 -5243; do echo $n; done
  for k in 1 3 5 7; do echo $((k * 5120 * 1024)); echo $((k * 10240 * 1024 + 5)); done
} | awk '{ printf "%s %.2f\n", $1, $1 / 1048576 }' > "$out/printf.txt"
