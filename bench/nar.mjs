// `npm run bench -- nar [--runs N]`: NAR dump + sha256 throughput and peak RSS, tsnix vs Nix.
//
// Data (created once, cached in bench/.data/nar/ (git-ignored) or $NAR_BENCH_DATA):
//   tree/  ~500 MB in 10,000 files (100 directories, log-uniform sizes 1 B .. 4 MiB, some executables)
//   big    one 1 GiB file
// For each: `tsnix hash` vs `nix-hash --type sha256`, `tsnix --dump` vs `nix-store --dump` into
// sha256sum and into cat (whole commands), and narHashPath timed inside a node child. Best of N runs
// (default 3) after a warm-up.
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
const runs = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 3

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

const best = (f) => {
  f() // warm-up (page cache)
  let b
  for (let i = 0; i < runs; i++) {
    const r = f()
    if (b === undefined || r.ms < b.ms) b = r
  }
  return b
}

const results = []
const tsnix = path.join(here, "..", "bin", "tsnix")
const bench = (label, p) => {
  // Whole commands (process start-up included), as a user runs them.
  const oursHash = best(() => timeV(tsnix, ["hash", p]))
  // The same hashing timed inside a node process (no start-up, no module loading).
  const oursIn = best(() => {
    const r = timeV(process.execPath, [child, p])
    const j = JSON.parse(r.stdout)
    return { ...r, ms: j.ms, hash: j.hash, narSize: j.narSize }
  })
  const oursPipe = best(() => timeV("bash", ["-c", `set -o pipefail; "${tsnix}" --dump "${p}" | sha256sum`]))
  const oursCat = best(() => timeV("bash", ["-c", `set -o pipefail; "${tsnix}" --dump "${p}" | cat > /dev/null`]))
  if (oursHash.stdout !== oursIn.hash) throw new Error("tsnix hash disagrees with narHashPath")
  if (oursPipe.stdout.split(" ")[0] !== oursIn.hash) {
    throw new Error("tsnix --dump | sha256sum disagrees with narHashPath")
  }
  const row = { label, narSize: oursIn.narSize, oursHash, oursIn, oursPipe, oursCat }
  if (hasNix) {
    row.nixHash = best(() => timeV("nix-hash", ["--type", "sha256", p]))
    row.nixPipe = best(() => timeV("bash", ["-c", `set -o pipefail; nix-store --dump "${p}" | sha256sum`]))
    row.nixCat = best(() => timeV("bash", ["-c", `set -o pipefail; nix-store --dump "${p}" | cat > /dev/null`]))
    if (row.nixHash.stdout !== oursIn.hash) {
      throw new Error(`hash mismatch on ${label}: nix ${row.nixHash.stdout} vs ours ${oursIn.hash}`)
    }
    if (row.nixPipe.stdout.split(" ")[0] !== oursIn.hash) throw new Error(`dump mismatch on ${label}`)
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
const load = os.loadavg()[0].toFixed(1)
console.log(
  `NAR dump + sha256, best of ${runs} runs by wall time (node ${process.version}, ${os.cpus().length} cores, ${cpu}, load average ${load})`
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
  line("tsnix hash", r.oursHash)
  if (r.nixHash) line("nix-hash --type sha256", r.nixHash)
  line("tsnix --dump | sha256sum", r.oursPipe)
  if (r.nixPipe) line("nix-store --dump | sha256sum", r.nixPipe)
  line("tsnix --dump | cat > /dev/null", r.oursCat)
  if (r.nixCat) line("nix-store --dump | cat > /dev/null", r.nixCat)
  console.log(
    `  narHashPath inside node (no start-up): ${(r.oursIn.ms / 1000).toFixed(2)}s, ${mbps(r.narSize, r.oursIn.ms)} MB/s`
  )
  if (r.nixHash) {
    const ratio = (nix, ours) => (nix.ms / ours.ms).toFixed(2)
    console.log(
      `  throughput ratio tsnix/nix: hash ${ratio(r.nixHash, r.oursHash)}x (narHashPath inside node ${
        ratio(r.nixHash, r.oursIn)
      }x),` +
        ` dump|sha256sum ${ratio(r.nixPipe, r.oursPipe)}x, dump|cat ${ratio(r.nixCat, r.oursCat)}x`
    )
  }
}
console.log(
  "\nwall: whole commands (bin/tsnix: node start-up and bundle loading included, ~0.2 s here); CPU: user+sys, pipelines included;"
)
console.log(
  "peak RSS: /usr/bin/time's (for a pipeline, its largest process). 'inside node' is narHashPath's own timer in a node child."
)
if (!hasNix) console.log("\n(nix-hash not installed: no comparison)")
