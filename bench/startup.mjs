// `npm run bench -- startup [ROUNDS]`: short commands against the platform's own floor (issue 16).
// Each round runs, back to back and in this order, `node -e 0`, `tsnix --version` and `tsnix -q --hash P`
// on a small store (one path): so the three see the same machine load. Figures are the median and the
// best wall time (spawn to exit) and the median CPU time (user + sys, from /usr/bin/time when present) over
// the rounds; the ratios are to `node -e 0` of the same run. Targets: --version ≤ 1.3×, -q --hash ≤ 1.5×
// (medians of wall time); they are reported, not enforced (no target here was met before).
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { cpus, loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const tsnixBin = join(here, "..", "bin", "tsnix")
const rounds = Number(process.argv[2] ?? 30)
const hasTime = existsSync("/usr/bin/time")

const work = mkdtempSync(join(tmpdir(), "tsnix-bench-startup-"))
const store = join(work, "root")
mkdirSync(join(work, "src"))
writeFileSync(join(work, "src", "hello"), "hello\n")
const path = execFileSync(process.execPath, [tsnixBin, "--store", store, "--add", join(work, "src", "hello")], {
  encoding: "utf8"
}).trim()

/** Runs one command; returns wall seconds and (with /usr/bin/time) CPU seconds. */
const run = (file, args) => {
  const timeOut = join(work, "time.out")
  const start = process.hrtime.bigint()
  const r = hasTime
    ? spawnSync("/usr/bin/time", ["-o", timeOut, "-f", "%U %S", file, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    : spawnSync(file, args, { stdio: ["ignore", "pipe", "pipe"] })
  const secs = Number(process.hrtime.bigint() - start) / 1e9
  if (r.status !== 0) throw new Error(`${file} ${args.join(" ")} failed: ${r.stderr}`)
  let cpu
  if (hasTime) {
    const [u, s] = spawnSync("cat", [timeOut], { encoding: "utf8" }).stdout.trim().split(/\s+/).map(Number)
    cpu = u + s
  }
  return { secs, cpu, stdout: r.stdout.toString() }
}

const commands = [
  ["node -e 0", process.execPath, ["-e", "0"]],
  ["tsnix --version", process.execPath, [tsnixBin, "--version"]],
  ["tsnix -q --hash P", process.execPath, [tsnixBin, "--store", store, "-q", "--hash", path]]
]
const samples = commands.map(() => ({ wall: [], cpu: [] }))
// One warm-up round (page cache, code cache).
for (const [, file, args] of commands) run(file, args)
for (let i = 0; i < rounds; i++) {
  commands.forEach(([, file, args], k) => {
    const r = run(file, args)
    samples[k].wall.push(r.secs)
    if (r.cpu !== undefined) samples[k].cpu.push(r.cpu)
  })
}
rmSync(work, { recursive: true, force: true })

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]
}
const ms = (x) => (x * 1000).toFixed(1)
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? "?"} (${cpus().length} cpus), load average ${
    loadavg().map((x) => x.toFixed(1)).join(" ")
  }, ${rounds} rounds`
)
console.log(
  "\n| command | median wall ms | best wall ms | median CPU ms | ratio (median wall) | ratio (CPU) | target |"
)
console.log("|---|---|---|---|---|---|---|")
const floor = samples[0]
const targetOf = { "tsnix --version": 1.3, "tsnix -q --hash P": 1.5 }
commands.forEach(([name], k) => {
  const s = samples[k]
  const ratio = median(s.wall) / median(floor.wall)
  const cpuRatio = median(s.cpu) / median(floor.cpu)
  const target = targetOf[name]
  console.log(
    `| ${name} | ${ms(median(s.wall))} | ${ms(Math.min(...s.wall))} | ${ms(median(s.cpu))} | ${
      k === 0 ? "1" : ratio.toFixed(2)
    } | ${k === 0 ? "1" : cpuRatio.toFixed(2)} | ${
      target === undefined ? "floor" : `≤ ${target}× (${ratio <= target ? "met" : "not met"})`
    } |`
  )
})
