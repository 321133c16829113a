#!/usr/bin/env bash
# Generates the builder goldens with Nix 2.8 (nix-bin), unsandboxed, in a store whose logical
# directory is its real one: /tmp/tsnix-golden-build/store (state and logs beside it). The
# test (test/builder/build-golden.test.ts) rebuilds the same .drv files with tsnix in the same
# directory, so output paths can be compared. Run from anywhere:  bash golden/build/generate.sh
# Writes (all committed):
#   drvs.export           nix-store --export of every .drv (without the busybox directory bb.path names)
#   bb.path, busybox.sha256  the builder's store directory (a copy of /usr/bin/busybox) and busybox's hash
#   cases.txt             one line per case: NAME DRV
#   <name>.rc             nix-store -r's exit status (with the flags in <name>.flags, if any)
#   <name>.stderr         its stderr (the builder's output and Nix's messages)
#   <name>.outputs        per output: path, NAR hash, references (sorted), ca (when the build succeeded)
#   <name>.log            nix-store -l of the drv (when a log exists)
#   <name>.valid          for failures: the outputs that are valid afterwards (fixed-output mismatch)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
X=/tmp/tsnix-golden-build
[ -e "$X" ] && { chmod -R u+w "$X"; rm -rf "$X"; }
mkdir -p "$X/bb"
cp /usr/bin/busybox "$X/bb/busybox"
export NIX_STORE_DIR=$X/store NIX_STATE_DIR=$X/state NIX_LOG_DIR=$X/log
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters =\ncores = 2'
cat > "$X/e.nix" <<'EOF'
let
  bb = "${./bb}/busybox";
  mk = a: derivation ({ system = "x86_64-linux"; builder = bb; } // a);
  sh = name: script: a: mk ({ inherit name; args = [ "sh" "-c" script ]; } // a);
in rec {
  simple = sh "simple" "echo hello; echo to-stderr >&2; mkdir $out; echo hi > $out/f; ln -s f $out/link" {};
  multi = sh "multi" "mkdir $out $dev; echo lib > $out/lib; echo $out > $dev/ref" { outputs = [ "out" "dev" ]; };
  dep = sh "dep" "mkdir $out; cat $simple/f > $out/copy; echo $simple > $out/ref; echo $dev > $out/devref" { inherit simple; dev = multi.dev; };
  envdump = sh "envdump" "export -p > $out" { unref = "x"; passAsFile = [ "big" ]; big = "big value\n"; };
  passfile = sh "passfile" "cat $bigPath > $out; echo $bigPath >> $out" { passAsFile = [ "big" ]; big = "the big value"; };
  placeholders = sh "placeholders" "echo $p > $out" { p = builtins.placeholder "out"; };
  structured = sh "structured" "out=$(sed 's/.*\"out\":\"\\([^\"]*\\)\".*/\\1/' .attrs.json); bin=$(sed 's/.*\"bin\":\"\\([^\"]*\\)\".*/\\1/' .attrs.json); mkdir $out $bin; cp .attrs.json .attrs.sh $out/; echo $NIX_ATTRS_JSON_FILE $NIX_ATTRS_SH_FILE > $bin/vars; export -p > $out/env" {
    __structuredAttrs = true; outputs = [ "out" "bin" ];
    str = "it's \"quoted\"\n"; int = 42; neg = -7; flt = 1.5; t = true; f = false; n = null;
    list = [ "a" 1 true null ]; nested = [ [ "x" ] ]; attrs = { a = "b"; c = 2; }; deep = { x = { y = 1; }; };
    "not-a-var" = "skipped"; exportReferencesGraph = { graph = [ simple ]; };
  };
  refgraph = sh "refgraph" "cat graph > $out" { exportReferencesGraph = [ "graph" dep ]; };
  fodFlat = sh "fod-flat" "echo -n fixed > $out" { outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = builtins.hashString "sha256" "fixed"; };
  fodRec = sh "fod-rec" "mkdir $out; echo -n fixed > $out/f" { outputHashMode = "recursive"; outputHashAlgo = "sha1"; outputHash = "sha1-VoF4Mxb7N/M5oqHzUbdNeVZjUdQ="; };
  fodRecBad = sh "fod-rec-bad" "mkdir $out; echo -n fixed > $out/f" { outputHashMode = "recursive"; outputHashAlgo = "sha1"; outputHash = "0000000000000000000000000000000000000000"; };
  fodMd5 = sh "fod-md5" "echo -n fixed > $out" { outputHashAlgo = "md5"; outputHash = builtins.hashString "md5" "fixed"; };
  fodSha512 = sh "fod-sha512" "echo -n fixed > $out" { outputHashAlgo = "sha512"; outputHash = builtins.hashString "sha512" "fixed"; };
  fodBad = sh "fod-bad" "echo -n other > $out" { outputHashAlgo = "sha256"; outputHash = builtins.hashString "sha256" "fixed"; };
  fodExec = sh "fod-exec" "echo -n fixed > $out; chmod +x $out" { outputHashAlgo = "sha256"; outputHash = builtins.hashString "sha256" "fixed"; };
  fail = sh "fail" "echo line1; echo line2 >&2; exit 3" {};
  noout = sh "noout" "echo nothing" {};
  badperm = sh "badperm" "mkdir $out; chmod 777 $out" {};
  cycle = sh "cycle" "mkdir $a $b; echo $b > $a/r; echo $a > $b/r" { outputs = [ "a" "b" ]; };
  depfail = sh "depfail" "touch $out" { inherit fail; };
  slow = sh "slow" "echo start; sleep 5; touch $out" {};
  silent = sh "silent" "echo start; sleep 5; touch $out" { x = 1; };
  nondet = sh "nondet" "cat /proc/sys/kernel/random/uuid > $out" {};
}
EOF
cases="simple multi dep envdump passfile placeholders structured refgraph fodFlat fodRec fodRecBad fodMd5 fodSha512 fodBad fodExec fail noout badperm cycle depfail slow silent nondet"
cd "$X"
: > "$HERE/cases.txt"
for c in $cases; do
  d=$(nix-instantiate e.nix -A "$c" 2>/dev/null); d=${d%%!*}
  echo "$c $d" >> "$HERE/cases.txt"
done
# The .drv files only: the test adds the busybox directory itself (same path when /usr/bin/busybox is the same).
BB=$(nix-store -qR $(cut -d' ' -f2 "$HERE/cases.txt") | grep -- '-bb$')
echo "$BB" > "$HERE/bb.path"
sha256sum /usr/bin/busybox | cut -d' ' -f1 > "$HERE/busybox.sha256"
nix-store --export $(nix-store -qR $(cut -d' ' -f2 "$HERE/cases.txt") | grep -v -- '-bb$') > "$HERE/drvs.export"
rm -f "$HERE"/*.rc "$HERE"/*.stderr "$HERE"/*.outputs "$HERE"/*.log "$HERE"/*.valid "$HERE"/*.flags
echo "--timeout 1" > "$HERE/slow.flags"
echo "--max-silent-time 1" > "$HERE/silent.flags"
while read -r c d; do
  flags=$(cat "$HERE/$c.flags" 2>/dev/null || true)
  set +e
  # shellcheck disable=SC2086
  nix-store -r $flags "$d" > /dev/null 2> "$HERE/$c.stderr"
  echo $? > "$HERE/$c.rc"
  set -e
  outs=$(nix-store -q --outputs "$d")
  if [ "$(cat "$HERE/$c.rc")" = 0 ]; then
    for o in $outs; do
      echo "$o $(nix-store -q --hash "$o") refs:$(nix-store -q --references "$o" | sort | tr '\n' ' ')"
    done > "$HERE/$c.outputs"
  else
    # What is valid afterwards (the fixed-output mismatch registers the real path).
    name=$(basename "$d" .drv); name=${name:33}
    for p in "$X"/store/*-"$name"; do
      if nix-store --check-validity "$p" 2>/dev/null; then echo "$p $(nix-store -q --hash "$p")"; fi
    done > "$HERE/$c.valid"
  fi
  nix-store -l "$d" > "$HERE/$c.log" 2>/dev/null || rm -f "$HERE/$c.log"
done < "$HERE/cases.txt"
# --check: a deterministic output passes, a nondeterministic one fails with 104.
for c in simple nondet; do
  d=$(grep "^$c " "$HERE/cases.txt" | cut -d' ' -f2)
  set +e
  nix-store -r --check "$d" > /dev/null 2> "$HERE/check-$c.stderr"
  echo $? > "$HERE/check-$c.rc"
  set -e
done
# The store files are the runner's own: nothing else to keep.
chmod -R u+w "$X"; rm -rf "$X"

# Part 2: the same derivations in a chroot store (logical /nix/store, real $R/nix/store), where Nix
# always builds sandboxed. Written under chroot/ (same file names as above).
R="$(mktemp -d)/root"
mkdir -p "$R" "$HERE/chroot"
rm -f "$HERE"/chroot/*
mkdir -p "$X/bb"; cp /usr/bin/busybox "$X/bb/busybox"; cp "$HERE/../build/generate.sh" /dev/null
unset NIX_STORE_DIR NIX_STATE_DIR NIX_LOG_DIR
export NIX_CONFIG=$'experimental-features = nix-command\nbuild-users-group =\nfsync-metadata = false\nsubstituters =\ncores = 2'
sed -n "/^cat > \"\$X\/e.nix\" <<'EOF'$/,/^EOF$/p" "$HERE/generate.sh" | sed '1d;$d' > "$X/e.nix"
chroot_cases="simple multi dep envdump passfile structured refgraph fodFlat fodRec fodBad fail"
: > "$HERE/chroot/cases.txt"
for c in $chroot_cases; do
  d=$(cd "$X" && nix-instantiate --store "$R" e.nix -A "$c" 2>/dev/null); d=${d%%!*}
  echo "$c $d" >> "$HERE/chroot/cases.txt"
done
nix-store --store "$R" -qR $(cut -d' ' -f2 "$HERE/chroot/cases.txt") | grep -- '-bb$' > "$HERE/chroot/bb.path"
nix-store --store "$R" --export $(nix-store --store "$R" -qR $(cut -d' ' -f2 "$HERE/chroot/cases.txt") | grep -v -- '-bb$') > "$HERE/chroot/drvs.export"
while read -r c d; do
  set +e
  nix-store --store "$R" -r "$d" > /dev/null 2> "$HERE/chroot/$c.stderr"
  echo $? > "$HERE/chroot/$c.rc"
  set -e
  if [ "$(cat "$HERE/chroot/$c.rc")" = 0 ]; then
    for o in $(nix-store --store "$R" -q --outputs "$d"); do
      echo "$o $(nix-store --store "$R" -q --hash "$o") refs:$(nix-store --store "$R" -q --references "$o" | sort | tr '\n' ' ')"
    done > "$HERE/chroot/$c.outputs"
  fi
done < "$HERE/chroot/cases.txt"
chmod -R u+w "$R" "$X"; rm -rf "$(dirname "$R")" "$X"
