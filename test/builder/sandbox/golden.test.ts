/**
 * The sandbox against Nix 2.8's own sandboxed builds (golden/sandbox, made by its generate.sh): the
 * derivations' builders print what they can see of the sandbox into $out; run under prepareSandbox
 * with Nix's environment (test helper), the output must have Nix's NAR hash.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Either } from "effect"
import { prepareSandbox } from "../../../src/builder/sandbox/index.js"
import { parseDerivation } from "../../../src/core/derivation/aterm.js"
import { encodeNix32 } from "../../../src/core/nix32.js"
import { narHashPath } from "../../../src/io/dump.js"
import { canonicalisePath } from "../../../src/stores/local/ops/canonicalise.js"
import { nixSandboxEnv } from "./nixEnv.js"
import { busybox, golden, paths, skipReason } from "./goldenSandbox.js"

const skip = skipReason !== undefined
if (skip) console.warn(`sandbox golden tests skipped: ${skipReason}`)

/** A chroot-style store (logical /nix/store, real <tmp>/nix/store) holding busybox and the script. */
const makeStore = () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-sbgold-"))
  const real = path.join(top, "nix/store")
  const bb = path.join(real, path.basename(paths["bb"]!))
  fs.mkdirSync(bb, { recursive: true })
  fs.copyFileSync(busybox, path.join(bb, "busybox"))
  fs.chmodSync(path.join(bb, "busybox"), 0o555)
  fs.chmodSync(bb, 0o555)
  const script = path.join(real, path.basename(paths["script"]!))
  fs.copyFileSync(path.join(golden, "introspect.sh"), script)
  fs.chmodSync(script, 0o444)
  const build = path.join(top, "build")
  fs.mkdirSync(build, { mode: 0o700 })
  return { top, real, build }
}

/** Runs a command with stdin /dev/null and stdout+stderr into one pipe, as the Builder does. */
const spawnBuild = (command: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ code: number | null; log: string }>((resume) => {
    const child = spawn(command, [...args], { env, stdio: ["ignore", "pipe", "pipe"], detached: true })
    let log = ""
    child.stdout.on("data", (d: Buffer) => (log += d.toString()))
    child.stderr.on("data", (d: Buffer) => (log += d.toString()))
    child.on("close", (code) => resume(Effect.succeed({ code, log })))
    return Effect.sync(() => {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
    })
  })

describe("the sandbox against Nix 2.8's sandboxed builds", () => {
  for (const name of ["introspect", "fod", "paths"]) {
    it.effect.skipIf(skip)(
      `${name}: the same output as Nix's (NAR hash ${name}.narhash)`,
      () =>
        Effect.gen(function*() {
          const drv = Either.getOrThrow(parseDerivation(fs.readFileSync(path.join(golden, "drv", `${name}.drv`))))
          const out = drv.outputs.get("out")!.path
          expect(out).toBe(paths[`${name}.out`])
          const s = makeStore()
          const fixed = drv.outputs.get("out")!.hash !== ""
          const bbReal = path.join(s.real, path.basename(paths["bb"]!))
          const result = yield* Effect.scoped(Effect.gen(function*() {
            const cmd = yield* prepareSandbox({
              logicalStoreDir: "/nix/store",
              realStoreDir: s.real,
              inputPaths: [...drv.inputSrcs],
              outputPaths: [out],
              hostBuildDir: s.build,
              sandboxPaths: name === "paths" ? [`/bin/sh=${bbReal}/busybox`, "/opt/missing?"] : [],
              network: fixed,
              builder: drv.builder,
              args: drv.args,
              env: nixSandboxEnv(drv, 2)
            })
            const run = yield* spawnBuild(cmd.command, cmd.args, { ...cmd.env })
            expect(run).toEqual({ code: 0, log: "" })
            const o = cmd.outputHostPath(out)
            yield* canonicalisePath(o)
            const text = fs.readFileSync(o, "utf8")
            return { text, nar: yield* narHashPath(o) }
          }))
          // The text first: a readable diff when something differs.
          expect(result.text).toBe(fs.readFileSync(path.join(golden, "out", name), "utf8"))
          expect(`sha256:${encodeNix32(result.nar.narHash)}`).toBe(
            fs.readFileSync(path.join(golden, "out", `${name}.narhash`), "utf8").trim()
          )
          fs.rmSync(s.top, { recursive: true, force: true })
        })
    )
  }
})
