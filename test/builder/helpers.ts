/**
 * Builder tests: the goldens of golden/build (Nix 2.8, unsandboxed, in the
 * store at /tmp/tsnix-golden-build), the layers of a local store there, and
 * the default build options.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Layer, Stream } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as BuilderLive from "../../src/builder/layer.js"
import { localStoreLayout, type StoreLayout } from "../../src/core/storeLayout.js"
import type { BuildOptions } from "../../src/services/Builder.js"
import { Store } from "../../src/services/Store.js"
import { Derivations } from "../../src/services/Derivations.js"
import type { Derivation } from "../../src/core/derivation/schema.js"
import { withOutputPaths } from "../../src/core/derivation/outputs.js"
import * as DerivationsLive from "../../src/stores/local/derivations.js"
import * as Local from "../../src/stores/local/layer.js"

/** Directory of the builder goldens. */
export const goldenBuildDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../golden/build")

/** A golden file as text, or undefined when it does not exist. */
export const golden = (name: string): string | undefined => {
  const f = path.join(goldenBuildDir, name)
  return fs.existsSync(f) ? fs.readFileSync(f, "latin1") : undefined
}

/** The cases (name → .drv path), in the order Nix built them. */
export const goldenCases: ReadonlyArray<readonly [string, string]> = golden("cases.txt")!
  .trim()
  .split("\n")
  .map((l) => l.split(" ") as [string, string])

/** The directory of the goldens' store (logical = real: an unsandboxed store). */
export const goldenRoot = "/tmp/tsnix-golden-build"

/** Its layout. */
export const goldenLayout: StoreLayout = localStoreLayout({
  storeDir: `${goldenRoot}/store`,
  stateDir: `${goldenRoot}/state`,
  logDir: `${goldenRoot}/log`
})

/** Empties a directory tree that may hold read-only store objects. */
export const wipe = (dir: string) => {
  if (!fs.existsSync(dir)) return
  const walk = (p: string) => {
    const st = fs.lstatSync(p)
    if (st.isDirectory()) {
      fs.chmodSync(p, 0o755)
      for (const e of fs.readdirSync(p)) walk(path.join(p, e))
    }
  }
  walk(dir)
  fs.rmSync(dir, { recursive: true, force: true })
}

/** Store + LocalStore + Lock + Derivations + Builder for a layout. */
export const builderLayers = (layout: StoreLayout) => {
  const store = Local.layerLive({ layout, fsyncMetadata: false })
  const derivations = DerivationsLive.layer(layout).pipe(Layer.provide(NodeFileSystem.layer))
  const all = Layer.mergeAll(store, derivations)
  return BuilderLive.layer.pipe(Layer.provideMerge(all))
}

/** The static busybox the goldens' builders are (Debian busybox-static). */
export const busybox = "/usr/bin/busybox"

/** True when /usr/bin/busybox is the one the goldens were made with (else their paths differ). */
export const sameBusybox = fs.existsSync(busybox) &&
  createHash("sha256").update(fs.readFileSync(busybox)).digest("hex") === golden("busybox.sha256")!.trim()

/**
 * Adds the builder's directory (`bb/busybox`, as Nix's `${./bb}` did) and imports the goldens'
 * `.drv` files (`nix-store --export` by Nix).
 */
export const importGoldenDrvs = Effect.gen(function*() {
  const store = yield* Store
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-bb-"))
  fs.mkdirSync(path.join(dir, "bb"))
  fs.copyFileSync(busybox, path.join(dir, "bb/busybox"))
  fs.chmodSync(path.join(dir, "bb/busybox"), 0o755)
  const bb = yield* store.addToStore(path.join(dir, "bb"))
  fs.rmSync(dir, { recursive: true, force: true })
  if (bb !== golden("bb.path")!.trim()) throw new Error(`busybox directory is ${bb}, not ${golden("bb.path")}`)
  yield* store.importPaths(Stream.make(new Uint8Array(fs.readFileSync(path.join(goldenBuildDir, "drvs.export")))))
})

/** Nix's defaults, unsandboxed, 2 cores (as the goldens were made). */
export const defaultOptions: BuildOptions = {
  maxJobs: 1,
  cores: 2,
  timeout: 0,
  maxSilentTime: 0,
  keepFailed: false,
  keepGoing: false,
  check: false,
  cacheFailure: false,
  sandbox: "false",
  sandboxFallback: true,
  sandboxPaths: [],
  keepBuildLog: true,
  compressBuildLog: true,
  maxLogSize: 0
}

/** A fresh unsandboxed store (logical = real directory) under a temp dir. */
export const makeTempLayout = (prefix: string): { readonly top: string; readonly layout: StoreLayout } => {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  return {
    top,
    layout: localStoreLayout({ storeDir: `${top}/store`, stateDir: `${top}/state`, logDir: `${top}/log` })
  }
}

/** Adds the busybox builder directory (`bb/busybox`) to the store in context; returns the builder's path. */
export const addBusybox = Effect.gen(function*() {
  const store = yield* Store
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-bb-"))
  fs.mkdirSync(path.join(dir, "bb"))
  fs.copyFileSync(busybox, path.join(dir, "bb/busybox"))
  fs.chmodSync(path.join(dir, "bb/busybox"), 0o755)
  const bb = yield* store.addToStore(path.join(dir, "bb"))
  fs.rmSync(dir, { recursive: true, force: true })
  return `${bb}/busybox`
})

/**
 * Writes a derivation running `busybox sh -c SCRIPT` (env: `extra`; inputs: `inputDrvs` with their
 * `out`) into the store in context, with the output paths Nix computes. Returns the `.drv` path.
 */
export const addShellDerivation = (
  builder: string,
  name: string,
  script: string,
  extra: Readonly<Record<string, string>> = {},
  inputDrvs: ReadonlyArray<string> = [],
  outputs: ReadonlyArray<string> = ["out"]
) =>
  Effect.gen(function*() {
    const store = yield* Store
    const derivations = yield* Derivations
    const bbPath = builder.slice(0, builder.lastIndexOf("/"))
    const env = new Map<string, string>([
      ["builder", builder],
      ["name", name],
      ["system", "x86_64-linux"],
      ...(outputs.length > 1 ? [["outputs", outputs.join(" ")] as [string, string]] : []),
      ...Object.entries(extra),
      ...outputs.map((o) => [o, ""] as [string, string])
    ])
    const blank: Derivation = {
      name,
      outputs: new Map(outputs.map((o) => [o, { path: "", hashAlgo: "", hash: "" }])),
      inputDrvs: new Map(inputDrvs.map((d) => [d, ["out"]])),
      inputSrcs: [bbPath],
      system: "x86_64-linux",
      builder,
      args: ["sh", "-c", script],
      env
    }
    const paths = yield* derivations.outputPaths(blank)
    const drv = withOutputPaths(blank, paths)
    const info = yield* derivations.storePath(drv)
    return yield* store.addTextToStore(`${name}.drv`, info.bytes, info.references)
  })
