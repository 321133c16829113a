#!/usr/bin/env bash
# Generates the reference-cycle goldens with Nix 2.8 (nix-bin). Run from anywhere:
#   bash golden/cycles/generate.sh
# Two text files a.txt ("a\n") and b.txt ("b\n") are put in a chroot store's
# store directory (unregistered), then registrations in which a refers to b
# and b to a (and itself) are fed to Nix; for each case <name>:
#   <name>.in      the registration input (stdin)
#   <name>.args    the arguments (one a line)
#   <name>.stderr  Nix's stderr
#   <name>.status  Nix's exit status
#   <name>.db      nix-store --dump-db afterwards (nothing was registered)
# paths.txt: a=<path>, b=<path>. A self-reference alone (self.*) is accepted.
# Nix 2.8's --register-validity canonicalises the LOGICAL path, which fails in a
# chroot store, so every case runs on a store whose directory is real:
# local?store=$D/store&state=$D/state&log=$D/log with D=/tmp/tsnix-golden-cycles
# (fixed: the store directory is part of the paths); the tests use the same URI.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false'
WORK="$(mktemp -d)"
D=/tmp/tsnix-golden-cycles
rm -rf "$D"
trap 'chmod -R u+w "$WORK" "$D"; rm -rf "$WORK" "$D"' EXIT
uri() { printf 'local?store=%s/store&state=%s/state&log=%s/log' "$D" "$D" "$D"; }
printf 'a\n' > "$WORK/a.txt"
printf 'b\n' > "$WORK/b.txt"
A=$(nix-store --store "$(uri)" --add "$WORK/a.txt")
B=$(nix-store --store "$(uri)" --add "$WORK/b.txt")
HA16=$(nix-hash --type sha256 "$A")
HB16=$(nix-hash --type sha256 "$B")
SA=$(nix-store --store "$(uri)" -q --size "$A")
SB=$(nix-store --store "$(uri)" -q --size "$B")
cp -a "$A" "$B" "$WORK/"
printf 'a=%s\nb=%s\n' "$A" "$B" > "$HERE/paths.txt"

# Inputs. load-db and --hash-given: path, hash, size, deriver, count, references.
printf '%s\n%s\n%s\n\n1\n%s\n%s\n%s\n%s\n\n2\n%s\n%s\n' "$A" "$HA16" "$SA" "$B" "$B" "$HB16" "$SB" "$A" "$B" > "$HERE/load-db.in"
cp "$HERE/load-db.in" "$HERE/register-validity-hash-given.in"
# plain --register-validity: path, deriver, count, references.
printf '%s\n\n1\n%s\n%s\n\n2\n%s\n%s\n' "$A" "$B" "$B" "$A" "$B" > "$HERE/register-validity.in"
printf '%s\n\n1\n%s\n' "$A" "$A" > "$HERE/self.in"
printf -- '--load-db\n' > "$HERE/load-db.args"
printf -- '--register-validity\n--hash-given\n' > "$HERE/register-validity-hash-given.args"
printf -- '--register-validity\n' > "$HERE/register-validity.args"
printf -- '--register-validity\n' > "$HERE/self.args"

for name in load-db register-validity-hash-given register-validity self; do
  chmod -R u+w "$D"
  rm -rf "$D"
  nix-store --store "$(uri)" --dump-db > /dev/null
  cp -a "$WORK/$(basename "$A")" "$WORK/$(basename "$B")" "$D/store/"
  mapfile -t args < "$HERE/$name.args"
  set +e
  nix-store --store "$(uri)" "${args[@]}" < "$HERE/$name.in" 2> "$HERE/$name.stderr"
  echo $? > "$HERE/$name.status"
  set -e
  nix-store --store "$(uri)" --dump-db > "$HERE/$name.db"
done
nix-store --version > "$HERE/nix-version.txt"
