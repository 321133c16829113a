/**
 * Sandboxed builds in a chroot store (logical /nix/store, real <tmp>/nix/store), compared with
 * Nix 2.8's own sandboxed builds of the same .drv files (golden/build/chroot): exit statuses,
 * Nix's messages, output paths, NAR hashes and references. Skipped, with a message naming the
 * package, when bubblewrap cannot run here.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { sandboxAvailable } from "../../src/builder/sandbox/index.js"
import { printHash } from "../../src/core/hash.js"
import { makeStoreLayout } from "../../src/core/storeLayout.js"
import { Builder } from "../../src/services/Builder.js"
import { Store } from "../../src/services/Store.js"
import { builderLayers, busybox, defaultOptions, golden, sameBusybox, wipe } from "./helpers.js"

const bwrapOk = await Effect.runPromise(sandboxAvailable)
if (!bwrapOk) console.warn("chroot-store build tests skipped: bubblewrap cannot run here (Debian package bubblewrap)")
else if (!sameBusybox) console.warn("chroot-store build tests skipped: /usr/bin/busybox is not the goldens' one")

const cases = golden("chroot/cases.txt")!.trim().split("\n").map((l) => l.split(" ") as [string, string])
const errorsOf = (stderr: string) => {
  const errors: Array<string> = []
  for (const line of stderr.split("\n")) {
    if (line.startsWith("error: ")) errors.push(line.slice(7))
    else if (line.startsWith("       ") && errors.length > 0) errors[errors.length - 1] += "\n" + line.slice(7)
  }
  return errors
}

describe("sandboxed builds in a chroot store, compared with Nix 2.8", () => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-chroot-build-"))
  const layout = makeStoreLayout(top)
  it.scoped.skipIf(!bwrapOk || !sameBusybox)("every chroot case", () =>
    Effect.gen(function*() {
      const store = yield* Store
      const builder = yield* Builder
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-bb-"))
      fs.mkdirSync(path.join(dir, "bb"))
      fs.copyFileSync(busybox, path.join(dir, "bb/busybox"))
      fs.chmodSync(path.join(dir, "bb/busybox"), 0o755)
      expect(yield* store.addToStore(path.join(dir, "bb"))).toBe(golden("chroot/bb.path")!.trim())
      fs.rmSync(dir, { recursive: true, force: true })
      yield* store.importPaths(Stream.make(
        new Uint8Array(fs.readFileSync(path.join(
          import.meta.dirname,
          "../../golden/build/chroot/drvs.export"
        )))
      ))
      for (const [name, drvPath] of cases) {
        const exit = yield* Effect.exit(builder.buildDerivations([{ drvPath }], { ...defaultOptions, sandbox: "true" }))
        const rc = Exit.isSuccess(exit)
          ? 0
          : exit.cause._tag === "Fail" && exit.cause.error._tag === "BuildFailedError"
          ? exit.cause.error.exitStatus
          : -1
        const messages =
          Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "BuildFailedError"
            ? exit.cause.error.messages
            : []
        expect({ name, rc, messages }).toEqual({
          name,
          rc: Number(golden(`chroot/${name}.rc`)),
          messages: errorsOf(golden(`chroot/${name}.stderr`)!)
        })
        const outputs = golden(`chroot/${name}.outputs`)
        if (outputs === undefined) continue
        const lines: Array<string> = []
        for (const o of yield* store.queryDerivationOutputs(drvPath)) {
          const info = Option.getOrThrow(yield* store.queryPathInfo(o))
          lines.push(
            `${o} sha256:${printHash(info.narHash, "nix32")} refs:${
              [...info.references].sort().map((r) => r + " ").join("")
            }`
          )
        }
        expect({ name, outputs: lines.join("\n") + "\n" }).toEqual({ name, outputs })
      }
      // The sandbox roots are gone.
      expect(fs.readdirSync(path.dirname(layout.realStoreDir)).filter((e) => e.startsWith(".tsnix-chroot"))).toEqual([])
    }).pipe(Effect.provide(builderLayers(layout)), Effect.ensuring(Effect.sync(() => wipe(top)))), 60_000)
})
