/**
 * `tsnix -r` building, through the real CLI (bin/tsnix, rebuilt by `npm run build`), in an
 * unsandboxed temp store: output printed, exit statuses, `-l` of a drv and of an output,
 * `--dry-run`, the failed-build cache with `--query-failed-paths`/`--clear-failed-paths`,
 * and SIGINT during a build (exit 130; the builder's processes killed; no output, lock file,
 * temporary root or build directory left).
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Derivations } from "../../src/services/Derivations.js"
import { addBusybox, addShellDerivation, builderLayers, makeTempLayout, wipe } from "../builder/helpers.js"
import { runTsnix, tsnixBin } from "./helpers.js"

const hasBusybox = fs.existsSync("/usr/bin/busybox")
const { top, layout } = makeTempLayout("tsnix-realise-cli-")
const marker = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-marker-"))
afterAll(() => {
  wipe(top)
  fs.rmSync(marker, { recursive: true, force: true })
})

const env = {
  TSNIX_STORE: "local",
  NIX_STORE_DIR: layout.storeDir,
  NIX_STATE_DIR: layout.stateDir,
  NIX_LOG_DIR: layout.logDir,
  // No substituters: -r asks them for a derivation's outputs before building (never the network in tests).
  NIX_CONFIG: "sandbox = false\nsubstituters ="
}

const drvs = hasBusybox
  ? await Effect.runPromise(
    Effect.gen(function*() {
      const bb = yield* addBusybox
      const derivations = yield* Derivations
      const ok = yield* addShellDerivation(bb, "ok", "echo building ok; echo hi > $out")
      const fail = yield* addShellDerivation(bb, "fail", "echo going to fail; exit 3")
      const hang = yield* addShellDerivation(
        bb,
        "hang",
        `mkdir $out; sleep 60 & echo $! > ${marker}/child; echo $$ > ${marker}/pid; wait`
      )
      const outOf = (d: string) => Effect.map(derivations.read(d), (drv) => drv.outputs.get("out")!.path)
      return { ok, fail, hang, okOut: yield* outOf(ok), hangOut: yield* outOf(hang) }
    }).pipe(Effect.scoped, Effect.provide(builderLayers(layout)))
  )
  : undefined

const alive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z"
  } catch {
    return false
  }
}

describe.skipIf(drvs === undefined)("tsnix -r builds", () => {
  const d = drvs!
  it(
    "--dry-run builds nothing; -r builds and prints the output; -l prints the log of the drv and of the output",
    async () => {
      const dry = await runTsnix(["-r", "--dry-run", d.ok], { env })
      expect(dry.status).toBe(0)
      expect(dry.stderr).toContain(`this derivation will be built:\n  ${d.ok}\n`)
      expect(fs.existsSync(d.okOut)).toBe(false)
      const r = await runTsnix(["-r", d.ok], { env })
      expect(r.status).toBe(0)
      expect(r.stdout.toString()).toBe(`${d.okOut}\n`)
      expect(r.stderr).toContain(`building '${d.ok}'...\nbuilding ok\n`)
      for (const p of [d.ok, d.okOut]) {
        const l = await runTsnix(["-l", p], { env })
        expect({ p, status: l.status, log: l.stdout.toString() }).toEqual({ p, status: 0, log: "building ok\n" })
      }
      const none = await runTsnix(["-l", d.fail], { env })
      expect(none.status).toBe(1)
      expect(none.stderr).toBe(`error: build log of '${d.fail}' is not available\n`)
    },
    20_000
  )

  it("a failure exits 100; with build-cache-failure it is cached until --clear-failed-paths", async () => {
    const cache = ["--option", "build-cache-failure", "true"]
    const r = await runTsnix(["-r", ...cache, d.fail], { env })
    expect(r.status).toBe(100)
    expect(r.stderr).toContain(`going to fail\nerror: builder for '${d.fail}' failed with exit code 3\n`)
    const q = await runTsnix(["--query-failed-paths"], { env })
    expect(q.stdout.toString()).toMatch(/-fail\n$/)
    const again = await runTsnix(["-r", ...cache, d.fail], { env })
    expect(again.status).toBe(100)
    expect(again.stderr).toContain(`error: builder for '${d.fail}' failed previously (cached)\n`)
    expect(again.stderr).not.toContain("going to fail")
    expect((await runTsnix(["--clear-failed-paths", d.fail], { env })).status).toBe(0)
    expect((await runTsnix(["--query-failed-paths"], { env })).stdout.toString()).toBe("")
  }, 20_000)

  it("SIGINT during a build: exit 130, builder processes killed, nothing left behind", async () => {
    const child = spawn(process.execPath, [tsnixBin, "-r", d.hang], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()))
    const status = await new Promise<number | null>((resolve) => {
      const timer = setInterval(() => {
        if (fs.existsSync(`${marker}/pid`) && fs.existsSync(`${marker}/child`)) {
          clearInterval(timer)
          child.kill("SIGINT")
        }
      }, 10)
      child.on("close", (s) => resolve(s))
    })
    expect({ status, stderr: stderr.split("\n").at(-2) }).toEqual({
      status: 130,
      stderr: "error: interrupted by the user"
    })
    expect(alive(Number(fs.readFileSync(`${marker}/pid`, "utf8")))).toBe(false)
    expect(alive(Number(fs.readFileSync(`${marker}/child`, "utf8")))).toBe(false)
    expect(fs.existsSync(d.hangOut)).toBe(false)
    expect(fs.existsSync(`${d.hangOut}.lock`)).toBe(false)
    const tempRoots = path.join(layout.stateDir, "temproots")
    expect(fs.existsSync(tempRoots) ? fs.readdirSync(tempRoots) : []).toEqual([])
    expect(fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith("nix-build-hang.drv-"))).toEqual([])
    const valid = await runTsnix(["--check-validity", d.hangOut], { env })
    expect(valid.status).toBe(1)
  }, 20_000)
})
