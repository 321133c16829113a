// `npm run bench -- nar [--runs N]`: NAR dump + sha256 throughput and peak RSS, tsnix vs Nix.
//
// Data (created once, cached in bench/.data/nar/ (git-ignored) or $NAR_BENCH_DATA):
//   tree/  ~500 MB in 10,000 files (100 directories, log-uniform sizes 1 B .. 4 MiB, some executables)
//   big    one 1 GiB file
// For each: `tsnix hash` vs `nix-hash --type sha256`, `tsnix --dump` vs `nix-store --dump` into
// sha256sum, into cat and into a file (whole commands), and narHashPath timed inside a node child.
// After a warm-up, N rounds (default 5) of all cases in turn, tsnix and Nix interleaved; medians.
import { spawnSync } from "node:child_process"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const dataDir = process.env.NAR_BENCH_DATA ?? path.join(here, ".data", "nar")
const treeDir = path.join(dataDir, "tree")
const bigFile = path.join(dataDir, "big")
const child = path.join(here, "_nar-child.mjs")
const runsArg = process.argv.indexOf("--runs")
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 5

const MiB = 1024 * 1024
const pattern = crypto.randomBytes(8 * MiB)

const makeTree = () => {
  if (fs.existsSync(path.join(treeDir, ".complete"))) return
  fs.rmSync(treeDir, { recursive: true, force: true })
  fs.mkdirSync(treeDir, { recursive: true })
  // log-uniform sizes, rescaled so the total is ~500 MB
  let seed = 12345
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  const raw = Array.from({ length: 10_000 }, () => Math.exp(rand() * Math.log(4 * MiB)))
  const scale = (500 * 1e6) / raw.reduce((a, b) => a + b, 0)
  let total = 0
  raw.forEach((r, i) => {
    const size = Math.min(Math.floor(r * scale), 8 * MiB - 1)
    const d = path.join(treeDir, `dir${String(i % 100).padStart(2, "0")}`)
    if (i < 100) fs.mkdirSync(d)
    const off = Math.floor(rand() * (pattern.length - size))
    const p = path.join(d, `file-${i}${i % 7 === 0 ? ".sh" : ".dat"}`)
    fs.writeFileSync(p, pattern.subarray(off, off + size))
    if (i % 7 === 0) fs.chmodSync(p, 0o755)
    total += size
  })
  fs.symlinkSync("dir00", path.join(treeDir, "link"))
  fs.writeFileSync(path.join(treeDir, ".complete"), String(total))
}

const makeBig = () => {
  if (fs.existsSync(bigFile) && fs.statSync(bigFile).size === 1024 * MiB) return
  const fd = fs.openSync(bigFile + ".tmp", "w")
  for (let i = 0; i < 128; i++) fs.writeSync(fd, pattern)
  fs.closeSync(fd)
  fs.renameSync(bigFile + ".tmp", bigFile)
}

const hasNix = spawnSync("nix-hash", ["--version"]).status === 0

/** Runs a command under /usr/bin/time -v: wall ms, stdout, stderr (without time's report), CPU ms (user+sys, children included), max RSS KiB. */
const timeV = (cmd, args) => {
  const t0 = performance.now()
  const r = spawnSync("/usr/bin/time", ["-v", cmd, ...args], { maxBuffer: 1 << 20, encoding: "utf8" })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`)
  const num = (re) => Number(re.exec(r.stderr)?.[1] ?? NaN)
  const cut = r.stderr.indexOf("\tCommand being timed")
  return {
    ms,
    cpuMs: (num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/)) * 1000,
    rssKiB: num(/Maximum resident set size \(kbytes\): (\d+)/),
    stdout: r.stdout.trim(),
    stderr: (cut >= 0 ? r.stderr.slice(0, cut) : r.stderr).trim()
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Runs every case once as a warm-up (page cache), then `runs` rounds of all cases in turn
 * (A B A B …: tsnix and Nix meet the same load); each case's median wall, CPU and RSS.
 */
const interleaved = (cases) => {
  for (const f of Object.values(cases)) f()
  const seen = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  for (let i = 0; i < runs; i++) for (const [k, f] of Object.entries(cases)) seen[k].push(f())
  return Object.fromEntries(
    Object.entries(seen).map(([k, rs]) => [k, {
      ...rs[0],
      ms: median(rs.map((r) => r.ms)),
      cpuMs: median(rs.map((r) => r.cpuMs)),
      rssKiB: Math.max(...rs.map((r) => r.rssKiB)),
      walls: rs.map((r) => r.ms)
    }])
  )
}

const results = []
const tsnix = path.join(here, "..", "bin", "tsnix")
const outFile = path.join(dataDir, "dump-out.nar")
const sh = (cmd) => () => timeV("bash", ["-c", `set -o pipefail; ${cmd}`])
const bench = (label, p) => {
  // Whole commands (process start-up included), as a user runs them, tsnix and Nix interleaved.
  const cases = {
    oursHash: () => timeV(tsnix, ["hash", p]),
    nixHash: hasNix ? () => timeV("nix-hash", ["--type", "sha256", p]) : undefined,
    oursCat: sh(`"${tsnix}" --dump "${p}" | cat > /dev/null`),
    nixCat: hasNix ? sh(`nix-store --dump "${p}" | cat > /dev/null`) : undefined,
    oursFile: sh(`"${tsnix}" --dump "${p}" > "${outFile}"`),
    nixFile: hasNix ? sh(`nix-store --dump "${p}" > "${outFile}"`) : undefined,
    oursPipe: sh(`"${tsnix}" --dump "${p}" | sha256sum`),
    nixPipe: hasNix ? sh(`nix-store --dump "${p}" | sha256sum`) : undefined,
    // The same hashing timed inside a node process (no start-up, no module loading).
    oursIn: () => {
      const r = timeV(process.execPath, [child, p])
      const j = JSON.parse(r.stdout)
      return { ...r, ms: j.ms, hash: j.hash, narSize: j.narSize }
    }
  }
  for (const k of Object.keys(cases)) if (cases[k] === undefined) delete cases[k]
  const row = { label, ...interleaved(cases) }
  fs.rmSync(outFile, { force: true })
  row.narSize = row.oursIn.narSize
  if (row.oursHash.stdout !== row.oursIn.hash) throw new Error("tsnix hash disagrees with narHashPath")
  if (row.oursPipe.stdout.split(" ")[0] !== row.oursIn.hash) {
    throw new Error("tsnix --dump | sha256sum disagrees with narHashPath")
  }
  if (hasNix) {
    if (row.nixHash.stdout !== row.oursIn.hash) {
      throw new Error(`hash mismatch on ${label}: nix ${row.nixHash.stdout} vs ours ${row.oursIn.hash}`)
    }
    if (row.nixPipe.stdout.split(" ")[0] !== row.oursIn.hash) throw new Error(`dump mismatch on ${label}`)
  }
  results.push(row)
}

console.error(`preparing data in ${dataDir} ...`)
fs.mkdirSync(dataDir, { recursive: true })
makeTree()
makeBig()
if (process.argv.includes("--prepare")) process.exit(0)
bench("tree: 10k files, ~500 MB", treeDir)
bench("one 1 GiB file", bigFile)

const mbps = (bytes, ms) => (bytes / 1e6 / (ms / 1000)).toFixed(0)
const cpu = (os.cpus()[0]?.model ?? "unknown").trim()
console.log(
  `NAR dump + sha256, median of ${runs} interleaved rounds (node ${process.version}, ${os.cpus().length} cores, ${cpu}, load average ${
    os.loadavg().map((l) => l.toFixed(1)).join(" ")
  } at the end)`
)
for (const r of results) {
  console.log(`\n${r.label} (NAR ${(r.narSize / 1e6).toFixed(1)} MB)`)
  console.log(
    `  ${"".padEnd(36)} ${"wall".padStart(7)} ${"MB/s".padStart(6)} ${"CPU".padStart(7)} ${"peak RSS".padStart(9)}`
  )
  const line = (name, x) =>
    console.log(
      `  ${name.padEnd(36)} ${(x.ms / 1000).toFixed(2).padStart(6)}s ${mbps(r.narSize, x.ms).padStart(6)} ${
        (x.cpuMs / 1000).toFixed(2).padStart(6)
      }s` +
        ` ${(x.rssKiB / 1024).toFixed(0).padStart(6)} MiB`
    )
  const pairs = [
    ["hash", "tsnix hash", "nix-hash --type sha256", r.oursHash, r.nixHash],
    ["dump|cat", "tsnix --dump | cat > /dev/null", "nix-store --dump | cat > /dev/null", r.oursCat, r.nixCat],
    ["dump>file", "tsnix --dump > file", "nix-store --dump > file", r.oursFile, r.nixFile],
    ["dump|sha256sum", "tsnix --dump | sha256sum", "nix-store --dump | sha256sum", r.oursPipe, r.nixPipe]
  ]
  for (const [, a, b, x, y] of pairs) {
    line(a, x)
    if (y) line(b, y)
  }
  console.log(
    `  narHashPath inside node (no start-up): ${(r.oursIn.ms / 1000).toFixed(2)}s, ${mbps(r.narSize, r.oursIn.ms)} MB/s`
  )
  if (r.nixHash) {
    console.log(
      `  time ratio tsnix/nix (wall, CPU): ${
        pairs.map(([k, , , x, y]) => `${k} ${(x.ms / y.ms).toFixed(2)}x, ${(x.cpuMs / y.cpuMs).toFixed(2)}x`).join("; ")
      }`
    )
  }
}
console.log(
  "\nwall: whole commands (bin/tsnix: node start-up and bundle loading included); CPU: user+sys, pipelines included;"
)
console.log(
  "peak RSS: /usr/bin/time's (for a pipeline, its largest process). 'inside node' is narHashPath's own timer in a node child."
)
if (!hasNix) console.log("\n(nix-hash not installed: no comparison)")
