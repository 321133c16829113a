/**
 * Held-out comparison with Nix 2.8: every derivation of golden/build (simple,
 * multi-output, dependent, fixed-output flat/recursive with md5/sha1/sha256/
 * sha512 and mismatches, passAsFile, placeholders, structured attrs,
 * exportReferencesGraph, failures, missing output, bad permissions, cycles,
 * timeouts, --check) is rebuilt by the Builder, unsandboxed, in the same store
 * directory Nix used. Compared: exit statuses, Nix's messages, the builder's
 * output (= Nix's build log), output paths, NAR hashes and references, what
 * is valid after a failure, and the logs `readLog` finds.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option } from "effect"
import { Buffer } from "node:buffer"
import * as fs from "node:fs"
import { printHash } from "../../src/core/hash.js"
import { Builder, type BuildOptions } from "../../src/services/Builder.js"
import { Store } from "../../src/services/Store.js"
import {
  builderLayers,
  defaultOptions,
  golden,
  goldenCases,
  goldenLayout,
  goldenRoot,
  importGoldenDrvs,
  sameBusybox,
  wipe
} from "./helpers.js"

if (!sameBusybox) {
  console.warn(
    "builder golden tests skipped: /usr/bin/busybox (Debian busybox-static) is missing or not the goldens' one"
  )
}

/** Nix's stderr → its `error: …` messages (continuation lines joined) and its progress lines. */
const parseStderr = (stderr: string) => {
  const errors: Array<string> = []
  const progress: Array<string> = []
  for (const line of stderr.split("\n")) {
    if (line.startsWith("error: ")) errors.push(line.slice(7))
    else if (line.startsWith("       ") && errors.length > 0) errors[errors.length - 1] += "\n" + line.slice(7)
    else if (line.startsWith("building '") || line.startsWith("checking outputs of '")) progress.push(line)
  }
  return { errors, progress }
}

const flagOptions = (flags: string | undefined): Partial<BuildOptions> => {
  const f = (flags ?? "").trim().split(/\s+/)
  const out: { timeout?: number; maxSilentTime?: number } = {}
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "--timeout") out.timeout = Number(f[++i])
    if (f[i] === "--max-silent-time") out.maxSilentTime = Number(f[++i])
  }
  return out
}

/** Builds one case as nix-store -r did; returns what to compare. */
const runCase = (drvPath: string, extra: Partial<BuildOptions>) =>
  Effect.gen(function*() {
    const builder = yield* Builder
    const log: Array<Buffer> = []
    const progress: Array<string> = []
    const errors: Array<string> = []
    const exit = yield* Effect.exit(builder.buildDerivations([{ drvPath }], {
      ...defaultOptions,
      ...extra,
      onLog: (c) => log.push(Buffer.from(c)),
      onInfo: (l) => progress.push(l),
      onError: (m) => errors.push(m)
    }))
    let rc = 0
    if (Exit.isFailure(exit)) {
      const e = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      if (e?._tag !== "BuildFailedError") throw new Error(`unexpected failure: ${String(exit.cause)}`)
      rc = e.exitStatus
      errors.push(...e.messages)
    }
    return { rc, errors, progress, log: Buffer.concat(log).toString("latin1") }
  })

const describeOutputs = (drvPath: string) =>
  Effect.gen(function*() {
    const store = yield* Store
    const lines: Array<string> = []
    for (const o of yield* store.queryDerivationOutputs(drvPath)) {
      const info = Option.getOrThrow(yield* store.queryPathInfo(o))
      lines.push(
        `${o} sha256:${printHash(info.narHash, "nix32")} refs:${
          [...info.references].sort().map((r) => r + " ").join("")
        }`
      )
    }
    return lines.join("\n") + "\n"
  })

const validOf = (drvPath: string) =>
  Effect.gen(function*() {
    const store = yield* Store
    const name = drvPath.slice(drvPath.lastIndexOf("/") + 34, -4)
    const lines: Array<string> = []
    for (const e of fs.readdirSync(goldenLayout.realStoreDir).sort()) {
      if (!e.endsWith("-" + name)) continue
      const p = `${goldenLayout.storeDir}/${e}`
      const info = yield* store.queryPathInfo(p)
      if (Option.isSome(info)) lines.push(`${p} sha256:${printHash(info.value.narHash, "nix32")}`)
    }
    return lines.map((l) => l + "\n").join("")
  })

wipe(goldenRoot)
fs.mkdirSync(goldenRoot, { recursive: true })

describe("builds compared with Nix 2.8 (golden/build)", () => {
  it.scoped.skipIf(!sameBusybox)(
    "every case: exit status, messages, build output, outputs and what is valid",
    () =>
      Effect.gen(function*() {
        yield* importGoldenDrvs
        const builder = yield* Builder
        for (const [name, drvPath] of goldenCases) {
          const r = yield* runCase(drvPath, flagOptions(golden(`${name}.flags`)))
          const nix = parseStderr(golden(`${name}.stderr`)!)
          expect({ name, rc: r.rc }).toEqual({ name, rc: Number(golden(`${name}.rc`)) })
          expect({ name, errors: r.errors }).toEqual({ name, errors: nix.errors })
          expect({ name, progress: r.progress }).toEqual({ name, progress: nix.progress })
          const nixLog = golden(`${name}.log`)
          if (nixLog !== undefined) {
            expect({ name, log: r.log }).toEqual({ name, log: nixLog })
            const ours = yield* builder.readLog(drvPath)
            expect(Buffer.from(Option.getOrThrow(ours)).toString("latin1")).toBe(nixLog)
          }
          const outputs = golden(`${name}.outputs`)
          if (outputs !== undefined && name !== "nondet") {
            expect({ name, outputs: yield* describeOutputs(drvPath) }).toEqual({ name, outputs })
          }
          const valid = golden(`${name}.valid`)
          if (valid !== undefined) expect({ name, valid: yield* validOf(drvPath) }).toEqual({ name, valid })
        }
        // --check: a deterministic output passes, a nondeterministic one is reported (104).
        for (const name of ["simple", "nondet"]) {
          const drvPath = goldenCases.find(([n]) => n === name)![1]
          const r = yield* runCase(drvPath, { check: true })
          const nix = parseStderr(golden(`check-${name}.stderr`)!)
          expect({ name, rc: r.rc, errors: r.errors, progress: r.progress }).toEqual({
            name,
            rc: Number(golden(`check-${name}.rc`)),
            errors: nix.errors,
            progress: nix.progress
          })
        }
        // Nothing is left behind: no lock files of outputs being built, no build directories of ours.
        expect(fs.readdirSync(goldenLayout.realStoreDir).filter((e) => e.endsWith(".check"))).toEqual([])
      }).pipe(Effect.provide(builderLayers(goldenLayout))),
    60_000
  )
})
