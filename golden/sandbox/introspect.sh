# Run by busybox sh inside the build sandbox; prints what a build can see of its sandbox.
# $B is the static busybox (the builder). mode=record: what differs by construction (mount table,
# seccomp), kept for the record and not compared; otherwise what must be identical goes to $out.
B=$builder
if [ "$mode" = record ]; then
  { $B cat /proc/self/mounts; $B grep -E '^(Seccomp|NoNewPrivs|CapEff)' /proc/self/status; } > $out
  exit 0
fi
# mode=fod: a fixed-output build (host network, resolver files); its output cannot name $out.
if [ "$mode" = fod ]; then
  {
    # (no store path may appear: a fixed output has no references)
    echo "== env"; $B env | $B grep -v -e /nix/store/ -e ^outputHash= | $B sort
    echo "== id"; $B id
    echo "== hostname"; $B hostname
    echo "== ls /"; $B ls -1A /
    echo "== ls /etc"; $B ls -1A /etc
    echo "== /etc/nsswitch.conf"; $B cat /etc/nsswitch.conf
    echo "== ls /dev"; $B ls -1A /dev
    echo "== ls /nix/store | wc -l"; $B ls -1A /nix/store | $B wc -l
    echo "== loopback only"; [ "$($B cat /proc/net/dev | $B tail -n +3 | $B wc -l)" = 1 ] && echo yes || echo no
    echo "== resolv.conf readable"; [ -r /etc/resolv.conf ] && echo yes || echo no
  } > $out 2>&1
  exit 0
fi
# mode=paths: sandbox-paths (/bin/sh is the builder itself, from the store; an optional missing one).
if [ "$mode" = paths ]; then
  # (the builder is /bin/sh: applets run by name, busybox's standalone shell)
  {
    echo "== ls /"; ls -1A /
    echo "== ls /bin"; ls -1A /bin
    echo "== ls /nix/store"; ls -1A /nix/store | sed -e "s|$(basename $out)|OUT|"
    echo "== /bin/sh"; stat -c '%F %a %s' /bin/sh
    echo "== builder"; echo $builder
  } > $out 2>&1
  exit 0
fi
{
  echo "== env"; $B env | $B sort
  echo "== id"; $B id
  echo "== status"; $B grep -E '^(Uid|Gid|Groups):' /proc/self/status
  echo "== pid"; echo $$
  echo "== hostname"; $B hostname; $B cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname
  echo "== cwd"; $B pwd
  echo "== umask"; umask
  echo "== ulimit -c"; ulimit -c
  echo "== /etc/passwd"; $B cat /etc/passwd
  echo "== /etc/group"; $B cat /etc/group
  echo "== /etc/hosts"; $B cat /etc/hosts
  echo "== ls /"; $B ls -1A /
  echo "== ls /etc"; $B ls -1A /etc
  echo "== ls /dev"; $B ls -1A /dev
  echo "== ls /nix/store"; $B ls -1A /nix/store | $B sed -e "s|$($B basename $out)|OUT|"
  echo "== ls /build"; $B ls -1A /build
  echo "== ls /tmp"; $B ls -1A /tmp
  echo "== modes"
  for f in / /build /dev /etc /etc/* /nix /nix/store /proc /tmp /dev/*; do
    $B stat -c '%n %F %a %U %G' "$f"
  done | $B sed -e 's|^\(/dev/pts directory [0-7]*\) .*|\1 (owner: see docs/INTEROP.md)|'
  echo "== links"; for f in /dev/*; do [ -L "$f" ] && echo "$f -> $($B readlink "$f")"; done
  echo "== devices"; for f in /dev/*; do [ -c "$f" ] && $B stat -c '%n %t:%T' "$f"; done
  echo "== network"; $B cat /proc/net/dev | $B tail -n +3 | $B cut -d: -f1 | $B tr -d ' '
  echo "== files"; echo x > /tmp/t && $B cat /tmp/t && echo y > /build/t && $B cat /build/t && $B rm /tmp/t /build/t
  echo "== input read-only"; if (echo x > $B.w) 2>/dev/null; then echo writable; else echo read-only; fi
} > $out 2>&1
