/**
 * `--repeat` beyond what the goldens show (golden/build-features covers rounds, a differing round
 * with and without -K): `enforce-determinism = false` prints the difference and registers the last
 * round; a post-build hook runs after every round, with the outputs only after the last; a hook
 * that fails leaves the outputs valid and fails the goal with exit 1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { Builder } from "../../src/services/Builder.js"
import type { Derivations } from "../../src/services/Derivations.js"
import { Store } from "../../src/services/Store.js"
import { addBusybox, addShellDerivation, builderLayers, defaultOptions, makeTempLayout, wipe } from "./helpers.js"

const hasBusybox = fs.existsSync("/usr/bin/busybox")

const withStore = <A, E>(
  body: (top: string) => Effect.Effect<A, E, Builder | Store | Derivations>
) => {
  const { top, layout } = makeTempLayout("tsnix-repeat-")
  return body(top).pipe(Effect.provide(builderLayers(layout)), Effect.ensuring(Effect.sync(() => wipe(top))))
}

describe("--repeat and post-build-hook", () => {
  it.scoped.skipIf(!hasBusybox)(
    "enforce-determinism = false: the difference is printed, the last round registered",
    () =>
      withStore(() =>
        Effect.gen(function*() {
          const bb = yield* addBusybox
          const drv = yield* addShellDerivation(bb, "nondet", "cat /proc/sys/kernel/random/uuid > $out")
          const info: Array<string> = []
          const r = yield* (yield* Builder).buildDerivations([{ drvPath: drv }], {
            ...defaultOptions,
            repeat: 2,
            enforceDeterminism: false,
            onInfo: (l) => info.push(l)
          })
          expect(r[0]!.status).toBe("Built")
          expect(r[0]!.timesBuilt).toBe(2)
          const out = r[0]!.outputs["out"]!
          expect(info.filter((l) => l.startsWith("building "))).toEqual([
            `building '${drv}' (round 1/3)...`,
            `building '${drv}' (round 2/3)...`
          ])
          expect(info).toContain(`output '${out}' of '${drv}' differs from previous round`)
          expect(yield* (yield* Store).isValidPath(out)).toBe(true)
        })
      )
  )

  it.scoped.skipIf(!hasBusybox)(
    "the hook runs after each round (OUT_PATHS only after the last); a failing hook fails the goal",
    () =>
      withStore((top) =>
        Effect.gen(function*() {
          const bb = yield* addBusybox
          const drv = yield* addShellDerivation(bb, "same", "echo same > $out")
          const hook = path.join(top, "hook.sh")
          const seen = path.join(top, "seen")
          fs.writeFileSync(
            hook,
            `#!/bin/sh\necho "[$OUT_PATHS]" >> ${seen}\nexit $(cat ${top}/status 2>/dev/null || echo 0)\n`,
            {
              mode: 0o755
            }
          )
          const builder = yield* Builder
          const r = yield* builder.buildDerivations([{ drvPath: drv }], {
            ...defaultOptions,
            repeat: 1,
            postBuildHook: hook
          })
          const out = r[0]!.outputs["out"]!
          expect(fs.readFileSync(seen, "utf8")).toBe(`[]\n[${out}]\n`)
          // A failing hook: exit 1 with Nix's message; the output is valid all the same.
          const drv2 = yield* addShellDerivation(bb, "other", "echo other > $out")
          fs.writeFileSync(path.join(top, "status"), "4\n")
          const exit = yield* Effect.exit(builder.buildDerivations([{ drvPath: drv2 }], {
            ...defaultOptions,
            postBuildHook: hook
          }))
          expect(Exit.isFailure(exit)).toBe(true)
          if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "BuildFailedError") {
            expect(exit.cause.error.exitStatus).toBe(1)
            expect(exit.cause.error.messages).toEqual([`program '${hook}' failed with exit code 4`])
          } else throw new Error(`unexpected: ${String(exit)}`)
          const store = yield* Store
          const [out2] = yield* store.queryDerivationOutputs(drv2)
          expect(yield* store.isValidPath(out2!)).toBe(true)
        })
      )
  )
})
