// Garbage-collector benchmark: `--gc --print-dead` and `--gc` (deleting ~half of a
// 100k-path store) with tsnix and nix-store on the same on-disk store, in the same run.
//
// The store is built once and cached under $GC_BENCH_DATA (default bench/.data/gc, git-ignored):
//   - bench/gen-store.mjs writes the load-db text (random DAG, ~4 references per path);
//   - every path becomes a small regular file (its contents: the base name and a newline),
//     mode 0444 and mtime 1 as in a canonical store; the load-db text is then rewritten with
//     the files' real NAR hash and size (gen-store's are random), so the store also passes
//     `--verify --check-contents` (the GC itself never looks at hashes);
//   - the text is loaded into ROOT/ours with `tsnix --load-db` and into ROOT/nix with
//     `nix-store --load-db` (when nix-store is installed);
//   - one GC root, ROOT/nix/var/nix/gcroots/bench-root, points to the path whose closure is
//     closest to half of the store, so about half of the paths are dead.
// Each run copies the prepared stores (`cp -a`), runs `--gc --print-dead` then `--gc` on the
// copies, for tsnix then nix-store, and checks both print the same dead set, delete the same
// paths and leave the same valid paths and store directory (whether the `deleting '…'` lines come in
// the same order is reported too).
//
// Usage: npm run bench -- gc [--paths N] [--runs R] [--rebuild] [--cpu-prof DIR] [--no-nix]
import { execFileSync, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync
} from "node:fs"
import { createRequire } from "node:module"
import { cpus, loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { concatBytes, MAGIC_BYTES, str } from "../dist/core/nar/encode.js"
import { checkTargets } from "./_targets.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : dflt
}
const n = Number(opt("--paths", "100000"))
const runs = Number(opt("--runs", "1"))
const cpuProf = opt("--cpu-prof", undefined)
const dataDir = process.env.GC_BENCH_DATA ?? join(here, ".data", "gc")
const tsnixMain = join(here, "..", "bin", "tsnix")
const nixEnv = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group ="
}
const hasNix = !args.includes("--no-nix") && spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const hasTime = existsSync("/usr/bin/time")
const storeDir = "/nix/store"

/** Runs a command; wall seconds, CPU seconds and peak RSS (MB) via /usr/bin/time; stdout/stderr. */
const timed = (cmd, cmdArgs, { input, env } = {}) => {
  const full = hasTime ? ["/usr/bin/time", ["-f", "__TIME__ %e %M %U %S", cmd, ...cmdArgs]] : [cmd, cmdArgs]
  const t = performance.now()
  const r = spawnSync(full[0], full[1], { input, env: env ?? process.env, maxBuffer: 1 << 30, encoding: "utf8" })
  const secs = (performance.now() - t) / 1000
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`)
  const m = /__TIME__ ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr)
  return {
    secs,
    rssMB: m ? Number(m[2]) / 1024 : undefined,
    cpuSecs: m ? Number(m[3]) + Number(m[4]) : undefined,
    stdout: r.stdout,
    stderr: r.stderr
  }
}
let profCount = 0
const tsnix = (root, cliArgs, opts) => {
  const prof = cpuProf === undefined
    ? []
    : ["--cpu-prof", "--cpu-prof-dir", cpuProf, "--cpu-prof-name", `gc-${++profCount}-${cliArgs.join("")}.cpuprofile`]
  return timed(process.execPath, [...prof, tsnixMain, "--store", root, ...cliArgs], opts)
}
const nixStore = (root, cliArgs, opts) => timed("nix-store", ["--store", root, ...cliArgs], { ...opts, env: nixEnv })
const sortedLines = (s) => s.split("\n").filter((l) => l !== "").sort()
const fmt = (x, d = 2) => (x === undefined ? "-" : x.toFixed(d))
const ratio = (a, b) => (a !== undefined && b !== undefined ? (a / b).toFixed(3) : "-")

/** Parses load-db text into records {path, hash, size, deriver, refs}. */
const parseLoadDb = (text) => {
  const lines = text.split("\n")
  const out = []
  for (let i = 0; i + 4 < lines.length && lines[i] !== "";) {
    const path = lines[i++], hash = lines[i++], size = lines[i++], deriver = lines[i++]
    const count = Number(lines[i++])
    const refs = lines.slice(i, i + count)
    i += count
    out.push({ path, hash, size, deriver, refs })
  }
  return out
}

/** The NAR of a regular (non-executable) file with `contents`. */
const narOfFile = (contents) =>
  concatBytes([MAGIC_BYTES, str("("), str("type"), str("regular"), str("contents"), str(contents), str(")")])

/** Closure sizes: picks the path whose closure size is closest to half of the store. */
const pickHalfRoot = (records) => {
  const index = new Map(records.map((r, i) => [r.path, i]))
  const refs = records.map((r) => r.refs.map((p) => index.get(p)))
  const mark = new Int32Array(records.length).fill(-1)
  const closureSize = (start, stamp) => {
    const stack = [start]
    mark[start] = stamp
    let size = 0
    while (stack.length > 0) {
      const i = stack.pop()
      size++
      for (const j of refs[i]) {
        if (mark[j] !== stamp) {
          mark[j] = stamp
          stack.push(j)
        }
      }
    }
    return size
  }
  // Closures grow with the index (references point to earlier paths): binary search, then look around.
  const target = records.length / 2
  let lo = 0, hi = records.length - 2, stamp = 0
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (closureSize(mid, stamp++) < target) lo = mid + 1
    else hi = mid
  }
  let best = lo, bestSize = closureSize(lo, stamp++)
  for (let i = Math.max(0, lo - 50); i < Math.min(records.length - 1, lo + 50); i++) {
    const s = closureSize(i, stamp++)
    if (Math.abs(s - target) < Math.abs(bestSize - target)) {
      best = i
      bestSize = s
    }
  }
  return { path: records[best].path, closure: bestSize }
}

/** Builds the cached stores; returns the preparation summary. */
const prepare = () => {
  const marker = join(dataDir, "prepared.json")
  if (!args.includes("--rebuild") && existsSync(marker)) {
    const m = JSON.parse(readFileSync(marker, "utf8"))
    if (m.paths === n && m.nix === hasNix) return m
  }
  rmSync(dataDir, { recursive: true, force: true })
  mkdirSync(dataDir, { recursive: true })
  const genFile = join(dataDir, "gen.txt")
  execFileSync(process.execPath, [join(here, "gen-store.mjs"), genFile, String(n)], { encoding: "utf8" })
  const records = parseLoadDb(readFileSync(genFile, "utf8"))
  const ours = join(dataDir, "ours"), nix = join(dataDir, "nix")
  const oursStore = join(ours, "nix", "store")
  mkdirSync(oursStore, { recursive: true })
  const t = performance.now()
  const lines = []
  for (const r of records) {
    const base = r.path.slice(storeDir.length + 1)
    const contents = Buffer.from(`${base}\n`)
    const file = join(oursStore, base)
    writeFileSync(file, contents)
    chmodSync(file, 0o444)
    utimesSync(file, 1, 1)
    const nar = narOfFile(contents)
    lines.push(
      r.path,
      createHash("sha256").update(nar).digest("hex"),
      String(nar.length),
      r.deriver,
      String(r.refs.length),
      ...r.refs
    )
  }
  const loadDb = join(dataDir, "load-db.txt")
  writeFileSync(loadDb, lines.join("\n") + "\n")
  rmSync(genFile)
  console.log(`wrote ${records.length} store files in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  const root = pickHalfRoot(records)
  const text = readFileSync(loadDb)
  const oLoad = tsnix(ours, ["--load-db"], { input: text })
  console.log(`tsnix --load-db: ${fmt(oLoad.secs)} s`)
  if (hasNix) {
    execFileSync("cp", ["-a", ours, nix])
    const nLoad = nixStore(nix, ["--load-db"], { input: text })
    console.log(`nix-store --load-db: ${fmt(nLoad.secs)} s`)
  }
  for (const r of hasNix ? [ours, nix] : [ours]) {
    const gcroots = join(r, "nix", "var", "nix", "gcroots")
    mkdirSync(gcroots, { recursive: true })
    symlinkSync(root.path, join(gcroots, "bench-root"))
  }
  const m = { paths: records.length, root: root.path, rootClosure: root.closure, nix: hasNix }
  writeFileSync(marker, JSON.stringify(m, null, 2) + "\n")
  return m
}

/** The valid paths of a store (read from its SQLite database, same schema for both tools). */
const validPaths = (root) => {
  const Database = createRequire(import.meta.url)("better-sqlite3")
  const db = new Database(join(root, "nix", "var", "nix", "db", "db.sqlite"), { readonly: true })
  try {
    return db.prepare("select path from ValidPaths").pluck().all().sort()
  } finally {
    db.close()
  }
}
// `.links` (Nix's empty hard-link directory, created by nix-store) is not a store entry.
const storeListing = (root) => readdirSync(join(root, "nix", "store")).filter((e) => e !== ".links").sort()
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i])

const model = cpus()[0]?.model ?? "?"
const la = () => loadavg().map((x) => x.toFixed(1)).join(" ")
console.log(`node ${process.version}, ${model} (${cpus().length} cpus), load average ${la()}`)
if (!hasNix) console.log("nix-store not installed: tsnix figures only")
const prep = prepare()
console.log(`store: ${prep.paths} paths on disk (${dataDir}); GC root ${prep.root} (closure ${prep.rootClosure} paths)`)

const work = join(dataDir, "work")
const results = []
for (let run = 1; run <= runs; run++) {
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const oRoot = join(work, "ours"), nRoot = join(work, "nix")
  execFileSync("cp", ["-a", join(dataDir, "ours"), oRoot])
  if (hasNix) execFileSync("cp", ["-a", join(dataDir, "nix"), nRoot])
  // Write the copies back first: otherwise whoever runs first pays for it (in its SQLite commits).
  execFileSync("sync")
  const laStart = la()
  const oDead = tsnix(oRoot, ["--gc", "--print-dead"])
  const nDead = hasNix ? nixStore(nRoot, ["--gc", "--print-dead"]) : undefined
  execFileSync("sync")
  const oGc = tsnix(oRoot, ["--gc"])
  execFileSync("sync")
  const nGc = hasNix ? nixStore(nRoot, ["--gc"]) : undefined
  const laEnd = la()
  const deadOurs = sortedLines(oDead.stdout)
  const r = { run, laStart, laEnd, oDead, nDead, oGc, nGc, dead: deadOurs.length, checks: {} }
  const oValid = validPaths(oRoot)
  r.checks.validAfter = oValid.length
  r.checks.deadPlusLive = deadOurs.length + oValid.length === prep.paths
  if (hasNix) {
    r.checks.sameDead = same(deadOurs, sortedLines(nDead.stdout))
    r.checks.sameSummary = oGc.stdout.trim() === nGc.stdout.trim()
    r.checks.sameValid = same(oValid, validPaths(nRoot))
    r.checks.sameStoreDir = same(storeListing(oRoot), storeListing(nRoot))
    const deleting = (stderr) => stderr.split("\n").filter((l) => l.startsWith("deleting '"))
    // Reported, not checked: Nix 2.8 deletes in its store directory's readdir order (each entry's
    // referrers first), tsnix in topological order of the whole dead set.
    r.sameDeletionOrder = same(deleting(oGc.stderr), deleting(nGc.stderr))
  }
  console.log(`\nrun ${run}: load average ${laStart} → ${laEnd}; ${deadOurs.length} dead paths`)
  console.log(`  tsnix: ${oGc.stdout.trim()}${hasNix ? `\n  nix:   ${nGc.stdout.trim()}` : ""}`)
  console.log(
    `  checks: ${JSON.stringify(r.checks)}${
      hasNix ? `; same deletion order (not required): ${r.sameDeletionOrder}` : ""
    }`
  )
  results.push(r)
}
rmSync(work, { recursive: true, force: true })

console.log(
  "\n| run | operation | tsnix wall s | tsnix CPU s | tsnix peak RSS MB | nix wall s | nix CPU s | nix peak RSS MB | ratio wall | ratio CPU |"
)
console.log("|---|---|---|---|---|---|---|---|---|---|")
for (const r of results) {
  for (
    const [name, o, x] of [[`--gc --print-dead (${r.dead} paths)`, r.oDead, r.nDead], [
      `--gc (deletes ${r.dead})`,
      r.oGc,
      r.nGc
    ]]
  ) {
    console.log(
      `| ${r.run} | ${name} | ${fmt(o.secs)} | ${fmt(o.cpuSecs)} | ${fmt(o.rssMB, 0)} | ${fmt(x?.secs)} | ${
        fmt(x?.cpuSecs)
      } | ` +
        `${fmt(x?.rssMB, 0)} | ${ratio(o.secs, x?.secs)} | ${ratio(o.cpuSecs, x?.cpuSecs)} |`
    )
  }
}
checkTargets(
  "gc",
  results.flatMap((
    r
  ) => [[`--gc --print-dead (${r.dead} paths)`, r.oDead, r.nDead], [`--gc (deletes ${r.dead})`, r.oGc, r.nGc]])
)
const ok = results.every((r) => Object.values(r.checks).every((v) => v !== false))
console.log(`\nall checks ${ok ? "passed" : "FAILED"}`)
if (!ok) process.exitCode = 1
