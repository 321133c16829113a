#!/usr/bin/env bash
# Records byte-level captures of Nix 2.8 clients BUILDING through Nix 2.8's nix-daemon
# on a chroot store (so Nix builds sandboxed), with the .drv files and busybox of
# golden/build/chroot (through the logging proxy of shared/tools/wire/mitm.py,
# re-implemented inline below so the script stands alone). Run from anywhere:
#   bash golden/daemon-build/generate.sh
# For each client command (one connection each, in order, on one chroot store
# that starts empty) it writes nix/NN-NAME.c2d.hex (every byte the client sent)
# and nix/NN-NAME.d2c.hex (every byte the daemon answered), hex, 64 bytes a
# line, plus nix/NN-NAME.cmd (the command). test/daemon/build-replay.test.ts
# replays the client bytes against tsnix's daemon and compares what is
# deterministic: the actBuild activities, build log lines, log messages, errors.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
export NIX_CONFIG=$'experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ='
WORK="$(mktemp -d)"
R="$WORK/root"
OUT="$HERE/nix"
rm -rf "$OUT"; mkdir -p "$OUT" "$R"
cleanup() { kill "${DPID:-}" "${MPID:-}" 2>/dev/null || true; chmod -R u+w "$WORK"; rm -rf "$WORK"; }
trap cleanup EXIT
NIX_DAEMON_SOCKET_PATH="$WORK/daemon.sock" nix-daemon --store "$R" >"$WORK/daemon.log" 2>&1 &
DPID=$!
cat > "$WORK/mitm.py" <<'PY'
import socket, sys, os, threading
listen, target, logdir = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); srv.bind(listen); srv.listen(4)
n = 0
def pump(a, b, path):
    with open(path, "wb") as log:
        while True:
            try: d = a.recv(65536)
            except OSError: d = b''
            if not d:
                try: b.shutdown(socket.SHUT_WR)
                except OSError: pass
                return
            log.write(d); log.flush(); b.sendall(d)
while True:
    c, _ = srv.accept(); n += 1
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(target)
    threading.Thread(target=pump, args=(c, s, f"{logdir}/{n}.c2d"), daemon=True).start()
    threading.Thread(target=pump, args=(s, c, f"{logdir}/{n}.d2c"), daemon=True).start()
PY
for i in $(seq 100); do [ -S "$WORK/daemon.sock" ] && break; sleep 0.1; done
mkdir -p "$WORK/logs"
python3 "$WORK/mitm.py" "$WORK/proxy.sock" "$WORK/daemon.sock" "$WORK/logs" &
MPID=$!
for i in $(seq 100); do [ -S "$WORK/proxy.sock" ] && break; sleep 0.1; done
S="unix://$WORK/proxy.sock?root=$R"

cd "$WORK"
G="$HERE/../build/chroot"
mkdir -p bb; cp /usr/bin/busybox bb/busybox; chmod 755 bb/busybox
[ "$(sha256sum /usr/bin/busybox | cut -d' ' -f1)" = "$(cat "$HERE/../build/busybox.sha256")" ] || { echo "not the goldens' busybox" >&2; exit 1; }
drv() { grep "^$1 " "$G/cases.txt" | cut -d' ' -f2; }
conns=0
n=0
cap() { # NAME CMD...: one capture per connection the command opens
  local name=$1; shift
  n=$((n + 1))
  local id; id=$(printf '%02d' $n)
  "$@" >/dev/null 2>&1 || true
  sleep 0.3
  local total; total=$(ls "$WORK/logs" | grep -c 'c2d$' || true)
  if [ "$total" -eq "$conns" ]; then echo "no connection for $name" >&2; exit 1; fi
  if [ "$total" -ne $((conns + 1)) ]; then echo "more than one connection for $name" >&2; exit 1; fi
  conns=$total
  for f in c2d d2c; do
    od -An -v -tx1 "$WORK/logs/$conns.$f" | tr -d ' \n' | fold -w 128 > "$OUT/$id-$name.$f.hex"; echo >> "$OUT/$id-$name.$f.hex"
  done
  printf '%s\n' "$*" | sed "s#$WORK#WORK#g" > "$OUT/$id-$name.cmd"
}
cap add-bb nix-store --store "$S" --add bb
cap import-drvs sh -c "nix-store --store '$S' --import < '$G/drvs.export'"
cap realise-simple nix-store --store "$S" -r "$(drv simple)"
cap realise-simple-again nix-store --store "$S" -r "$(drv simple)"
cap realise-fail nix-store --store "$S" -r "$(drv fail)"
cap realise-fodBad nix-store --store "$S" -r "$(drv fodBad)"
cap check-simple nix-store --store "$S" -r --check "$(drv simple)"
cap build-multi nix build --store "$S" --no-link "$(drv multi)"
ls "$OUT" | wc -l
