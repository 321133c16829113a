#!/usr/bin/env node
// `npm run bench -- daemon [N]`: `nix path-info -r` of the root of a synthetic N-path store
// (bench/gen-store.mjs, loaded with --load-db into two chroot stores), over the socket of
// `tsnix daemon` and of Nix 2.8's nix-daemon: one client, then 8 at once; and the daemon's RSS.
// Needs nix-bin. Prints JSON.
import { execFileSync, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const tsnix = join(here, "../bin/tsnix")
const n = Number(process.argv[2] ?? "20000")
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

const pathInfo = (sock, root) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const c = spawn("nix", ["path-info", "-r", "--store", `unix://${sock}?root=${root}`, gen.root], {
      env,
      stdio: ["ignore", "pipe", "inherit"]
    })
    let lines = 0
    c.stdout.on("data", (b) => (lines += b.toString().split("\n").length - 1))
    c.on(
      "exit",
      (code) => (code === 0 ? resolve({ ms: performance.now() - t0, lines }) : reject(new Error(`nix exited ${code}`)))
    )
  })
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const one = async (sock, root) => {
  const ms = []
  let lines = 0
  for (let i = 0; i < 3; i++) {
    const r = await pathInfo(sock, root)
    ms.push(r.ms)
    lines = r.lines
  }
  return { ms: Math.round(median(ms)), lines }
}
const eight = async (sock, root) => {
  const t0 = performance.now()
  await Promise.all(Array.from({ length: 8 }, () => pathInfo(sock, root)))
  return Math.round(performance.now() - t0)
}
const rss = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return m === null ? undefined : Math.round(Number(m[1]) / 1024)
}
try {
  const tOne = await one(sa, A)
  const nOne = await one(sb, B)
  const tEight = await eight(sa, A)
  const nEight = await eight(sb, B)
  console.log(JSON.stringify(
    {
      paths: n,
      closure: tOne.lines,
      "path-info -r, 1 client (ms)": { tsnix: tOne.ms, nix: nOne.ms, ratio: +(tOne.ms / nOne.ms).toFixed(2) },
      "path-info -r, 8 clients (ms)": { tsnix: tEight, nix: nEight, ratio: +(tEight / nEight).toFixed(2) },
      "tsnix daemon RSS after (MiB)": rss(da.pid)
    },
    null,
    2
  ))
} finally {
  da.kill()
  db2.kill()
  rmSync(work, { recursive: true, force: true })
}
