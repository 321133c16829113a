// `npm run bench -- build [N]`: wall time of `tsnix -r` against Nix 2.8's `nix-store -r` on the same
// .drv files: N (default 100) trivial derivations in a chain (each refers to the previous one's
// output) and N independent ones (one `-r` of all of them, max-jobs 1 and then 4). Unsandboxed, in a
// store whose logical directory is its real one (NIX_STORE_DIR), the builder the static busybox.
// Needs nix-store/nix-instantiate and /usr/bin/busybox; each side gets a fresh copy of the store
// holding the .drv files only. The two sides run interleaved (Nix, tsnix, Nix, tsnix, …), REPS times
// (default 5), and the medians of wall time and CPU time (user+sys of the command and its children:
// builders, tsnix's spawner; measured with /usr/bin/time when it is there) are printed.
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const n = Number(process.argv[2] ?? 100)
const tsnix = path.join(path.dirname(fileURLToPath(import.meta.url)), "../bin/tsnix")
const X = "/tmp/tsnix-bench-build"
const wipe = () => {
  if (fs.existsSync(X)) {
    spawnSync("chmod", ["-R", "u+w", X])
    fs.rmSync(X, { recursive: true, force: true })
  }
}
const env = {
  ...process.env,
  NIX_STORE_DIR: `${X}/store`,
  NIX_STATE_DIR: `${X}/state`,
  NIX_LOG_DIR: `${X}/log`,
  TSNIX_STORE: "local",
  NIX_CONFIG:
    "experimental-features = nix-command\nsandbox = false\nbuild-users-group =\nfsync-metadata = false\nsubstituters ="
}
wipe()
fs.mkdirSync(`${X}/bb`, { recursive: true })
fs.copyFileSync("/usr/bin/busybox", `${X}/bb/busybox`)
fs.writeFileSync(
  `${X}/e.nix`,
  `let bb = "\${./bb}/busybox";
  mk = name: script: a: derivation ({ inherit name; system = "x86_64-linux"; builder = bb; args = [ "sh" "-c" script ]; } // a);
  chain = i: if i == 0 then mk "chain-0" "echo 0 > $out" {} else mk "chain-\${toString i}" "echo $prev > $out" { prev = chain (i - 1); };
in { chain = chain ${
    n - 1
  }; indep = builtins.genList (i: mk "indep-\${toString i}" "echo \${toString i} > $out" {}) ${n}; }`
)
const inst = (attr) =>
  execFileSync("nix-instantiate", [`${X}/e.nix`, "-A", attr], {
    env,
    cwd: X,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"]
  })
    .trim().split("\n")
const chain = inst("chain")
const indep = inst("indep")
const all = execFileSync("nix-store", ["-qR", ...chain, ...indep], { env, encoding: "utf8" }).trim().split("\n")
const exportFile = "/tmp/tsnix-bench-build.export"
fs.writeFileSync(exportFile, execFileSync("nix-store", ["--export", ...all], { env, maxBuffer: 1 << 30 }))
const bbBytes = fs.readFileSync(exportFile)

const fresh = (withTsnix) => {
  wipe()
  fs.mkdirSync(X, { recursive: true })
  const r = withTsnix
    ? spawnSync(process.execPath, [tsnix, "--import"], { env, input: bbBytes, stdio: ["pipe", "ignore", "inherit"] })
    : spawnSync("nix-store", ["--import"], { env, input: bbBytes, stdio: ["pipe", "ignore", "inherit"] })
  if (r.status !== 0) throw new Error("import failed")
}
const reps = Number(process.env.REPS ?? 5)
const timeFile = `${X}.time`
const haveTime = fs.existsSync("/usr/bin/time")
const time = (cmd, args) => {
  const t = process.hrtime.bigint()
  const r = haveTime
    ? spawnSync("/usr/bin/time", ["-o", timeFile, "-f", "%U %S", cmd, ...args], { env, stdio: "ignore" })
    : spawnSync(cmd, args, { env, stdio: "ignore" })
  const wall = Number(process.hrtime.bigint() - t) / 1e9
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(" ")}… failed (${r.status})`)
  const cpu = haveTime
    ? fs.readFileSync(timeFile, "utf8").trim().split("\n").pop().split(" ").reduce((a, b) => a + Number(b), 0)
    : NaN
  return { wall, cpu }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = []
for (const [label, drvs, jobs] of [["chain", chain, "1"], ["independent", indep, "1"], ["independent", indep, "4"]]) {
  const nix = []
  const ts = []
  for (let r = 0; r < reps; r++) {
    fresh(false)
    nix.push(time("nix-store", ["-r", "-j", jobs, ...drvs]))
    fresh(true)
    ts.push(time(process.execPath, [tsnix, "-r", "-j", jobs, ...drvs]))
  }
  const nw = median(nix.map((x) => x.wall))
  const tw = median(ts.map((x) => x.wall))
  const nc = median(nix.map((x) => x.cpu))
  const tc = median(ts.map((x) => x.cpu))
  rows.push({
    case: `${n} ${label}, -j ${jobs}`,
    "nix wall": nw.toFixed(2) + " s",
    "tsnix wall": tw.toFixed(2) + " s",
    "wall ratio": (tw / nw).toFixed(2),
    "nix cpu": nc.toFixed(2) + " s",
    "tsnix cpu": tc.toFixed(2) + " s",
    "cpu ratio": (tc / nc).toFixed(2)
  })
}
console.log(
  `median of ${reps} interleaved runs; load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`
)
console.table(rows)
if (process.env.BENCH_KEEP !== "1") {
  wipe()
  fs.rmSync(exportFile, { force: true })
  fs.rmSync(timeFile, { force: true })
}
