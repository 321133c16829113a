// Derivation (ATerm) parse+print throughput.
// `npm run bench -- drv [--rounds N]` (after `npm run build`).
//  1. one large derivation: 10k env entries, ~1 MB (values with escapes and non-UTF-8 bytes);
//  2. 10k small derivations (the golden .drv files, varied so none is identical).
// When nix-bin is installed it also times `nix show-derivation` on the same large
// derivation (instantiated in a throwaway chroot store) next to ours (read + parse + JSON).
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { parseDerivation, printDerivation, printShowDerivationJson } from "../dist/core/derivation/index.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const roundsArg = process.argv.indexOf("--rounds")
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 20
const MB = 1024 * 1024

const now = () => process.hrtime.bigint()
const ms = (t0) => Number(now() - t0) / 1e6

/**
 * Runs `fn` `rounds` times after a warm-up; returns the median wall time and
 * the median CPU time (user+system) in ms. On a shared, loaded machine the CPU
 * time is the figure that reflects the code; the wall time what a user waited.
 */
const time = (fn) => {
  for (let i = 0; i < 3; i++) fn()
  const wall = []
  const cpu = []
  for (let i = 0; i < rounds; i++) {
    const c0 = process.cpuUsage()
    const t0 = now()
    fn()
    wall.push(ms(t0))
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000)
  }
  wall.sort((a, b) => a - b)
  cpu.sort((a, b) => a - b)
  const mid = Math.floor(rounds / 2)
  return { wall: wall[mid], cpu: cpu[mid], best: wall[0] }
}

// --- 1. the large derivation ------------------------------------------------
const bigEnv = []
for (let i = 0; i < 10000; i++) {
  const key = "var" + String(i).padStart(5, "0")
  let value = `value ${i}: /nix/store/${"abcdfghijklmnpqrsvwxyz0123456789".slice(i % 7, (i % 7) + 25)}-pkg-${i}`
  if (i % 10 === 0) value += " \"quoted\" back\\slash\nnew line\ttab"
  if (i % 17 === 0) value += " caf\xe9 \xff"
  while (value.length < 90) value += " padding"
  bigEnv.push([key, value])
}
const bigText =
  `Derive([("out","/nix/store/00000000000000000000000000000000-big","","")],[],[],"x86_64-linux","/bin/sh",["-c","true"],[` +
  bigEnv.map(([k, v]) =>
    `("${k}","${v.replace(/[\\"\n\t]/g, (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : "\\" + c))}")`
  ).join(",") +
  `])`
const big = new Uint8Array(Buffer.from(bigText, "latin1"))
if (Buffer.compare(Buffer.from(printDerivation(parseDerivation(big).right)), Buffer.from(big)) !== 0) {
  throw new Error("large round trip failed")
}

// --- 2. 10k small derivations ----------------------------------------------------
const goldenDir = path.join(here, "../golden/derivation/drv")
const golden = fs.readdirSync(goldenDir).map((f) => fs.readFileSync(path.join(goldenDir, f)).toString("latin1"))
const small = []
for (let i = 0; i < 10000; i++) {
  // Vary the system string so every derivation is distinct (same shape as Nix's).
  small.push(
    new Uint8Array(Buffer.from(golden[i % golden.length].replace("\"x86_64-linux\"", `"x86_64-linux-${i}"`), "latin1"))
  )
}
const smallBytes = small.reduce((n, b) => n + b.length, 0)
// Order matters: parse timings come before any parse result is kept alive.
// (Keeping 10k parsed derivations makes V8 pretenure the parser's allocation
// sites, after which every parse's garbage goes to old space and GC dominates:
// a property of a heap holding 10k derivations, not of parsing one.)
const parseSmall = time(() => {
  for (const b of small) parseDerivation(b)
})
const bothSmall = time(() => {
  for (const b of small) printDerivation(parseDerivation(b).right)
})
const parseBig = time(() => parseDerivation(big))
const bothBig = time(() => printDerivation(parseDerivation(big).right))
const bigDrv = parseDerivation(big).right
const printBig = time(() => printDerivation(bigDrv))
const parsedSmall = small.map((b) => parseDerivation(b).right)
const printSmall = time(() => {
  for (const d of parsedSmall) printDerivation(d)
})

const mbs = (bytes, t) => (bytes / MB / (t / 1000)).toFixed(1)
const line = (label, bytes, t) =>
  console.log(
    `  ${label.padEnd(12)} wall ${t.wall.toFixed(1).padStart(7)} ms (${mbs(bytes, t.wall).padStart(6)} MB/s)   cpu ${
      t.cpu.toFixed(1).padStart(7)
    } ms (${mbs(bytes, t.cpu).padStart(6)} MB/s)   best wall ${t.best.toFixed(1).padStart(7)} ms (${
      mbs(bytes, t.best).padStart(6)
    } MB/s)`
  )
console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? "?"} (${os.cpus().length} cpus), load average ${
    os.loadavg().map((x) => x.toFixed(1)).join(" ")
  }, rounds=${rounds}; wall and cpu are medians`
)
console.log(`large derivation: ${(big.length / MB).toFixed(2)} MB, ${bigEnv.length} env entries`)
line("parse", big.length, parseBig)
line("print", big.length, printBig)
line("parse+print", big.length, bothBig)
console.log(`10k small derivations: ${(smallBytes / MB).toFixed(2)} MB total`)
line("parse", smallBytes, parseSmall)
line("print", smallBytes, printSmall)
line("parse+print", smallBytes, bothSmall)

// --- 3. against Nix, when installed ------------------------------------------------
const hasNix = spawnSync("nix", ["--version"], { encoding: "utf8" }).status === 0
if (!hasNix) {
  console.log("nix not installed: no comparison")
} else {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-bench-drv-"))
  try {
    const env = {
      ...process.env,
      NIX_CONFIG: "experimental-features = nix-command\nsandbox = false\nbuild-users-group ="
    }
    const expr = path.join(root, "big.nix")
    fs.writeFileSync(
      expr,
      `derivation ({ name = "big"; system = "x86_64-linux"; builder = "/bin/sh"; } // builtins.listToAttrs (builtins.genList (i: { name = "var\${toString i}"; value = "value \${toString i}: \\"quoted\\" back\\\\slash\\nnew line\\ttab padding padding padding padding padding padding padding"; }) 10000))`
    )
    const store = path.join(root, "store")
    const drvPath = execFileSync("nix-instantiate", ["--store", store, expr], {
      env,
      encoding: "utf8",
      stderr: "ignore"
    }).trim()
    const real = path.join(store, drvPath)
    const size = fs.statSync(real).size
    const nixTimes = []
    for (let i = 0; i < 5; i++) {
      const t0 = now()
      const r = spawnSync("nix", ["--store", store, "show-derivation", drvPath], { env, maxBuffer: 64 * MB })
      if (r.status !== 0) throw new Error(r.stderr.toString())
      nixTimes.push(ms(t0))
    }
    nixTimes.sort((a, b) => a - b)
    const startup = []
    for (let i = 0; i < 5; i++) {
      const t0 = now()
      spawnSync("nix", ["--version"], { env })
      startup.push(ms(t0))
    }
    startup.sort((a, b) => a - b)
    const ours = time(() => {
      const d = parseDerivation(fs.readFileSync(real), { file: drvPath }).right
      printShowDerivationJson([[drvPath, d]])
    })
    console.log(`show-derivation of a ${(size / MB).toFixed(2)} MB derivation (10k env entries):`)
    console.log(
      `  nix show-derivation   wall ${nixTimes[2].toFixed(1)} ms (a process; 'nix --version' alone: ${
        startup[2].toFixed(1)
      } ms)`
    )
    console.log(`  tsnix read+parse+JSON wall ${ours.wall.toFixed(1)} ms, cpu ${ours.cpu.toFixed(1)} ms (in process)`)
    console.log(
      `  wall ratio nix/tsnix ${(nixTimes[2] / ours.wall).toFixed(1)}x; without nix's startup ${
        ((nixTimes[2] - startup[2]) / ours.wall).toFixed(1)
      }x`
    )
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
}
const rss = process.resourceUsage().maxRSS
console.log(`peak RSS ${(rss / 1024).toFixed(0)} MB`)
