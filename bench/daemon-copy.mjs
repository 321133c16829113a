#!/usr/bin/env node
// `npm run bench -- daemon-copy [MB] [FILES] [ROUNDS]`: Nix 2.8's `nix copy` of FILES paths
// (default 10, added with nix-store --add) of MB/FILES MiB of random bytes each (default 500 MB in
// all), (1) `--to unix://…` the socket of `tsnix daemon` and of nix-daemon (AddMultipleToStore),
// each into a fresh store; (2) `--from ssh-ng://localhost?remote-program=…` with tsnix's
// `daemon --stdio` and `nix-daemon --stdio` as the remote program, into a fresh local store
// (NarFromPath over stdin/stdout). Interleaved, ROUNDS (default 3) medians; wall and the CPU of the
// whole command tree (/usr/bin/time of the client; children reaped by it are included). Prints JSON.
import { execFileSync, spawn } from "node:child_process"
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const tsnix = join(here, "../bin/tsnix")
const mb = Number(process.argv[2] ?? "500")
const files = Number(process.argv[3] ?? "10")
const rounds = Number(process.argv[4] ?? "3")
const work = mkdtempSync(join(tmpdir(), "tsnix-bench-copy-"))
const NIX_CONFIG =
  "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ="
const env = { ...process.env, NIX_CONFIG }
const SRC = join(work, "src")
const all = []
for (let i = 0; i < files; i++) {
  const dir = join(work, `in-${i}`)
  execFileSync("mkdir", ["-p", dir])
  const fd = openSync(join(dir, "blob"), "w")
  const per = Math.round((mb * 1024 * 1024) / files)
  for (let off = 0; off < per; off += 1 << 20) writeSync(fd, randomBytes(Math.min(1 << 20, per - off)))
  closeSync(fd)
  all.push(execFileSync("nix-store", ["--store", SRC, "--add", dir], { env, encoding: "utf8" }).trim())
  rmSync(dir, { recursive: true, force: true })
}
const time = (args, extraEnv = {}) =>
  new Promise((resolve, reject) => {
    const tf = join(work, `t-${Math.random()}`)
    const t0 = performance.now()
    const c = spawn("/usr/bin/time", ["-f", "%U %S", "-o", tf, ...args], {
      env: { ...env, ...extraEnv },
      stdio: ["ignore", "ignore", "inherit"]
    })
    c.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${args.join(" ")} exited ${code}`))
      const [u, s] = readFileSync(tf, "utf8").trim().split(/\s+/).slice(-2).map(Number)
      resolve({ wall: performance.now() - t0, cpu: u + s })
    })
  })
const waitSock = (sock) => {
  const t0 = Date.now()
  while (!existsSync(sock) && Date.now() - t0 < 20000) execFileSync("sleep", ["0.05"])
}
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100
}
let n = 0
const copyTo = async (which) => {
  const root = join(work, `dst-${n++}`)
  const sock = `${root}.sock`
  const d = which === "tsnix"
    ? spawn(tsnix, ["--store", root, "daemon", "--socket", sock], { env, stdio: "ignore" })
    : spawn("nix-daemon", ["--store", root], { env: { ...env, NIX_DAEMON_SOCKET_PATH: sock }, stdio: "ignore" })
  waitSock(sock)
  const c0 = cpuOf(d.pid)
  const r = await time(["nix", "--store", SRC, "copy", "--to", `unix://${sock}?root=${root}`, ...all])
  // nix-daemon's per-connection child counts once reaped: give it a moment to exit.
  await new Promise((res) => setTimeout(res, 300))
  const daemon = cpuOf(d.pid) - c0
  d.kill()
  await new Promise((res) => d.once("exit", res))
  rmSync(root, { recursive: true, force: true })
  return { ...r, daemon }
}
const copyFrom = async (which) => {
  const root = join(work, `local-${n++}`)
  const prog = which === "tsnix" ? `${tsnix} --store ${SRC} daemon --stdio` : `nix-daemon --stdio --store ${SRC}`
  const uri = `ssh-ng://localhost?remote-program=${encodeURIComponent(prog)}`
  const r = await time(["nix", "--store", root, "copy", "--no-check-sigs", "--from", uri, ...all])
  rmSync(root, { recursive: true, force: true })
  return r
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const summary = (rs) => ({
  wallMs: Math.round(median(rs.map((r) => r.wall))),
  cpuS: +median(rs.map((r) => r.cpu)).toFixed(2),
  ...(rs[0].daemon === undefined ? {} : { daemonCpuS: +median(rs.map((r) => r.daemon)).toFixed(2) })
})
try {
  const load0 = loadavg()[0]
  const to = { tsnix: [], nix: [] }
  const from = { tsnix: [], nix: [] }
  for (let i = 0; i < rounds; i++) {
    to.tsnix.push(await copyTo("tsnix"))
    to.nix.push(await copyTo("nix"))
    from.tsnix.push(await copyFrom("tsnix"))
    from.nix.push(await copyFrom("nix"))
  }
  const t = summary(to.tsnix)
  const x = summary(to.nix)
  const ft = summary(from.tsnix)
  const fx = summary(from.nix)
  console.log(JSON.stringify(
    {
      mb,
      files,
      rounds,
      "load average (start, end)": [+load0.toFixed(1), +loadavg()[0].toFixed(1)],
      "nix copy --to unix:// (AddMultipleToStore)": { tsnix: t, nix: x, wallRatio: +(t.wallMs / x.wallMs).toFixed(2) },
      "nix copy --from ssh-ng://localhost (NarFromPath over --stdio)": {
        tsnix: { ...ft, "MB/s": +(mb / (ft.wallMs / 1000)).toFixed(1) },
        nix: { ...fx, "MB/s": +(mb / (fx.wallMs / 1000)).toFixed(1) },
        wallRatio: +(ft.wallMs / fx.wallMs).toFixed(2)
      }
    },
    null,
    2
  ))
} finally {
  rmSync(work, { recursive: true, force: true })
}
