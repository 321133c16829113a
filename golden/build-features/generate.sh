#!/usr/bin/env bash
# Generates the goldens of the builder's features (issue 14/15) with Nix 2.8 (nix-bin), unsandboxed,
# in a store whose logical directory is its real one: /tmp/tsnix-golden-features/store. The tests
# (test/builder/features-golden.test.ts, test/cli/realise-features-cli.test.ts) rebuild the same .drv
# files with tsnix there. Run from anywhere:  bash golden/build-features/generate.sh
# Cases: output checks (allowed/disallowed references/requisites, structured outputChecks), --repeat
# and `repeat`, post-build-hook, `@nix` structured log lines, substitution of a derivation's outputs
# from a file:// cache before building (and --dry-run), and secret-key-files signing built outputs.
# Writes (all committed):
#   drvs.export, bb.path, busybox.sha256, cases.txt   as golden/build (cases.txt: NAME DRV)
#   <name>.flags, <name>.conf  nix-store -r's flags / extra NIX_CONFIG lines of a case (inputs)
#   <name>.rc, <name>.stderr, <name>.outputs, <name>.log, <name>.valid   as golden/build
#   <name>.sigs                the Sig fields of the outputs after the case (secret-key-files)
#   key.sec, key.pub           the signing key (made here by nix-store --generate-binary-cache-key); key2.* another
#   subst-check.*              --check of the substituted subst-a with key2: it gets key2's signature
#   add-signed.sigs            --add with secret-key-files: no signature (Nix 2.8 signs built outputs only)
#   hook-ok.sh, hook-fail.sh   the post-build hooks (inputs, copied to /tmp/tsnix-golden-features/)
#   cache/                     the file:// binary cache Nix made (nix copy --to) for the substitution cases
#   subst-*.rc, subst-*.stderr, subst-*.outputs  nix-store -r [--dry-run] with that cache as substituter
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
X=/tmp/tsnix-golden-features
[ -e "$X" ] && { chmod -R u+w "$X"; rm -rf "$X"; }
mkdir -p "$X/bb"
cp /usr/bin/busybox "$X/bb/busybox"
cp "$HERE/hook-ok.sh" "$HERE/hook-fail.sh" "$X/"
export NIX_STORE_DIR=$X/store NIX_STATE_DIR=$X/state NIX_LOG_DIR=$X/log
BASE=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters =\ncores = 2'
export NIX_CONFIG="$BASE"
rm -f "$HERE/key.sec" "$HERE/key.pub"
rm -f "$HERE/key2.sec" "$HERE/key2.pub"
nix-store --generate-binary-cache-key golden-test-1 "$HERE/key.sec" "$HERE/key.pub"
nix-store --generate-binary-cache-key golden-test-2 "$HERE/key2.sec" "$HERE/key2.pub"
cat > "$X/e.nix" <<'EOF'
let
  bb = "${./bb}/busybox";
  mk = a: derivation ({ system = "x86_64-linux"; builder = bb; } // a);
  sh = name: script: a: mk ({ inherit name; args = [ "sh" "-c" script ]; } // a);
in rec {
  base = sh "base" "echo base > $out" {};
  mid = sh "mid" "echo $base > $out" { inherit base; };
  refsOk = sh "refs-ok" "echo $mid > $out" { inherit mid; allowedReferences = [ mid ]; };
  refsBad = sh "refs-bad" "echo $mid $base > $out" { inherit mid base; allowedReferences = [ ]; };
  refsSelf = sh "refs-self" "echo $out > $out" { allowedReferences = [ "out" ]; };
  refsSelfBad = sh "refs-self-bad" "echo $out $base > $out" { inherit base; allowedReferences = [ base ]; };
  refsIllegal = sh "refs-illegal" "echo hi > $out" { allowedReferences = [ "nosuchoutput" ]; };
  refsMulti = sh "refs-multi" "mkdir $out $dev; echo $dev > $out/r; echo $base > $dev/r" { inherit base; outputs = [ "out" "dev" ]; allowedReferences = [ "dev" ]; disallowedRequisites = [ base ]; };
  reqOk = sh "req-ok" "echo $out $mid > $out" { inherit mid; allowedRequisites = [ mid base ]; };
  reqBad = sh "req-bad" "echo $mid > $out" { inherit mid; allowedRequisites = [ mid ]; };
  disRefBad = sh "disref-bad" "echo $mid $base > $out" { inherit mid base; disallowedReferences = [ base mid ]; };
  disRefOk = sh "disref-ok" "echo $mid > $out" { inherit mid base; disallowedReferences = [ base ]; };
  disReqBad = sh "disreq-bad" "echo $mid > $out" { inherit mid base; disallowedRequisites = [ base ]; };
  scOk = sh "sc-ok" "out=$(sed 's/.*\"out\":\"\\([^\"]*\\)\".*/\\1/' .attrs.json); echo $out > $out" {
    __structuredAttrs = true; outputChecks.out = { allowedReferences = [ "out" ]; maxSize = 1000; maxClosureSize = 1000; };
  };
  scRefs = sh "sc-refs" "out=$(sed 's/.*\"out\":\"\\([^\"]*\\)\".*/\\1/' .attrs.json); echo $out ${mid} > $out" {
    __structuredAttrs = true; outputChecks.out = { allowedRequisites = [ mid base ]; };
  };
  scSize = sh "sc-size" "out=$(sed 's/.*\"out\":\"\\([^\"]*\\)\".*/\\1/' .attrs.json); echo 0123456789 > $out" {
    __structuredAttrs = true; outputChecks.out.maxSize = 100;
  };
  scClosure = sh "sc-closure" "out=$(sed 's/.*\"out\":\"\\([^\"]*\\)\".*/\\1/' .attrs.json); echo ${mid} > $out" {
    __structuredAttrs = true; outputChecks.out.maxClosureSize = 300;
  };
  scDisReq = sh "sc-disreq" "out=$(sed 's/.*\"out\":\"\\([^\"]*\\)\".*/\\1/' .attrs.json); echo ${mid} > $out" {
    __structuredAttrs = true; outputChecks.out.disallowedRequisites = [ base ]; outputChecks.other.maxSize = 0;
  };
  rep = sh "rep" "echo same > $out" {};
  repConf = sh "rep-conf" "echo same > $out" {};
  repNondet = sh "rep-nondet" "cat /proc/sys/kernel/random/uuid > $out" {};
  repNondetK = sh "rep-nondet-k" "cat /proc/sys/kernel/random/uuid > $out" {};
  hookOk = sh "hook-ok" "mkdir $out $dev; echo built" { outputs = [ "out" "dev" ]; };
  hookFail = sh "hook-fail" "echo built > $out" {};
  hookBuildFail = sh "hook-build-fail" "exit 1" {};
  jsonlog = sh "jsonlog" ''
    echo plain line
    echo '@nix {"action":"msg","level":0,"msg":"an error-level message"}'
    echo '@nix {"action":"msg","level":3,"msg":"an info-level message"}'
    echo '@nix {"action":"msg","level":4,"msg":"a talkative message, hidden"}'
    echo '@nix {"action":"setPhase","phase":"buildPhase"}'
    echo '@nix {"action":"start","id":5,"level":3,"type":101,"text":"downloading a thing","fields":[]}'
    echo '@nix {"action":"result","id":5,"type":105,"fields":[1,2,0,0]}'
    echo '@nix {"action":"stop","id":5}'
    echo '@nix {"action":"start","id":6,"level":3,"type":105,"text":"an untrusted build activity","fields":[]}'
    echo '@nix {"action":"start","id":7,"level":4,"type":101,"text":"a talkative download","fields":[]}'
    echo '@nixnot json'
    echo ' @nix {"action":"msg","level":0,"msg":"indented, not a message"}'
    printf 'progress 1\rprogress 2\n'
    printf 'tab\there\n'
    echo > $out
    printf 'last line without newline'
  '' {};
  substA = sh "subst-a" "echo subst > $out" {};
  substB = sh "subst-b" "echo $substA > $out" { inherit substA; };
  substC = sh "subst-c" "echo not in the cache > $out" {};
  signed = sh "signed" "mkdir $out $dev; echo $dev > $out/r" { outputs = [ "out" "dev" ]; };
}
EOF
cases="base mid refsOk refsBad refsSelf refsSelfBad refsIllegal refsMulti reqOk reqBad disRefBad disRefOk disReqBad scOk scRefs scSize scClosure scDisReq rep repConf repNondet repNondetK hookOk hookFail hookBuildFail jsonlog signed substA"
all="$cases substB substC"
cd "$X"
: > "$HERE/cases.txt"
for c in $all; do
  d=$(nix-instantiate e.nix -A "$c" 2>/dev/null); d=${d%%!*}
  echo "$c $d" >> "$HERE/cases.txt"
done
BB=$(nix-store -qR $(cut -d' ' -f2 "$HERE/cases.txt") | grep -- '-bb$')
echo "$BB" > "$HERE/bb.path"
sha256sum /usr/bin/busybox | cut -d' ' -f1 > "$HERE/busybox.sha256"
nix-store --export $(nix-store -qR $(cut -d' ' -f2 "$HERE/cases.txt") | grep -v -- '-bb$') > "$HERE/drvs.export"
rm -f "$HERE"/*.rc "$HERE"/*.stderr "$HERE"/*.outputs "$HERE"/*.log "$HERE"/*.valid "$HERE"/*.flags "$HERE"/*.conf "$HERE"/*.sigs
rm -rf "$HERE/cache"
echo "--repeat 1" > "$HERE/rep.flags"
echo "repeat = 1" > "$HERE/repConf.conf"
echo "--repeat 2" > "$HERE/repNondet.flags"
echo "--repeat 1 -K" > "$HERE/repNondetK.flags"
echo "post-build-hook = $X/hook-ok.sh" > "$HERE/hookOk.conf"
echo "post-build-hook = $X/hook-fail.sh" > "$HERE/hookFail.conf"
echo "post-build-hook = $X/hook-fail.sh" > "$HERE/hookBuildFail.conf"
echo "secret-key-files = $HERE/key.sec" > "$HERE/signed.conf"
echo "secret-key-files = $HERE/key.sec" > "$HERE/substA.conf"
sigs() { for o in $(nix-store -q --outputs "$1"); do
  echo "$o $(nix path-info --json "$o" | sed -n 's/.*"signatures":\[\([^]]*\)\].*/\1/p')"; done; }
for c in $cases; do
  d=$(grep "^$c " "$HERE/cases.txt" | cut -d' ' -f2)
  flags=$(cat "$HERE/$c.flags" 2>/dev/null || true)
  conf=$(cat "$HERE/$c.conf" 2>/dev/null || true)
  set +e
  # shellcheck disable=SC2086
  NIX_CONFIG="$BASE"$'\n'"$conf" nix-store -r $flags "$d" > /dev/null 2> "$HERE/$c.stderr"
  echo $? > "$HERE/$c.rc"
  set -e
  outs=$(nix-store -q --outputs "$d")
  if [ "$(cat "$HERE/$c.rc")" = 0 ]; then
    for o in $outs; do
      echo "$o $(nix-store -q --hash "$o") refs:$(nix-store -q --references "$o" | sort | tr '\n' ' ')"
    done > "$HERE/$c.outputs"
  else
    name=$(basename "$d" .drv); name=${name:33}
    for p in "$X"/store/*-"$name" "$X"/store/*-"$name".check; do
      [ -e "$p" ] || continue
      if nix-store --check-validity "$p" 2>/dev/null; then echo "$p valid"; else echo "$p invalid"; fi
    done > "$HERE/$c.valid"
  fi
  nix-store -l "$d" > "$HERE/$c.log" 2>/dev/null || rm -f "$HERE/$c.log"
  case "$c" in signed|substA) sigs "$d" > "$HERE/$c.sigs" ;; esac
done
# Substitution: subst-a (built and signed above) goes to a file:// cache, then leaves the store;
# subst-b (which needs it) is realised with the cache as substituter: subst-a is fetched, subst-b built.
dA=$(grep "^substA " "$HERE/cases.txt" | cut -d' ' -f2)
dB=$(grep "^substB " "$HERE/cases.txt" | cut -d' ' -f2)
dC=$(grep "^substC " "$HERE/cases.txt" | cut -d' ' -f2)
oA=$(nix-store -q --outputs "$dA")
nix copy --to "file://$X/cache" "$oA"
nix-store --delete "$oA" > /dev/null 2>&1
cp -r "$X/cache" "$HERE/cache"
SUB="$BASE"$'\n'"substituters = file://$X/cache"$'\n'"trusted-public-keys = $(cat "$HERE/key.pub")"
run() { # NAME ARGS...
  local n=$1; shift
  set +e
  NIX_CONFIG="$SUB" nix-store "$@" > "$HERE/$n.stdout" 2> "$HERE/$n.stderr"
  echo $? > "$HERE/$n.rc"
  set -e
}
run subst-dry -r --dry-run "$dB" "$dC"
run subst-dry-a -r --dry-run "$dA"
run subst-b -r "$dB"
for o in $oA $(nix-store -q --outputs "$dB"); do
  echo "$o $(nix-store -q --hash "$o") refs:$(nix-store -q --references "$o" | sort | tr '\n' ' ')"
done > "$HERE/subst-b.outputs"
sigs "$dA" > "$HERE/subst-b.sigs"
run subst-c -r "$dC"
# --check of a substituted (not ultimate) output that rebuilds the same: it is signed with secret-key-files.
SUB="$SUB"$'\n'"secret-key-files = $HERE/key2.sec"
run subst-check -r --check "$dA"
sigs "$dA" > "$HERE/subst-check.sigs"
# Nix 2.8 does not sign what --add adds (only built outputs).
mkdir -p "$X/added"; echo added > "$X/added/f"
NIX_CONFIG="$SUB" nix-store --add "$X/added" > "$HERE/add-signed.stdout"
echo "$(cat "$HERE/add-signed.stdout") $(nix path-info --json "$(cat "$HERE/add-signed.stdout")" | sed -n 's/.*"signatures":\[\([^]]*\)\].*/\1/p')" > "$HERE/add-signed.sigs"
chmod -R u+w "$X"; rm -rf "$X"
