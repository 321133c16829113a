#!/usr/bin/env node
// `npm run bench -- cache [MB] [RUNS]`: binary caches (issue 15).
// 1. `tsnix copy --to file://…?compression=zstd` and `--from` of a set of store paths of ~MB MB in all
//    (default 500: 10 paths, each a directory of one big base64 text file, which zstd compresses to ~3/4,
//    and 200 small files), against `nix copy` on the same paths, in the same run, interleaved
//    (tsnix, nix, tsnix, nix …, RUNS rounds, default 5): median wall and CPU (user+sys, /usr/bin/time).
//    Both copy from one chroot store (tsnix reads Nix's stores); `--from` reads the cache Nix wrote, into
//    a fresh store each time.
// 2. `tsnix serve` of that store: narinfo requests/s and NAR throughput (MB/s, uncompressed and zstd),
//    with 1 and with 16 concurrent clients (a load generator in a child process, kept-alive connections).
// Needs nix-bin for part 1 (without it, only tsnix is measured). Prints a table (markdown) and JSON.
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const tsnix = join(here, "../bin/tsnix")
const totalMB = Number(process.argv[2] ?? "500")
const runs = Number(process.argv[3] ?? "5")
const PATHS = 10
const NIX_CONFIG =
  "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ="
const env = { ...process.env, NIX_CONFIG }
const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const work = mkdtempSync(join(tmpdir(), "tsnix-bench-cache-"))
const R = join(work, "root")
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const timed = (cmd, args) => {
  const t = performance.now()
  const r = spawnSync("/usr/bin/time", ["-f", "__TIME__ %U %S %M", cmd, ...args], { env, encoding: "utf8" })
  const secs = (performance.now() - t) / 1000
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`)
  const m = /__TIME__ ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr)
  return { secs, cpu: Number(m[1]) + Number(m[2]), rssMB: Number(m[3]) / 1024 }
}

// the paths
const src = join(work, "src")
const perPath = Math.floor((totalMB * 1024 * 1024) / PATHS)
const paths = []
for (let i = 0; i < PATHS; i++) {
  const dir = join(src, `p${i}`)
  mkdirSync(join(dir, "small"), { recursive: true })
  writeFileSync(join(dir, "big.txt"), randomBytes(Math.floor((perPath * 3) / 4)).toString("base64"))
  for (let j = 0; j < 200; j++) writeFileSync(join(dir, "small", `f${j}`), `file ${i} ${j}\n`.repeat(20))
  const add = hasNix
    ? ["nix-store", ["--store", R, "--add", dir]]
    : [process.execPath, [tsnix, "--store", R, "--add", dir]]
  paths.push(execFileSync(add[0], add[1], { env, encoding: "utf8" }).trim())
}
rmSync(src, { recursive: true, force: true })

const rows = {}
const record = (name, r) => (rows[name] ??= []).push(r)
const cache = (name) => `file://${join(work, name)}?compression=zstd`
try {
  for (let i = 0; i < runs; i++) {
    rmSync(join(work, "ct"), { recursive: true, force: true })
    record("copy --to (tsnix)", timed(process.execPath, [tsnix, "--store", R, "copy", "--to", cache("ct"), ...paths]))
    if (hasNix) {
      rmSync(join(work, "cn"), { recursive: true, force: true })
      record("copy --to (nix)", timed("nix", ["--store", R, "copy", "--to", cache("cn"), ...paths]))
    }
    const from = cache(hasNix ? "cn" : "ct").replace("?compression=zstd", "")
    rmSync(join(work, "dt"), { recursive: true, force: true })
    record(
      "copy --from (tsnix)",
      timed(process.execPath, [tsnix, "--store", join(work, "dt"), "copy", "--no-check-sigs", "--from", from, ...paths])
    )
    if (hasNix) {
      rmSync(join(work, "dn"), { recursive: true, force: true })
      record(
        "copy --from (nix)",
        timed("nix", ["--store", join(work, "dn"), "copy", "--no-check-sigs", "--from", from, ...paths])
      )
    }
  }
  for (const d of ["dt", "dn"]) {
    if (existsSync(join(work, d))) execFileSync("chmod", ["-R", "u+w", join(work, d)])
    rmSync(join(work, d), { recursive: true, force: true })
  }

  // serve
  const server = spawn(process.execPath, [tsnix, "--store", R, "serve", "--listen", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "ignore", "pipe"]
  })
  const port = await new Promise((resolve, reject) => {
    let err = ""
    server.stderr.on("data", (d) => {
      err += d
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err)
      if (m) resolve(Number(m[1]))
    })
    server.on("exit", () => reject(new Error(`tsnix serve exited: ${err}`)))
  })
  const hashes = paths.map((p) => p.slice(p.lastIndexOf("/") + 1, p.lastIndexOf("/") + 33))
  const get = (agent, target) =>
    new Promise((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path: target, agent }, (res) => {
        let n = 0
        res.on("data", (d) => void (n += d.length))
        res.on("end", () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`${target}: ${res.statusCode}`))))
      }).on("error", reject)
    })
  const load = async (clients, targetsFor) => {
    const t = performance.now()
    let bytes = 0
    let requests = 0
    await Promise.all(Array.from({ length: clients }, async (_, c) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
      for (const target of targetsFor(c)) {
        const n = await get(agent, target)
        bytes += n
        requests++
      }
      agent.destroy()
    }))
    const secs = (performance.now() - t) / 1000
    return { secs, requests, bytes }
  }
  const serveRows = []
  for (const clients of [1, 16]) {
    const n = 2000
    const r = await load(
      clients,
      (c) => Array.from({ length: Math.ceil(n / clients) }, (_, i) => `/${hashes[(c + i) % PATHS]}.narinfo`)
    )
    serveRows.push([`narinfo, ${clients} client(s)`, `${Math.round(r.requests / r.secs)} requests/s`])
    for (const ext of ["", ".zst"]) {
      const r2 = await load(
        clients,
        (c) =>
          Array.from(
            { length: Math.max(1, Math.floor(PATHS / clients)) },
            (_, i) => `/nar/${hashes[(c + i) % PATHS]}.nar${ext}`
          )
      )
      serveRows.push([
        `NAR${ext === "" ? "" : " zstd"}, ${clients} client(s)`,
        `${(r2.bytes / 1048576 / r2.secs).toFixed(0)} MB/s (${(r2.bytes / 1048576).toFixed(0)} MB in ${
          r2.secs.toFixed(1)
        } s)`
      ])
    }
  }
  server.kill()

  const f = (x) => x.toFixed(2)
  console.log(
    `\n${PATHS} paths, ${totalMB} MB in all, ${runs} rounds, load: ${
      execFileSync("uptime", { encoding: "utf8" }).trim()
    }\n`
  )
  console.log("| operation | wall s (median) | CPU s (median) | peak RSS MB |")
  console.log("|---|---|---|---|")
  const summary = {}
  for (const [name, rs] of Object.entries(rows)) {
    const m = {
      secs: median(rs.map((r) => r.secs)),
      cpu: median(rs.map((r) => r.cpu)),
      rssMB: Math.max(...rs.map((r) => r.rssMB))
    }
    summary[name] = m
    console.log(`| ${name} | ${f(m.secs)} | ${f(m.cpu)} | ${m.rssMB.toFixed(0)} |`)
  }
  for (const op of ["copy --to", "copy --from"]) {
    const a = summary[`${op} (tsnix)`]
    const b = summary[`${op} (nix)`]
    if (a && b) console.log(`| ${op}: tsnix / nix | ${f(a.secs / b.secs)}× | ${f(a.cpu / b.cpu)}× | |`)
  }
  console.log("\n| tsnix serve | figure |\n|---|---|")
  for (const [k, v] of serveRows) console.log(`| ${k} | ${v} |`)
  console.log(JSON.stringify({ totalMB, runs, summary, serve: Object.fromEntries(serveRows) }))
} finally {
  execFileSync("chmod", ["-R", "u+w", work])
  rmSync(work, { recursive: true, force: true })
}
