/**
 * Held-out comparison with Nix 2.8 of the builder's features (golden/build-features, made by its
 * generate.sh): output checks (allowedReferences & co, structured outputChecks), `--repeat` and
 * `repeat`, post-build-hook, `@nix` structured log lines, secret-key-files signing, and
 * substitution of a derivation's outputs from a file:// cache before building it (through the CLI,
 * with `--dry-run`). Compared: exit statuses, what Nix printed (the whole stderr but for the
 * "will be built" list and the --add-root warning), logs, output paths, NAR hashes and references,
 * signatures, what is valid afterwards and the kept `.check` outputs.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Stream } from "effect"
import { Buffer } from "node:buffer"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { filterAnsiEscapes } from "../../src/builder/structuredLog.js"
import { printHash } from "../../src/core/hash.js"
import { localStoreLayout } from "../../src/core/storeLayout.js"
import { Builder, type BuildOptions } from "../../src/services/Builder.js"
import { Store } from "../../src/services/Store.js"
import { builderLayers, busybox, defaultOptions, wipe } from "./helpers.js"
import { createHash } from "node:crypto"

const here = path.dirname(fileURLToPath(import.meta.url))
const dir = path.resolve(here, "../../golden/build-features")
const golden = (name: string): string | undefined => {
  const f = path.join(dir, name)
  return fs.existsSync(f) ? fs.readFileSync(f, "latin1") : undefined
}
const cases = new Map(golden("cases.txt")!.trim().split("\n").map((l) => l.split(" ") as [string, string]))
const root = "/tmp/tsnix-golden-features"
const layout = localStoreLayout({ storeDir: `${root}/store`, stateDir: `${root}/state`, logDir: `${root}/log` })
const sameBusybox = fs.existsSync(busybox) &&
  createHash("sha256").update(fs.readFileSync(busybox)).digest("hex") === golden("busybox.sha256")!.trim()
const tsnix = path.resolve(here, "../../bin/tsnix")
const haveCli = fs.existsSync(path.resolve(here, "../../dist"))

if (!sameBusybox) {
  console.warn("builder feature goldens skipped: /usr/bin/busybox (Debian busybox-static) is missing or not theirs")
}

/** Nix's stderr without what the CLI prints around builds (the "will be built" list, the root warning). */
const nixTerminal = (stderr: string) => {
  const out: Array<string> = []
  let inList = false
  for (const line of stderr.split("\n").slice(0, -1)) {
    if (line === "this derivation will be built:" || /^these \d+ derivations will be built:$/.test(line)) {
      inList = true
      continue
    }
    if (inList && line.startsWith("  /")) continue
    inList = false
    if (line.startsWith("warning: you did not specify '--add-root'")) continue
    out.push(line)
  }
  return out.join("\n").replace(/(nix-build-[^']*-)[0-9]+'/g, "$1N'")
}

/** The case's settings: `--repeat N`, `-K` and the extra NIX_CONFIG lines the generator used. */
const optionsOf = (name: string): Partial<BuildOptions> => {
  const o: { -readonly [K in keyof BuildOptions]?: BuildOptions[K] } = {}
  const flags = (golden(`${name}.flags`) ?? "").trim().split(/\s+/)
  for (let i = 0; i < flags.length; i++) {
    if (flags[i] === "--repeat") o.repeat = Number(flags[++i])
    if (flags[i] === "-K") o.keepFailed = true
  }
  for (const line of (golden(`${name}.conf`) ?? "").split("\n")) {
    const m = /^([a-z-]+) = (.*)$/.exec(line)
    if (m === null) continue
    if (m[1] === "repeat") o.repeat = Number(m[2])
    if (m[1] === "post-build-hook") o.postBuildHook = m[2]
    // The generator's key file, wherever this checkout is.
    if (m[1] === "secret-key-files") o.secretKeyFiles = [path.join(dir, path.basename(m[2]!))]
  }
  return o
}

const importDrvs = Effect.gen(function*() {
  const store = yield* Store
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-bb-"))
  fs.mkdirSync(path.join(tmp, "bb"))
  fs.copyFileSync(busybox, path.join(tmp, "bb/busybox"))
  fs.chmodSync(path.join(tmp, "bb/busybox"), 0o755)
  const bb = yield* store.addToStore(path.join(tmp, "bb"))
  fs.rmSync(tmp, { recursive: true, force: true })
  expect(bb).toBe(golden("bb.path")!.trim())
  yield* store.importPaths(Stream.make(new Uint8Array(fs.readFileSync(path.join(dir, "drvs.export")))))
})

const describeOutputs = (paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const store = yield* Store
    const lines: Array<string> = []
    for (const o of paths) {
      const info = Option.getOrThrow(yield* store.queryPathInfo(o))
      lines.push(
        `${o} sha256:${printHash(info.narHash, "nix32")} refs:${
          [...info.references].sort().map((r) => r + " ").join("")
        }`
      )
    }
    return lines.join("\n") + "\n"
  })

const sigsOf = (paths: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const store = yield* Store
    const lines: Array<string> = []
    for (const o of paths) {
      const info = Option.getOrThrow(yield* store.queryPathInfo(o))
      lines.push(`${o} ${[...info.sigs].sort().map((s) => JSON.stringify(s)).join(",")}`)
    }
    return lines.join("\n") + "\n"
  })

wipe(root)
fs.mkdirSync(root, { recursive: true })
afterAll(() => wipe(root))

const builderCases = [...cases.keys()].filter((c) => c !== "substB" && c !== "substC")

describe("builder features compared with Nix 2.8 (golden/build-features)", () => {
  it.scoped.skipIf(!sameBusybox)(
    "output checks, --repeat, post-build-hook, @nix lines and signing: what Nix printed, exit statuses, outputs",
    () =>
      Effect.gen(function*() {
        for (const h of ["hook-ok.sh", "hook-fail.sh"]) {
          fs.copyFileSync(path.join(dir, h), path.join(root, h))
          fs.chmodSync(path.join(root, h), 0o755)
        }
        yield* importDrvs
        const builder = yield* Builder
        const store = yield* Store
        for (const name of builderCases) {
          const drvPath = cases.get(name)!
          const terminal: Array<string> = []
          const log: Array<Buffer> = []
          const exit = yield* Effect.exit(builder.buildDerivations([{ drvPath }], {
            ...defaultOptions,
            ...optionsOf(name),
            onLog: (c) => log.push(Buffer.from(c)),
            onLogLine: (l) => terminal.push(Buffer.from(filterAnsiEscapes(l, true)).toString("latin1")),
            onInfo: (l) => terminal.push(l),
            onError: (m) => terminal.push(`error: ${m.split("\n").join("\n       ")}`)
          }))
          let rc = 0
          if (Exit.isFailure(exit)) {
            const e = exit.cause._tag === "Fail" ? exit.cause.error : undefined
            if (e?._tag !== "BuildFailedError") throw new Error(`${name}: unexpected failure: ${String(exit.cause)}`)
            rc = e.exitStatus
            for (const m of e.messages) terminal.push(`error: ${m.split("\n").join("\n       ")}`)
          }
          let expected = nixTerminal(golden(`${name}.stderr`)!)
          // Nix 2.8.0 gives the hook an empty OUT_PATHS (fixed in 2.8.1): tsnix gives the built outputs.
          const outs = yield* store.queryDerivationOutputs(drvPath)
          expected = expected.replace(
            /^post-build-hook: OUT_PATHS=$/m,
            `post-build-hook: OUT_PATHS=${[...outs].sort().join(" ")}`
          )
          expect({ name, rc, terminal: terminal.join("\n").replace(/(nix-build-[^']*-)[0-9]+'/g, "$1N'") }).toEqual({
            name,
            rc: Number(golden(`${name}.rc`)),
            terminal: expected
          })
          const nixLog = golden(`${name}.log`)
          if (nixLog !== undefined) {
            expect({ name, log: Buffer.concat(log).toString("latin1") }).toEqual({ name, log: nixLog })
          }
          const outputs = golden(`${name}.outputs`)
          if (outputs !== undefined) {
            expect({ name, outputs: yield* describeOutputs(outs) }).toEqual({ name, outputs })
          }
          const sigs = golden(`${name}.sigs`)
          if (sigs !== undefined) expect({ name, sigs: yield* sigsOf(outs) }).toEqual({ name, sigs })
          // After a failure: what Nix left valid is valid, what it left invalid is not; kept `.check` outputs exist.
          for (const line of (golden(`${name}.valid`) ?? "").split("\n").filter((l) => l !== "")) {
            const [p, state] = line.split(" ") as [string, string]
            if (p.endsWith(".check")) expect({ name, p, kept: fs.existsSync(p) }).toEqual({ name, p, kept: true })
            else expect({ name, p, valid: yield* store.isValidPath(p) }).toEqual({ name, p, valid: state === "valid" })
          }
        }
        for (const d of fs.readdirSync("/tmp").filter((e) => e.startsWith("nix-build-rep-nondet-k.drv-"))) {
          wipe(path.join("/tmp", d))
        }
        for (const e of fs.readdirSync(layout.realStoreDir).filter((e) => e.endsWith(".check"))) {
          wipe(path.join(layout.realStoreDir, e))
        }
      }).pipe(Effect.provide(builderLayers(layout))),
    60_000
  )

  it.skipIf(!sameBusybox || !haveCli)(
    "-r substitutes a derivation's outputs from a file:// cache Nix made, builds the rest; --dry-run says so",
    () => {
      // A fresh store (the first test's process holds temporary roots there) with only the .drv files.
      wipe(root)
      fs.mkdirSync(path.join(root, "src/bb"), { recursive: true })
      fs.copyFileSync(busybox, path.join(root, "src/bb/busybox"))
      fs.cpSync(path.join(dir, "cache"), path.join(root, "cache"), { recursive: true })
      const env = {
        ...process.env,
        TSNIX_STORE: "local",
        NIX_STORE_DIR: layout.storeDir,
        NIX_STATE_DIR: layout.stateDir,
        NIX_LOG_DIR: layout.logDir,
        NIX_CONFIG: [
          "sandbox = false",
          "cores = 2",
          `substituters = file://${root}/cache`,
          `trusted-public-keys = ${golden("key.pub")!.trim()}`
        ].join("\n")
      }
      const run = (args: ReadonlyArray<string>, input?: Buffer) =>
        spawnSync(tsnix, args, { env, encoding: "latin1", ...(input !== undefined ? { input } : {}) })
      expect(run(["--add", path.join(root, "src/bb")]).stdout.trim()).toBe(golden("bb.path")!.trim())
      expect(run(["--import"], fs.readFileSync(path.join(dir, "drvs.export"))).status).toBe(0)
      const substA = cases.get("substA")!
      for (
        const [name, args] of [
          ["subst-dry", ["-r", "--dry-run", cases.get("substB")!, cases.get("substC")!]],
          ["subst-dry-a", ["-r", "--dry-run", substA]],
          ["subst-b", ["-r", cases.get("substB")!]],
          ["subst-c", ["-r", cases.get("substC")!]]
        ] as const
      ) {
        const r = run(args)
        expect({ name, rc: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({
          name,
          rc: Number(golden(`${name}.rc`)),
          stderr: golden(`${name}.stderr`),
          stdout: golden(`${name}.stdout`)
        })
      }
      // What subst-b left: subst-a fetched (with Nix's signature), subst-b built on it.
      const q = (p: string) =>
        `${p} ${run(["-q", "--hash", p]).stdout.trim()} refs:${
          run(["-q", "--references", p]).stdout.split("\n").filter((l) => l !== "").sort().map((l) => l + " ").join("")
        }`
      const expected = golden("subst-b.outputs")!
      const paths = expected.trim().split("\n").map((l) => l.split(" ")[0]!)
      expect(paths.map(q).join("\n") + "\n").toBe(expected)
      const sigsOfPath = (p: string) => {
        const json = JSON.parse(run(["path-info", "--json", p]).stdout) as Array<{ signatures?: Array<string> }>
        return `${p} ${(json[0]?.signatures ?? []).map((x) => JSON.stringify(x)).join(",")}`
      }
      expect(sigsOfPath(paths[0]!) + "\n").toBe(golden("subst-b.sigs"))
      // --check of the substituted (not ultimate) subst-a with another key: verified, then signed with it.
      env.NIX_CONFIG += `\nsecret-key-files = ${path.join(dir, "key2.sec")}`
      const check = run(["-r", "--check", substA])
      expect({ rc: check.status, stderr: check.stderr, stdout: check.stdout }).toEqual({
        rc: Number(golden("subst-check.rc")),
        stderr: golden("subst-check.stderr"),
        stdout: golden("subst-check.stdout")
      })
      expect(sigsOfPath(paths[0]!) + "\n").toBe(golden("subst-check.sigs"))
      // --add signs nothing (Nix 2.8 signs built outputs only).
      fs.mkdirSync(path.join(root, "added"))
      fs.writeFileSync(path.join(root, "added/f"), "added\n")
      const added = run(["--add", path.join(root, "added")]).stdout.trim()
      expect(`${sigsOfPath(added)}\n`).toBe(golden("add-signed.sigs"))
    },
    60_000
  )
})
