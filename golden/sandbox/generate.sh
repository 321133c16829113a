#!/usr/bin/env bash
# Generates the sandbox goldens with Nix 2.8 (nix-bin) building IN ITS SANDBOX (a chroot store forces
# it). Needs /usr/bin/busybox (Debian busybox-static). Run from anywhere: bash golden/sandbox/generate.sh
#   busybox.sha256     sha256 (hex) of the busybox binary used (tests skip when the host's differs)
#   drvs: introspect (must be identical under tsnix), record (mounts, seccomp: for the record),
#   fod (fixed-output: host network, resolver files), paths (sandbox-paths "/bin/sh=<real path of bb>/busybox
#   /opt/missing?"; Nix takes a source literally, so in a chroot store it must be the real path)
#   paths.txt          bb=, script=, <name>.drv=, <name>.out= store paths
#   drv/<name>.drv     the derivations, as Nix wrote them
#   drvs.export        nix-store --export of the script and the .drv files (for tsnix --import)
#   out/<name>         Nix's outputs (files), out/<name>.narhash (nix-store -q --hash), .refs
#                      (introspect must be identical under tsnix; record (mounts, seccomp) is for the record)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = true\nbuild-users-group =\nfsync-metadata = false\nsubstituters =\ncores = 2'
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
R="$WORK/root"
ns() { nix-store --store "$R" "$@"; }
mkdir -p "$WORK/bb"
cp /usr/bin/busybox "$WORK/bb/busybox"
BB=$(ns --add-fixed --recursive sha256 "$WORK/bb")
cd "$HERE"
rm -rf drv out paths.txt
mkdir -p drv out
sha256sum /usr/bin/busybox | cut -d' ' -f1 > busybox.sha256
echo "bb=$BB" > paths.txt
# The fixed-output one: a first build with a wrong hash tells the right one.
d0=$(nix-instantiate --store "$R" --argstr bb "$BB" -A fod introspect.nix 2>/dev/null)
FODHASH=$( (ns -r "$d0" 2>&1 || true) | sed -n 's/^ *got: *//p')
echo "fod hash: $FODHASH"
for name in introspect record fod paths; do
  d=$(nix-instantiate --store "$R" --argstr bb "$BB" --argstr fodHash "$FODHASH" -A "$name" introspect.nix 2>/dev/null)
  cp "$R$d" "drv/$name.drv"; chmod 644 "drv/$name.drv"
  opts=()
  if [ "$name" = paths ]; then opts=(--option sandbox-paths "/bin/sh=$R$BB/busybox /opt/missing?"); fi
  o=$(ns -r "$d" "${opts[@]}" 2>/dev/null)
  echo "$name.drv=$d" >> paths.txt
  echo "$name.out=$o" >> paths.txt
  cp "$R$o" "out/$name"; chmod 644 "out/$name"
  ns -q --hash "$o" > "out/$name.narhash"
  ns -q --references "$o" > "out/$name.refs"
done
grep -o '/nix/store/[a-z0-9]*-introspect.sh' drv/introspect.drv | head -1 | sed 's/^/script=/' >> paths.txt
# The script and the .drv files (not busybox: tests add it with --add-fixed --recursive, same path).
ns --export $(sed -n 's/^script=//p' paths.txt) $(sed -n 's/^[a-z]*\.drv=//p' paths.txt) > drvs.export
echo "generated: $(cat paths.txt | wc -l) paths"
