/**
 * The published package, as a user gets it: `npm pack`, install the tarball into
 * a fresh project, type-check and run a sample that imports `tsnix`,
 * `tsnix/core` and `tsnix/testing` (test/packaging/sample/).
 *
 * Offline: the peer dependencies (effect, @effect/*) and fs-ext come from this
 * repository's node_modules as `file:` links (npm links them; `--legacy-peer-deps`
 * because npm's arborist fails on linked peers), so nothing beyond what `npm ci`
 * fetched is needed. Needs `dist/` (`npm test` builds it first).
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const sampleDir = path.join(repo, "test", "packaging", "sample")
const repoPackage = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as {
  readonly version: string
  readonly dependencies: Record<string, string>
  readonly peerDependencies: Record<string, string>
}

const run = (cmd: string, args: ReadonlyArray<string>, cwd: string): string =>
  execFileSync(cmd, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1" }
  })

/** Whether `version` satisfies a `~x.y.z` or `^x.y.z` range (the only forms package.json uses). */
const satisfies = (version: string, range: string): boolean => {
  const m = /^([~^])(\d+)\.(\d+)\.(\d+)$/.exec(range)
  const v = /^(\d+)\.(\d+)\.(\d+)$/.exec(version)
  if (m === null || v === null) throw new Error(`cannot compare ${version} with ${range}`)
  const [want, have] = [m.slice(2).map(Number), v.slice(1).map(Number)] as [Array<number>, Array<number>]
  const cmp = (a: Array<number>, b: Array<number>) => (a[0]! - b[0]!) || (a[1]! - b[1]!) || (a[2]! - b[2]!)
  if (cmp(have, want) < 0) return false
  // ~x.y.z: same x.y; ^x.y.z: same x (same x.y for 0.y).
  if (m[1] === "~" || want[0] === 0) return have[0] === want[0] && have[1] === want[1]
  return have[0] === want[0]
}

describe("the packed package", () => {
  it(
    "installs offline into a fresh project, type-checks and runs a sample of all three entry points and the command",
    () => {
      for (const f of ["index.js", "index.d.ts", "core/index.js", "testing/index.js", "bundle/tsnix.cjs"]) {
        if (!fs.existsSync(path.join(repo, "dist", f))) {
          throw new Error(
            `dist/${f} is missing: run 'npm run build' first`
          )
        }
      }
      const work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-pack-"))
      try {
        // Pack (dist is already built: no prepare script).
        const packed = JSON.parse(
          run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], repo)
        ) as Array<{ filename: string; files: Array<{ path: string }> }>
        const tarball = path.join(work, packed[0]!.filename)
        const files = new Set(packed[0]!.files.map((f) => f.path))
        for (const f of ["LICENSE", "CHANGELOG.md", "README.md", "bin/tsnix", "src/index.ts", "dist/index.d.ts.map"]) {
          expect(files.has(f), f).toBe(true)
        }
        expect([...files].some((f) => f.startsWith("test/") || f.startsWith("golden/"))).toBe(false)

        // A fresh project whose dependencies are the tarball plus the peers, linked from this repository.
        const proj = path.join(work, "proj")
        fs.mkdirSync(proj)
        const linked = [
          ...Object.keys(repoPackage.peerDependencies),
          ...Object.keys(repoPackage.dependencies),
          "@types/node",
          // Peer dependencies of @effect/platform-node, resolved from the link's location but
          // declared so that npm does not look for them.
          ...fs.readdirSync(path.join(repo, "node_modules", "@effect")).map((n) => `@effect/${n}`)
            .filter((n) => !["@effect/vitest", "@effect/eslint-plugin"].includes(n))
        ]
        const dependencies: Record<string, string> = { tsnix: `file:${tarball}` }
        for (const n of linked) dependencies[n] = `file:${path.join(repo, "node_modules", n)}`
        fs.writeFileSync(
          path.join(proj, "package.json"),
          JSON.stringify({ name: "tsnix-pack-sample", private: true, type: "module", dependencies }, null, 2)
        )
        run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--legacy-peer-deps"], proj)
        const installed = path.join(proj, "node_modules", "tsnix")
        expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false)
        expect(fs.existsSync(path.join(proj, "node_modules", ".bin", "tsnix"))).toBe(true)

        // The peers this repository tests with satisfy the published ranges.
        const published = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as {
          peerDependencies: Record<string, string>
        }
        for (const [name, range] of Object.entries(published.peerDependencies)) {
          const v = (JSON.parse(fs.readFileSync(path.join(proj, "node_modules", name, "package.json"), "utf8")) as {
            version: string
          }).version
          expect(satisfies(v, range), `${name}@${v} satisfies ${range}`).toBe(true)
        }

        // Declaration maps and source maps point into the shipped sources.
        for (
          const map of [
            "dist/index.d.ts.map",
            "dist/core/index.d.ts.map",
            "dist/testing/index.d.ts.map",
            "dist/core/wire/decode.js.map"
          ]
        ) {
          const m = JSON.parse(fs.readFileSync(path.join(installed, map), "utf8")) as { sources: Array<string> }
          for (const s of m.sources) {
            expect(fs.existsSync(path.resolve(path.dirname(path.join(installed, map)), s)), s).toBe(true)
          }
        }

        // Type-check the sample against the installed declarations (skipLibCheck off: they are checked too).
        for (const f of ["sample.ts", "native-addons.mjs", "tsconfig.json"]) {
          fs.copyFileSync(path.join(sampleDir, f), path.join(proj, f))
        }
        run(
          process.execPath,
          [path.join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
          proj
        )

        // Run it: a chroot store through `tsnix`, the temporary store of `tsnix/testing`.
        const root = path.join(work, "store")
        const out = JSON.parse(run(process.execPath, [path.join(proj, "out", "sample.js"), root], proj)) as {
          version: string
          local: { path: string; exported: Array<string>; valid: Array<string> }
          test: { path: string; exported: Array<string>; valid: Array<string> }
          hashBytes: number
          wire: string
        }
        // builtins.toFile "greeting" "Hello, world\n" in Nix 2.8 gives this path.
        const greeting = "/nix/store/k5v4i4iqvhjdyciz8vlrg93hjcb04aj1-greeting"
        expect(out.version).toBe(repoPackage.version)
        expect(out.local).toEqual({ path: greeting, exported: [greeting], valid: [greeting] })
        expect(out.test).toEqual(out.local)
        expect(out.hashBytes).toBe(20)
        expect(out.wire).toBe("0500000000000000" + Buffer.from("tsnix").toString("hex") + "000000")
        expect(fs.existsSync(path.join(root, "nix", "var", "nix", "db", "db.sqlite"))).toBe(true)

        // The command runs from the installed package (its bundle finds better-sqlite3 and fs-ext).
        const tsnix = (...args: Array<string>) =>
          run(process.execPath, [path.join(proj, "node_modules", ".bin", "tsnix"), ...args], proj).trim()
        expect(tsnix("--version")).toContain(repoPackage.version)
        fs.writeFileSync(path.join(work, "hello.txt"), "hello\n")
        // `nix-store --add hello.txt` (Nix 2.8) gives this path.
        expect(tsnix("--store", path.join(work, "cli-store"), "--add", path.join(work, "hello.txt"))).toBe(
          "/nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt"
        )

        // `tsnix/core` loads no native addon, nor does importing the library (fs-ext and SQLite load on
        // first use); the probe sees one when a module loads it at import (fs-ext itself), so it works.
        const addons = (spec: string) =>
          JSON.parse(run(process.execPath, [path.join(proj, "native-addons.mjs"), spec], proj)) as Array<string>
        expect(addons("tsnix/core")).toEqual([])
        expect(addons("fs-ext").some((f) => f.endsWith("fs_ext.node"))).toBe(true)
      } finally {
        fs.rmSync(work, { recursive: true, force: true })
      }
    },
    120_000
  )
})
