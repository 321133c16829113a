#!/usr/bin/env bash
# Generates the garbage-collector golden data with Nix 2.8 (nix-bin):
#   store.export        the whole store (nix-store --export of every valid path)
#   layout.json         the roots layout (symlinks to recreate) and invalid store entries
#   nix/<ko>-<kd>.dead  nix-store --gc --print-dead  for keep-outputs=<ko>, keep-derivations=<kd>
#   nix/<ko>-<kd>.live  nix-store --gc --print-live
#   nix/roots.txt       nix-store --gc --print-roots (ROOT replaced by @ROOT@)
#   nix/qroots-*.txt    nix-store -q --roots PATH
#   nix/delete-*.txt    outcomes of --delete
# Usage: golden/gc/generate.sh   (needs nix-store, nix-instantiate, nix)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/tsnix-gc-golden.XXXXXX)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
base="$work/base"
R="$base/root"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ='
ns() { nix-store --store "$R" "$@"; }
mkdir -p "$R"

declare -A drv
for a in dep multi top rooted-drv unbuilt other indirect prof; do
  drv[$a]=$(nix-instantiate --store "$R" "$here/store.nix" -A "$a" 2>/dev/null)
done
out() { nix --store "$R" show-derivation "${drv[$1]}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const d=Object.values(j)[0];process.stdout.write(d.outputs[process.argv[1]].path)})' "$2"; }
src=$(nix-instantiate --store "$R" --eval -E 'builtins.toFile "src.txt" "source text\n"' | tr -d '"')

# register(path, deriver, refs...): nix-store --load-db (--register-validity in 2.8 stats the
# logical path in a chroot store, so the hash and size are computed here).
register() {
  local p=$1 d=$2; shift 2
  local h; h=$(nix-hash --type sha256 "$R$p")
  local n; n=$(nix-store --dump "$R$p" | wc -c)
  { echo "$p"; echo "$h"; echo "$n"; echo "$d"; echo $#; for r in "$@"; do echo "$r"; done; } | ns --load-db
}
# build(drvname, outname, refs...): create the output (text naming its refs) and register it.
build() {
  local a=$1 o=$2; shift 2
  local p; p=$(out "$a" "$o")
  mkdir -p "$R$p"
  printf '%s\n' "$a.$o" "$@" > "$R$p/content"
  register "$p" "${drv[$a]}" "$@"
  echo "$p"
}
dep=$(build dep out)
lib=$(build multi lib "$src")
dev=$(build multi dev "$(out multi lib)")
mout=$(out multi out)
mkdir -p "$R$mout"; printf '%s\n' multi.out "$dev" "$lib" "$mout" > "$R$mout/content"
register "$mout" "${drv[multi]}" "$mout" "$dev" "$lib"
top=$(build top out "$mout" "$dep")
rdout=$(build rooted-drv out "$dep")
other=$(build other out "$src")
ind=$(build indirect out)
prof=$(build prof out)
# rooted-drv.doc and unbuilt.out stay unbuilt (invalid).
echo "unrooted" > "$work/unrooted.txt"
added=$(ns --add "$work/unrooted.txt")
# A path referring to a live path, itself unrooted.
refto=/nix/store/$(echo -n refto | sha1sum | head -c 32 | tr 'eotu' '0123')-refto
mkdir -p "$R$refto"; echo "$top" > "$R$refto/content"
register "$refto" "" "$top"
# Invalid entries: an unregistered directory, and a lock file of a live path.
junk=/nix/store/$(echo -n junk | sha1sum | head -c 32 | tr 'eotu' '0123')-junk
mkdir -p "$R$junk"; echo junk > "$R$junk/x"
touch "$R$top.lock"
echo stray > "$R/nix/store/not-a-store-path"

# Roots.
g="$R/nix/var/nix/gcroots"; mkdir -p "$g/auto" "$g/sub" "$R/nix/var/nix/profiles" "$base/links"
ln -s "$top" "$g/top"
ln -s "${drv[rooted-drv]}" "$g/sub/rooted-drv"
ln -s "$ind" "$base/links/result"
ln -s "$base/links/result" "$g/auto/indirect"
ln -s "$base/links/missing" "$g/auto/stale"
ln -s "$prof" "$R/nix/var/nix/profiles/default-1-link"
ln -s default-1-link "$R/nix/var/nix/profiles/default"

ns --export $(nix --store "$R" path-info --all) > "$here/store.export"
node -e '
const fs=require("fs");const [R,base,out]=process.argv.slice(1);
const links=[];const walk=(d)=>{for(const n of fs.readdirSync(d)){const p=d+"/"+n;const st=fs.lstatSync(p);
 if(st.isSymbolicLink())links.push({link:p.slice(base.length+1),target:fs.readlinkSync(p).split(base).join("@BASE@")});else if(st.isDirectory())walk(p)}};
walk(R+"/nix/var/nix");walk(base+"/links");
fs.writeFileSync(out,JSON.stringify({links},null,1)+"\n")' "$R" "$base" "$here/layout.json"
node -e 'const fs=require("fs");const j=JSON.parse(fs.readFileSync(process.argv[1]));j.invalidEntries=[{path:process.argv[2],files:{x:"junk\n"}},{path:process.argv[3],files:null},{path:"/nix/store/not-a-store-path",files:"stray\\n"}];fs.writeFileSync(process.argv[1],JSON.stringify(j,null,1)+"\n")' "$here/layout.json" "$junk" "$top.lock"

rm -rf "$here/nix"; mkdir -p "$here/nix"
fix() { sed "s#$base#@BASE@#g"; }
for ko in false true; do for kd in false true; do
  for what in dead live; do
    rm -rf "$work/c"; cp -a "$base" "$work/c"
    NIX_CONFIG="$NIX_CONFIG"$'\n'"keep-outputs = $ko"$'\n'"keep-derivations = $kd" \
      nix-store --store "$work/c/root" --gc --print-$what 2>/dev/null | sed "s#$work/c#@BASE@#g; s#$base#@BASE@#g" > "$here/nix/$ko-$kd.$what"
  done
  rm -rf "$work/c"; cp -a "$base" "$work/c"
  for p in "$dep" "$lib" "${drv[dep]}" "$rdout"; do
    NIX_CONFIG="$NIX_CONFIG"$'\n'"keep-outputs = $ko"$'\n'"keep-derivations = $kd" \
      nix-store --store "$work/c/root" -q --roots "$p" 2>/dev/null | sed "s#$work/c#@BASE@#g; s#$base#@BASE@#g" > "$here/nix/qroots-$ko-$kd-$(basename "$p").txt"
  done
done; done
rm -rf "$work/c"; cp -a "$base" "$work/c"
nix-store --store "$work/c/root" --gc --print-roots 2>/dev/null | sed "s#$work/c#@BASE@#g; s#$base#@BASE@#g" > "$here/nix/roots.txt"
# Deletions (default settings).
del() { # name, args...
  local name=$1; shift
  rm -rf "$work/c"; cp -a "$base" "$work/c"
  set +e
  nix-store --store "$work/c/root" --delete "$@" > "$here/nix/delete-$name.stdout" 2> "$work/err"; echo $? > "$here/nix/delete-$name.status"
  set -e
  grep -o "since it is still alive" "$work/err" > "$here/nix/delete-$name.stderr" || true
  nix --store "$work/c/root" path-info --all | sort > "$here/nix/delete-$name.valid"
}
del added "$added"
del live "$dep"
del ignore "--ignore-liveness" "$top"
del ignore-indirect "--ignore-liveness" "$ind"
del refto-and-added "$refto" "$added"
rm -rf "$work/c"; cp -a "$base" "$work/c"
nix-store --store "$work/c/root" --gc > "$here/nix/gc.stdout" 2>/dev/null
nix --store "$work/c/root" path-info --all | sort > "$here/nix/gc.valid"
ls -a "$work/c/root/nix/store" | sort > "$here/nix/gc.entries"
nix-store --version > "$here/nix/version.txt"
{ for a in "${!drv[@]}"; do echo "drv.$a ${drv[$a]}"; done; echo "src $src"; echo "added $added"; echo "refto $refto"; echo "junk $junk"; } | sort > "$here/nix/names.txt"
