#!/usr/bin/env node
// `npm run bench -- daemon [N] [ROUNDS] [ROUNDS8] [CLIENTS16]`: `nix path-info -r` of the root of a synthetic
// N-path store (default 100000: bench/gen-store.mjs, loaded with --load-db into two chroot stores;
// the root's closure is ~97k paths), over the socket of `tsnix daemon` and of Nix 2.8's nix-daemon:
// one client (ROUNDS, default 5, interleaved tsnix/nix), then 8 clients at once (ROUNDS8, default 3,
// interleaved), then CLIENTS16 (default 16) clients at once on tsnix's daemon alone for its peak RSS
// (0 skips a part). Reports medians of
// wall time, the clients' CPU (user+sys, from /usr/bin/time) and the daemon's CPU (from /proc, its
// forked children included for nix-daemon). Needs nix-bin. Prints JSON.
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const tsnix = join(here, "../bin/tsnix")
const n = Number(process.argv[2] ?? "100000")
const rounds = Number(process.argv[3] ?? "5")
const rounds8 = Number(process.argv[4] ?? "3")
const clients16 = Number(process.argv[5] ?? "16")
const work = mkdtempSync(join(tmpdir(), "tsnix-bench-daemon-"))
const NIX_CONFIG =
  "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ="
const env = { ...process.env, NIX_CONFIG }
const genFile = join(work, "db.txt")
const gen = JSON.parse(
  execFileSync(process.execPath, [join(here, "gen-store.mjs"), genFile, String(n)], { encoding: "utf8" })
)
const db = readFileSync(genFile)
const A = join(work, "a")
const B = join(work, "b")
execFileSync(tsnix, ["--store", A, "--load-db"], { input: db, env })
execFileSync("nix-store", ["--store", B, "--load-db"], { input: db, env })

const start = (cmd, args, extraEnv, sock) => {
  const child = spawn(cmd, args, { env: { ...env, ...extraEnv }, stdio: "ignore" })
  const t0 = Date.now()
  while (!existsSync(sock) && Date.now() - t0 < 20000) execFileSync("sleep", ["0.05"])
  return child
}
const sa = join(work, "a.sock")
const sb = join(work, "b.sock")
const da = start(tsnix, ["--store", A, "daemon", "--socket", sa], {}, sa)
const db2 = start("nix-daemon", ["--store", B], { NIX_DAEMON_SOCKET_PATH: sb }, sb)
const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
/** CPU seconds of a process and its reaped children (utime, stime, cutime, cstime). */
const cpuOf = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticks
}

let seq = 0
const pathInfo = (sock, root) =>
  new Promise((resolve, reject) => {
    const timeFile = join(work, `time-${seq++}`)
    const c = spawn(
      "/usr/bin/time",
      ["-f", "%U %S", "-o", timeFile, "nix", "path-info", "-r", "--store", `unix://${sock}?root=${root}`, gen.root],
      { env, stdio: ["ignore", "pipe", "inherit"] }
    )
    let lines = 0
    c.stdout.on("data", (b) => (lines += b.toString().split("\n").length - 1))
    c.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`nix exited ${code}`))
      const [u, s] = readFileSync(timeFile, "utf8").trim().split(/\s+/).slice(-2).map(Number)
      resolve({ cpu: u + s, lines })
    })
  })
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]
/** `clients` concurrent path-info runs against one daemon: wall ms, clients' CPU s, daemon CPU s. */
const once = async (sock, root, pid, clients) => {
  const c0 = cpuOf(pid)
  const t0 = performance.now()
  const rs = await Promise.all(Array.from({ length: clients }, () => pathInfo(sock, root)))
  return {
    wall: performance.now() - t0,
    client: rs.reduce((a, r) => a + r.cpu, 0),
    daemon: cpuOf(pid) - c0,
    lines: rs[0].lines
  }
}
const compare = async (clients, k) => {
  const t = []
  const x = []
  for (let i = 0; i < k; i++) {
    t.push(await once(sa, A, da.pid, clients))
    x.push(await once(sb, B, db2.pid, clients))
  }
  const m = (rs, f) => median(rs.map(f))
  const row = (rs) => ({
    wallMs: Math.round(m(rs, (r) => r.wall)),
    clientCpuS: +m(rs, (r) => r.client).toFixed(2),
    daemonCpuS: +m(rs, (r) => r.daemon).toFixed(2)
  })
  const tr = row(t)
  const xr = row(x)
  return {
    rounds: k,
    closure: t[0].lines,
    tsnix: tr,
    nix: xr,
    wallRatio: +(tr.wallMs / xr.wallMs).toFixed(2),
    daemonCpuRatio: +(tr.daemonCpuS / xr.daemonCpuS).toFixed(2),
    allCpuRatio: +((tr.clientCpuS + tr.daemonCpuS) / (xr.clientCpuS + xr.daemonCpuS)).toFixed(2),
    walls: { tsnix: t.map((r) => Math.round(r.wall)), nix: x.map((r) => Math.round(r.wall)) }
  }
}
const status = (pid, key) => {
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return m === null ? undefined : Math.round(Number(m[1]) / 1024)
}
try {
  const load0 = loadavg()[0]
  const one = rounds > 0 ? await compare(1, rounds) : undefined
  if (one !== undefined) console.error(JSON.stringify(one))
  const eight = rounds8 > 0 ? await compare(8, rounds8) : undefined
  if (eight !== undefined) console.error(JSON.stringify(eight))
  const r16 = clients16 > 0 ? await once(sa, A, da.pid, clients16) : undefined
  console.log(JSON.stringify(
    {
      paths: n,
      "load average (start, end)": [+load0.toFixed(1), +loadavg()[0].toFixed(1)],
      "path-info -r, 1 client": one,
      "path-info -r, 8 clients": eight,
      [`${clients16} clients on tsnix daemon`]: r16 && {
        wallMs: Math.round(r16.wall),
        daemonCpuS: +r16.daemon.toFixed(2)
      },
      "tsnix daemon peak RSS (VmHWM, MiB)": status(da.pid, "VmHWM")
    },
    null,
    2
  ))
} finally {
  da.kill()
  db2.kill()
  rmSync(work, { recursive: true, force: true })
}
