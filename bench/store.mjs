// Store-database benchmark: load-db, -qR, --referrers-closure and queryPathInfo on a
// synthetic store (bench/gen-store.mjs: N paths, ~4 refs each), against nix-store on the
// same data when it is installed.
// Also times the whole tsnix CLI (bin/tsnix: process start-up included) for --load-db, -qR,
// --referrers-closure and --verify (both stores get one tiny file per valid path in
// ROOT/nix/store first, so --verify finds every path present and invalidates nothing).
// Usage: npm run bench -- store [--paths N] [--dir DIR] [--keep]
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { checkTargets } from "./_targets.mjs"

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : dflt
}
const n = Number(opt("--paths", "100000"))
const dir = opt("--dir", join(tmpdir(), "tsnix-bench-store"))
const keep = args.includes("--keep")
rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })

const nixEnv = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group ="
}
const hasNix = spawnSync("nix-store", ["--version"], { stdio: "ignore" }).status === 0
const hasTime = existsSync("/usr/bin/time")

/** Runs a command, returning wall seconds, peak RSS (MB, via /usr/bin/time) and stdout/stderr. */
const timed = (cmd, cmdArgs, { input, env } = {}) => {
  const full = hasTime ? ["/usr/bin/time", ["-f", "__TIME__ %M %U %S", cmd, ...cmdArgs]] : [cmd, cmdArgs]
  const t = performance.now()
  const r = spawnSync(full[0], full[1], { input, env: env ?? process.env, maxBuffer: 1 << 30, encoding: "utf8" })
  const secs = (performance.now() - t) / 1000
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(" ")} failed: ${r.stderr}`)
  const m = /__TIME__ (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr)
  return {
    secs,
    rssMB: m ? Number(m[1]) / 1024 : undefined,
    cpuSecs: m ? Number(m[2]) + Number(m[3]) : undefined,
    stdout: r.stdout,
    stderr: r.stderr
  }
}
const ours = (op, root, arg) => {
  const r = timed(process.execPath, [join(here, "_store-op.mjs"), op, root, arg])
  const json = JSON.parse(r.stderr.split("\n").find((l) => l.startsWith("{")))
  return { ...r, json }
}
const tsnixBin = join(here, "..", "bin", "tsnix")
const cli = (cliArgs) => timed(process.execPath, [tsnixBin, ...cliArgs])
const sortedLines = (s) => s.split("\n").filter((l) => l !== "").sort()
const fmt = (x) => (x === undefined ? "-" : x.toFixed(2))

const gen = JSON.parse(
  execFileSync(process.execPath, [join(here, "gen-store.mjs"), join(dir, "store.txt"), String(n)], { encoding: "utf8" })
)
console.log(`synthetic store: ${gen.paths} paths (${(readFileSync(gen.file).length / 1e6).toFixed(1)} MB load-db text)`)

const rows = []
const oursRoot = join(dir, "ours")
const nixRoot = join(dir, "nix")
const oLoad = ours("load", oursRoot, gen.file)
const nLoad = hasNix
  ? timed("nix-store", ["--store", nixRoot, "--load-db"], { input: readFileSync(gen.file), env: nixEnv })
  : undefined
rows.push(["load-db", oLoad, nLoad])
// The whole CLI command on a second store (standard input streamed, process start-up included).
const cliRoot = join(dir, "ours-cli")
const cLoad = timed(process.execPath, [tsnixBin, "--store", cliRoot, "--load-db"], { input: readFileSync(gen.file) })
rows.push(["tsnix CLI --load-db", { ...cLoad, json: {} }, nLoad])
const oQR = ours("qR", oursRoot, gen.root)
const nQR = hasNix ? timed("nix-store", ["--store", nixRoot, "-qR", gen.root], { env: nixEnv }) : undefined
rows.push([`-qR (${oQR.json.paths} paths)`, oQR, nQR])
const oRef = ours("referrers", oursRoot, gen.leaf)
const nRef = hasNix
  ? timed("nix-store", ["--store", nixRoot, "--query", "--referrers-closure", gen.leaf], { env: nixEnv })
  : undefined
rows.push([`--referrers-closure (${oRef.json.paths} paths)`, oRef, nRef])
if (hasNix) {
  const same = (a, b) => JSON.stringify(sortedLines(a)) === JSON.stringify(sortedLines(b))
  console.log(
    `outputs identical to nix-store (byte for byte, order included): -qR ${oQR.stdout === nQR.stdout}, ` +
      `--referrers-closure ${oRef.stdout === nRef.stdout}; same sets: ${same(oQR.stdout, nQR.stdout)}, ${
        same(oRef.stdout, nRef.stdout)
      }`
  )
}
// The whole CLI (process start-up, bundle loading, store opening included).
const cQR = cli(["--store", oursRoot, "-qR", gen.root])
rows.push([`tsnix CLI -qR`, { ...cQR, json: {} }, nQR])
const cRef = cli(["--store", oursRoot, "--query", "--referrers-closure", gen.leaf])
rows.push([`tsnix CLI --referrers-closure`, { ...cRef, json: {} }, nRef])
if (hasNix) {
  console.log(
    `tsnix CLI outputs identical to nix-store: -qR ${cQR.stdout === nQR.stdout}, --referrers-closure ${
      cRef.stdout === nRef.stdout
    }`
  )
}
// --verify: every valid path present as a tiny file, in both stores.
const names = [
  ...new Set(
    readFileSync(gen.file, "utf8").split("\n").filter((l) => l.startsWith("/nix/store/")).map((l) => l.slice(11))
  )
]
for (const r of hasNix ? [oursRoot, nixRoot] : [oursRoot]) {
  mkdirSync(join(r, "nix", "store"), { recursive: true })
  for (const name of names) writeFileSync(join(r, "nix", "store", name), "x")
}
const cVerify = cli(["--store", oursRoot, "--verify"])
const nVerify = hasNix ? timed("nix-store", ["--store", nixRoot, "--verify"], { env: nixEnv }) : undefined
rows.push(["tsnix CLI --verify", { ...cVerify, json: {} }, nVerify])
const disappeared = (r) => (r?.stderr.match(/disappeared/g) ?? []).length
console.log(
  `--verify: paths reported disappeared: tsnix ${disappeared(cVerify)}, nix ${hasNix ? disappeared(nVerify) : "-"}`
)
const qpi = ours("qpi", oursRoot, "")

console.log(
  "\n| operation | tsnix wall s | tsnix CPU s | tsnix peak RSS MB | nix wall s | nix CPU s | nix peak RSS MB | ratio wall | ratio CPU |"
)
console.log("|---|---|---|---|---|---|---|---|---|")
for (const [name, o, x] of rows) {
  const ratio = (a, b) => (a !== undefined && b !== undefined ? (a / b).toFixed(3) : "-")
  console.log(
    `| ${name} | ${fmt(o.secs)} | ${fmt(o.cpuSecs)} | ${fmt(o.json.maxRssMB ?? o.rssMB)} | ${fmt(x?.secs)} | ${
      fmt(x?.cpuSecs)
    } | ` +
      `${fmt(x?.rssMB)} | ${ratio(o.secs, x?.secs)} | ${ratio(o.cpuSecs, x?.cpuSecs)} |`
  )
}
checkTargets("store", rows)
console.log(
  `\nload-db phases (tsnix): parse ${oLoad.json.parseMs.toFixed(0)} ms, register ${oLoad.json.registerMs.toFixed(0)} ms`
)
console.log(
  `queryPathInfo in-process: ${qpi.json.queryPathInfoUs.toFixed(1)} µs wall, ${
    qpi.json.queryPathInfoCpuUs.toFixed(1)
  } µs CPU per call ` +
    `(raw better-sqlite3, same statement: ${qpi.json.rawBetterSqlite3CpuUs.toFixed(1)} µs CPU)`
)
if (!keep) rmSync(dir, { recursive: true, force: true })
