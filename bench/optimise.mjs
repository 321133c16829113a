// Store-optimisation benchmark: `--optimise` with tsnix and nix-store on copies of one store.
//
// The store is built once and cached under $OPTIMISE_BENCH_DATA (default bench/.data/optimise,
// git-ignored): N trees (default 3000), each with five files of which four have contents shared
// by many trees (one of them 5000 bytes, one in a subdirectory) and one its own, added with one
// `nix-store --add` (or `tsnix --add` with --no-nix). Each run copies the store twice (`cp -a`,
// then `sync`), runs `--optimise` on one copy with tsnix and on the other with nix-store, then a
// second `--optimise` on each (nothing left to link), each in a fresh process timed by
// /usr/bin/time (wall, user+sys CPU, peak RSS), and checks that both print the same line and
// leave the same `.links` entries with the same link counts.
//
// Usage: npm run bench -- optimise [--paths N] [--runs R] [--rebuild] [--no-nix]
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, lstatSync, rmSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const args = process.argv.slice(2)
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : def
}
const paths = Number(opt("paths", "3000"))
const runs = Number(opt("runs", "1"))
const useNix = !args.includes("--no-nix") && spawnSync("nix-store", ["--version"]).status === 0
const data = process.env.OPTIMISE_BENCH_DATA ?? join(here, ".data/optimise")
const base = join(data, `base-${paths}`)
const tsnix = join(here, "../bin/tsnix")
const env = {
  ...process.env,
  NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nsubstituters ="
}

if (args.includes("--rebuild")) rmSync(data, { recursive: true, force: true })
if (!existsSync(base)) {
  const input = join(data, `in-${paths}`)
  rmSync(input, { recursive: true, force: true })
  mkdirSync(input, { recursive: true })
  const names = []
  for (let i = 0; i < paths; i++) {
    const d = join(input, `d${i}`)
    mkdirSync(join(d, "s"), { recursive: true })
    writeFileSync(join(d, "a"), "shared a\n")
    writeFileSync(join(d, "b"), `shared b ${i % 10}\n`)
    writeFileSync(join(d, "c"), "\0".repeat(5000))
    writeFileSync(join(d, "o"), `own ${i}\n`)
    writeFileSync(join(d, "s", "a"), "shared a\n")
    names.push(`d${i}`)
  }
  const [cmd, pre] = useNix ? ["nix-store", []] : [process.execPath, [tsnix]]
  execFileSync(cmd, [...pre, "--store", base, "--add", ...names], {
    cwd: input,
    env,
    stdio: ["ignore", "ignore", "inherit"],
    maxBuffer: 1 << 28
  })
  rmSync(input, { recursive: true, force: true })
}

const timed = (label, cmd, argv) => {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %U %S %M", cmd, ...argv], { env, maxBuffer: 1 << 26 })
  const lines = r.stderr.toString().trimEnd().split("\n")
  const [wall, user, sys, rss] = (lines.pop() ?? "").split(" ").map(Number)
  if (r.status !== 0) throw new Error(`${label} failed: ${lines.join("\n")}`)
  return { wall, cpu: user + sys, rss: rss / 1024, message: lines.join("\n") }
}
const links = (root) => {
  const dir = join(root, "nix/store/.links")
  return readdirSync(dir).sort().map((n) => `${n} ${lstatSync(join(dir, n)).nlink}`).join("\n")
}

console.log(`${paths} trees, ${paths * 5} files; load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}`)
console.log(
  "| run | operation | tsnix wall s | tsnix CPU s | tsnix peak RSS MB | nix wall s | nix CPU s | nix peak RSS MB | ratio CPU |"
)
console.log("|---|---|---|---|---|---|---|---|---|")
for (let run = 1; run <= runs; run++) {
  const ours = join(data, "ours")
  const theirs = join(data, "nix")
  for (const d of [ours, theirs]) {
    rmSync(d, { recursive: true, force: true })
    execFileSync("cp", ["-a", base, d])
  }
  execFileSync("sync")
  for (const what of ["--optimise (first)", "--optimise (again)"]) {
    const t = timed("tsnix", process.execPath, [tsnix, "--store", ours, "--optimise"])
    const n = useNix ? timed("nix-store", "nix-store", ["--store", theirs, "--optimise"]) : undefined
    if (n !== undefined && n.message !== t.message) throw new Error(`different messages:\n${t.message}\n${n.message}`)
    const f = (x) => (x === undefined ? "-" : x.toFixed(2))
    console.log(
      `| ${run} | ${what}: ${t.message} | ${f(t.wall)} | ${f(t.cpu)} | ${t.rss.toFixed(0)} | ${f(n?.wall)} | ${
        f(n?.cpu)
      } | ${n ? n.rss.toFixed(0) : "-"} | ${n ? (t.cpu / n.cpu).toFixed(2) : "-"} |`
    )
  }
  if (useNix && links(ours) !== links(theirs)) throw new Error("the .links entries or their link counts differ")
  console.log(`run ${run}: same messages${useNix ? ", same .links entries and link counts" : ""}`)
}
