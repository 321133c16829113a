/**
 * `tsnix/core` (src/core/index.ts) reaches only pure modules: its import graph
 * holds no package but `effect` and Node's built-ins, and no file outside
 * src/core. (test/packaging/pack.test.ts checks the
 * same at run time on the packed package: importing it loads no native addon.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src")

/** Static and dynamic import specifiers of a TypeScript module (type-only imports excluded). */
const specifiers = (file: string): Array<string> => {
  const text = fs.readFileSync(file, "utf8")
  const out: Array<string> = []
  const re =
    /^\s*(import|export)\s+(type\s+)?[^"';]*?\s*from\s*"([^"]+)"|^\s*import\s*"([^"]+)"|import\(\s*"([^"]+)"\s*\)/gm
  for (const m of text.matchAll(re)) {
    if (m[2] !== undefined) continue
    const s = m[3] ?? m[4] ?? m[5]
    if (s !== undefined) out.push(s)
  }
  // createRequire(...)("pkg") loads CommonJS packages such as native addons.
  for (const m of text.matchAll(/createRequire\([^)]*\)\(\s*"([^"]+)"\s*\)/g)) out.push(m[1] as string)
  return out
}

/** Every module reachable from `entry`, and the external specifiers they use. */
const graph = (entry: string) => {
  const files = new Set<string>()
  const external = new Set<string>()
  const todo = [entry]
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (files.has(f)) continue
    files.add(f)
    for (const s of specifiers(f)) {
      if (s.startsWith(".")) todo.push(path.resolve(path.dirname(f), s.replace(/\.js$/, ".ts")))
      else external.add(s)
    }
  }
  return { files: [...files].map((f) => path.relative(src, f)).sort(), external: [...external].sort() }
}

describe("tsnix/core import graph", () => {
  it("holds only effect, node: built-ins and pure modules", () => {
    const g = graph(path.join(src, "core", "index.ts"))
    expect(g.files).toContain("core/wire/index.ts")
    expect(g.files).toContain("core/exportFormat.ts")
    for (const f of g.files) expect(f.startsWith("core/"), f).toBe(true)
    for (const s of g.external) expect(s === "effect" || s.startsWith("node:"), s).toBe(true)
  })

  it("the wire encoders import nothing, so the NAR dump worker thread stays without Effect", () => {
    expect(graph(path.join(src, "core", "wire", "encode.ts"))).toEqual({ files: ["core/wire/encode.ts"], external: [] })
    const worker = graph(path.join(src, "io", "dumpWorker.ts"))
    expect(worker.files).toContain("core/wire/encode.ts")
    for (const s of worker.external) expect(s.startsWith("node:"), s).toBe(true)
  })

  it("the check sees native addons: the library's graph reaches fs-ext and the SQLite client", () => {
    const g = graph(path.join(src, "index.ts"))
    expect(g.external).toContain("fs-ext")
    expect(g.external.some((s) => s.startsWith("@effect/sql-sqlite-node"))).toBe(true)
  })
})
