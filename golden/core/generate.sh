#!/usr/bin/env bash
# Generates the golden data for src/core (nix32, hashes, store paths) with
# Nix 2.8 (Debian's nix-bin) as the oracle. Needs nix-store, nix-hash, nix,
# nix-instantiate and jq. Writes:
#   golden/core/inputs/*   small input files (committed; tests hash their bytes)
#   golden/core/hashes.json  hashes of inputs in every algorithm and encoding,
#                            conversions and rejected hash strings
#   golden/core/paths.json   store paths Nix computed for those inputs
# Nothing touches /nix: every store is a chroot store in a temporary directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ='
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
root=$work/root
st=(--store "$root")
# A second store with another logical store directory (/my/store).
alt="local?store=/my/store&real=$work/alt/store&state=$work/alt/state&log=$work/alt/log"
nix --version >&2

# ---------------------------------------------------------------- inputs
inputs=$here/inputs
rm -rf "$inputs"
mkdir -p "$inputs"
: > "$inputs/empty"
printf 'Hello, world!\n' > "$inputs/hello.txt"
printf 'bar' > "$inputs/bar"
node -e 'process.stdout.write(Buffer.from(Array.from({length: 256}, (_, i) => i)))' > "$inputs/bytes.bin"
node -e 'let x = 7; const b = Buffer.alloc(5000); for (let i = 0; i < b.length; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24 } process.stdout.write(b)' > "$inputs/random.bin"
files=(empty hello.txt bar bytes.bin random.bin)

# Directory trees (not committed: tests only use their NAR hashes).
mkdir -p "$work/trees/tree/sub" "$work/trees/emptydir"
printf 'a file\n' > "$work/trees/tree/file"
printf '#!/bin/sh\necho hi\n' > "$work/trees/tree/run.sh"
chmod +x "$work/trees/tree/run.sh"
ln -s file "$work/trees/tree/link"
printf 'deep\n' > "$work/trees/tree/sub/deep"
printf 'x' > "$work/trees/exe"
chmod +x "$work/trees/exe"
ln -s /nonexistent/target "$work/trees/symlink"
trees=(tree emptydir exe symlink)

srcOf() { if [ -e "$inputs/$1" ]; then echo "$inputs/$1"; else echo "$work/trees/$1"; fi; }

J=$work/json
mkdir -p "$J"
emit() { jq -cn "$@" >> "$J/$OUT"; }

# ---------------------------------------------------------------- hashes
OUT=hashes
for f in "${files[@]}" "${trees[@]}"; do
  p=$(srcOf "$f")
  modes=(recursive)
  [ -f "$p" ] && [ ! -L "$p" ] && modes=(flat recursive)
  for mode in "${modes[@]}"; do
    fl=(); sub=path
    [ "$mode" = flat ] && { fl=(--flat); sub=file; }
    for algo in md5 sha1 sha256 sha512; do
      b16=$(nix-hash "${fl[@]}" --type $algo "$p")
      b32=$(nix-hash "${fl[@]}" --type $algo --base32 "$p")
      b64=$(nix hash $sub --type $algo --base64 "$p")
      sri=$(nix hash $sub --type $algo --sri "$p")
      trunc=$(nix-hash "${fl[@]}" --type $algo --truncate "$p")
      emit --arg input "$f" --arg mode $mode --arg algo $algo --arg base16 "$b16" --arg nix32 "$b32" \
        --arg base64 "$b64" --arg sri "$sri" --arg truncated "$trunc" \
        '{input: $input, mode: $mode, algo: $algo, base16: $base16, nix32: $nix32, base64: $base64, sri: $sri, truncatedBase16: $truncated}'
    done
  done
done

# Conversions between printed forms, done by Nix from various input forms.
OUT=conversions
conv() { # algo-or-empty input command...
  local algo=$1 input=$2; shift 2
  local out
  out=$("$@" 2>/dev/null) || { echo "conversion failed: $*" >&2; exit 1; }
  emit --arg algo "$algo" --arg input "$input" --arg to "$TO" --arg output "$out" \
    '{algo: (if $algo == "" then null else $algo end), input: $input, to: $to, output: $output}'
}
for algo in md5 sha1 sha256 sha512; do
  b16=$(nix-hash --flat --type $algo "$inputs/hello.txt")
  b32=$(nix-hash --flat --type $algo --base32 "$inputs/hello.txt")
  sri=$(nix hash file --type $algo --sri "$inputs/hello.txt")
  b64=$(nix hash file --type $algo --base64 "$inputs/hello.txt")
  up=$(printf '%s' "$b16" | tr a-f A-F)
  TO=nix32; conv $algo "$b16" nix-hash --type $algo --to-base32 "$b16"
  TO=nix32; conv $algo "$up" nix-hash --type $algo --to-base32 "$up"
  TO=base16; conv $algo "$b32" nix-hash --type $algo --to-base16 "$b32"
  TO=sri; conv $algo "$b16" nix hash to-sri --type $algo "$b16"
  TO=sri; conv "" "$algo:$b32" nix hash to-sri "$algo:$b32"
  TO=sri; conv $algo "$b64" nix hash to-sri --type $algo "$b64"
  TO=base64; conv "" "$sri" nix hash to-base64 "$sri"
  TO=base16; conv "" "$sri" nix hash to-base16 "$sri"
  TO=nix32; conv "" "$algo:$b64" nix hash to-base32 "$algo:$b64"
  TO=base16; conv "" "$algo:$up" nix hash to-base16 "$algo:$up"
done

# Strings Nix refuses to parse as hashes.
OUT=rejected
rej() { # algo-or-empty input
  local a=() ; [ -n "$1" ] && a=(--type "$1")
  if nix hash to-base16 "${a[@]}" "$2" >/dev/null 2>&1; then echo "Nix accepted '$2' ($1)" >&2; exit 1; fi
  emit --arg algo "$1" --arg input "$2" '{algo: (if $algo == "" then null else $algo end), input: $input}'
}
h16=$(nix-hash --flat --type sha256 "$inputs/hello.txt")
h32=$(nix-hash --flat --type sha256 --base32 "$inputs/hello.txt")
m32=$(nix-hash --flat --type md5 --base32 "$inputs/hello.txt")
rej sha256 "${h16:1}"                 # one short
rej sha256 "${h16}0"                  # one long
rej sha256 "g${h16:1}"                # not hex
rej sha256 "e${h32:1}"                # 'e' is not nix32
rej sha256 "z${h32:1}"                # high bits set (52 chars carry 260 bits)
rej md5 "z${m32:1}"                   # high bits set (26 chars carry 130 bits)
rej "" "$h16"                         # no algorithm anywhere
rej sha1 "sha256:$h16"                # algorithms disagree
rej "" "sha257:$h16"                  # unknown algorithm
rej "" "SHA256:$h16"                  # algorithm names are lower case
rej "" "sha256-$h16"                  # SRI must be base64
rej "" "sha256-"                      # empty SRI
rej "" "sha1-$(nix hash file --type sha256 --base64 "$inputs/hello.txt")"  # wrong size
rej "" "sha256:"                      # empty digest
rej "" ""                             # nothing

# ---------------------------------------------------------------- paths
OUT=paths
pathinfo() {
  local out; out=$(nix path-info "$@" --json | jq -c '.[0] | select(.valid != false)')
  [ -n "$out" ] && [ "$out" != null ] || { echo "no path info for $*" >&2; exit 1; }
  echo "$out"
}
addsrc() { # input name [store...]
  local src=$1 name=$2; shift 2
  local s=("$@"); [ ${#s[@]} -eq 0 ] && s=("${st[@]}")
  local dir=$work/named/$RANDOM$RANDOM
  mkdir -p "$dir"
  cp -a "$(srcOf "$src")" "$dir/$name"
  local p; p=$(nix-store "${s[@]}" --add "$dir/$name")
  local info; info=$(pathinfo "${s[@]}" "$p")
  local nar; nar=$(nix-hash --type sha256 "$dir/$name")
  emit --arg kind source --arg input "$src" --arg name "$name" --arg path "$p" --arg narHash "$nar" --argjson info "$info" \
    '{kind: $kind, input: $input, name: $name, method: "recursive", algo: "sha256", hash: $narHash, narHash: $narHash, path: $path, ca: $info.ca, references: [], selfReference: false}'
}
for f in "${files[@]}" "${trees[@]}"; do addsrc "$f" "$f"; done
# Names at the edges of validity (Nix 2.8 accepts all of these).
for n in a .hidden 'x?=+' '-' '_-.' 'A1+-._?=' "$(printf 'n%.0s' $(seq 211))" 'foo.tar.gz'; do addsrc hello.txt "$n"; done
# The same inputs in a store whose logical directory is /my/store.
for f in hello.txt tree; do addsrc "$f" "$f" --store "$alt"; done

for f in "${files[@]}" "${trees[@]}"; do
  p=$(srcOf "$f")
  methods=(recursive)
  [ -f "$p" ] && [ ! -L "$p" ] && methods=(flat recursive)
  for method in "${methods[@]}"; do
    r=(); fl=(--flat)
    [ $method = recursive ] && { r=(--recursive); fl=(); }
    for algo in md5 sha1 sha256 sha512; do
      for s in "${st[*]}" "--store $alt"; do
        read -ra sa <<< "$s"
        sp=$(nix-store "${sa[@]}" --add-fixed "${r[@]}" $algo "$p")
        h=$(nix-hash "${fl[@]}" --type $algo "$p")
        nar=$(nix-hash --type sha256 "$p")
        info=$(pathinfo "${sa[@]}" "$sp")
        emit --arg input "$f" --arg name "$(basename "$p")" --arg method $method --arg algo $algo --arg hash "$h" \
          --arg narHash "$nar" --arg path "$sp" --argjson info "$info" \
          '{kind: "fixed", input: $input, name: $name, method: $method, algo: $algo, hash: $hash, narHash: $narHash, path: $path, ca: $info.ca, references: [], selfReference: false}'
      done
    done
  done
done

# Text paths: builtins.toFile, with and without references, and a .drv.
cp "$inputs/hello.txt" "$work/hello.txt"
text() { # nix expression yielding a store path of a text file
  local p; p=$(nix-instantiate "${st[@]}" --read-write-mode --eval -E "$1" | jq -r .)
  [ -f "$root$p" ] || { echo "toFile did not write $p" >&2; exit 1; }
  local info; info=$(pathinfo "${st[@]}" "$p")
  local contents; contents=$(cat "$root$p"; printf x)
  emit --arg path "$p" --arg contents "${contents%x}" --argjson info "$info" \
    '{kind: "text", name: ($path | sub("^/nix/store/[^-]*-"; "")), path: $path, contents: $contents, ca: $info.ca,
      references: $info.references, selfReference: false}'
}
text 'builtins.toFile "foo" "bar"'
text 'builtins.toFile "empty" ""'
text 'builtins.toFile "unicode.txt" "héllo ☃\n"'
text "builtins.toFile \"withref\" \"uses \${$work/hello.txt} and \${builtins.toFile \"foo\" \"bar\"}\""
text "builtins.toFile \"tworefs\" \"\${builtins.toFile \"zzz\" \"1\"} \${builtins.toFile \"aaa\" \"2\"} \${$work/hello.txt}\""
drv=$(nix-instantiate "${st[@]}" -E "derivation { name = \"d\"; system = \"x86_64-linux\"; builder = \"/bin/sh\"; args = [ \"-c\" \"\${$work/hello.txt}\" ]; }")
info=$(pathinfo "${st[@]}" --derivation "$drv")
contents=$(cat "$root$drv")
emit --arg path "$drv" --arg contents "$contents" --argjson info "$info" \
  '{kind: "text", name: ($path | sub("^/nix/store/[^-]*-"; "")), path: $path, contents: $contents, ca: $info.ca,
    references: $info.references, selfReference: false}'

# A content-addressed path with a self reference and another reference:
# register a path that mentions itself, then let Nix rewrite it.
dep=$(nix-store "${st[@]}" --add "$inputs/hello.txt")
old=/nix/store/00000000000000000000000000000000-selfref
mkdir -p "$root/nix/store"
printf 'I am %s and I use %s\n' "$old" "$dep" > "$root$old"
printf '%s\n%s\n%s\n\n2\n%s\n%s\n' "$old" "$(nix-hash --type sha256 "$root$old")" \
  "$(nix-store --dump "$root$old" | wc -c)" "$old" "$dep" | nix-store "${st[@]}" --load-db
new=$(nix store make-content-addressed "${st[@]}" --json "$old" | jq -r --arg o "$old" '.rewrites[$o]')
info=$(pathinfo "${st[@]}" "$new")
emit --arg path "$new" --argjson info "$info" \
  '{kind: "selfref", name: "selfref", path: $path, ca: $info.ca,
    references: [$info.references[] | select(. != $path)], selfReference: true}'

# Names: which ones Nix 2.8 accepts as store path names (via builtins.toFile).
OUT=names
for n in a .hidden . .. .-x ..-x ...-x '.a' 'x?=+' 'a b' 'a/b' 'é' 'a:b' 'a@b' 'a~' '' \
         "$(printf 'n%.0s' $(seq 211))" "$(printf 'n%.0s' $(seq 212))"; do
  if p=$(nix-instantiate "${st[@]}" --eval -E "builtins.toFile \"$n\" \"x\"" 2>/dev/null); then ok=true; else ok=false; p=null; fi
  emit --arg name "$n" --argjson nix28 $ok --argjson path "$p" \
    '{name: $name, acceptedByNix28: $nix28, path: $path, contents: "x", references: []}'
done

# ---------------------------------------------------------------- assemble
jq -s '{generatedBy: "golden/core/generate.sh", nixVersion: $v,
        hashes: .[0], conversions: .[1], rejected: .[2]}' --arg v "$(nix --version)" \
  <(jq -s . "$J/hashes") <(jq -s . "$J/conversions") <(jq -s . "$J/rejected") > "$here/hashes.json"
jq -s '{generatedBy: "golden/core/generate.sh", nixVersion: $v, paths: .[0], names: .[1]}' --arg v "$(nix --version)" \
  <(jq -s . "$J/paths") <(jq -s . "$J/names") > "$here/paths.json"
echo "wrote $here/hashes.json $here/paths.json" >&2
