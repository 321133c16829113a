/**
 * The folders of src/ keep telling the truth: no import cycles anywhere, and
 * the dependency rule core ← io ← services ← stores/* ← {daemon, builder,
 * serve, cli}. Stores never import each other (stores/generic may be
 * imported by any store; the top-level stores/*.ts files — the URI factory —
 * may import every store). `config/` sits beside io (it imports only core);
 * `layers/` holds implementations of non-store services (at the stores'
 * level). `testing/` may import anything, and nothing in src but testing
 * imports it. The contracts (services/) import nothing but effect, core and
 * other services.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src")

const walk = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []
  )

/** Every import specifier of a module: static (type-only included), re-exports and dynamic imports. */
export const specifiers = (text: string): Array<string> => {
  const out: Array<string> = []
  const re = /^\s*(?:import|export)\s[^"';]*?\sfrom\s*"([^"]+)"|^\s*import\s*"([^"]+)"|import\(\s*"([^"]+)"\s*\)/gm
  for (const m of text.matchAll(re)) {
    const s = m[1] ?? m[2] ?? m[3]
    if (s !== undefined) out.push(s)
  }
  return out
}

/** The import graph of src/: module (relative to src) → the modules and packages it imports. */
const graph = () => {
  const local = new Map<string, Array<string>>()
  const external = new Map<string, Array<string>>()
  for (const file of walk(src)) {
    const rel = path.relative(src, file)
    const text = fs.readFileSync(file, "utf8")
    const locals: Array<string> = []
    const externals: Array<string> = []
    for (const s of specifiers(text)) {
      if (s.startsWith(".")) {
        locals.push(path.relative(src, path.resolve(path.dirname(file), s.replace(/\.js$/, ".ts"))))
      } else externals.push(s)
    }
    local.set(rel, locals)
    external.set(rel, externals)
  }
  return { local, external }
}

/** The cycles of a graph (one per strongly connected component with more than one module, or a self-import). */
export const cycles = (g: ReadonlyMap<string, ReadonlyArray<string>>): Array<Array<string>> => {
  // Tarjan's algorithm, iterative enough for our module counts.
  let index = 0
  const idx = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const on = new Set<string>()
  const out: Array<Array<string>> = []
  const strong = (v: string) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue
      if (!idx.has(w)) {
        strong(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!))
    }
    if (low.get(v) === idx.get(v)) {
      const comp: Array<string> = []
      for (;;) {
        const w = stack.pop()!
        on.delete(w)
        comp.push(w)
        if (w === v) break
      }
      if (comp.length > 1 || (g.get(v) ?? []).includes(v)) out.push(comp.sort())
    }
  }
  for (const v of [...g.keys()].sort()) if (!idx.has(v)) strong(v)
  return out
}

/** The part of the architecture a module belongs to. */
export const partOf = (module: string): string => {
  const [top, sub] = module.split(path.sep)
  if (top === "stores") return sub !== undefined && module.split(path.sep).length > 2 ? `stores/${sub}` : "stores"
  if (module === "version.ts") return "core"
  if (module === "index.ts") return "index"
  return top ?? module
}

const lower: Record<string, ReadonlyArray<string>> = {
  core: ["core"],
  io: ["core", "io"],
  config: ["core", "config"],
  services: ["core", "services"],
  layers: ["core", "io", "config", "services", "layers"]
}

/** Whether a module of part `from` may import a module of part `to`. */
export const mayImport = (from: string, to: string): boolean => {
  if (from === "testing") return true
  if (to === "testing") return false
  const allowed = lower[from]
  if (allowed !== undefined) return allowed.includes(to)
  const belowStores = ["core", "io", "config", "services"]
  if (from.startsWith("stores/")) return belowStores.includes(to) || to === from || to === "stores/generic"
  if (from === "stores") return belowStores.includes(to) || to === "stores" || to.startsWith("stores/")
  // daemon, builder, serve, cli and the package entry point: anything but testing.
  return true
}

/**
 * Whether a CLI module may import `to` (relative to src): any module outside
 * the stores; of the stores, only the URI factory (top-level `stores/*.ts`)
 * and layer factories (`layer.ts` modules, and `stores/local/derivations.ts`,
 * the Derivations layer). Everything else goes through the services.
 */
export const cliMayImport = (to: string): boolean => {
  const parts = to.split(path.sep)
  if (parts[0] !== "stores" || parts.length === 2) return true
  // stores/generic: operations over the contracts themselves (closure, copy between two stores), not a store.
  if (parts[1] === "generic") return true
  return parts[parts.length - 1] === "layer.ts" || to === path.join("stores", "local", "derivations.ts")
}

describe("src/ import graph", () => {
  const { external, local } = graph()

  it("has no cycles", () => {
    expect(local.size).toBeGreaterThan(100)
    expect(cycles(local)).toEqual([])
  })

  it("follows the dependency rule (core ← io ← services ← stores ← cli; stores never import each other)", () => {
    const violations: Array<string> = []
    for (const [from, tos] of local) {
      for (const to of tos) if (!mayImport(partOf(from), partOf(to))) violations.push(`${from} -> ${to}`)
    }
    expect(violations).toEqual([])
  })

  it("the CLI reaches the stores only through the URI factory and layer factories", () => {
    const violations: Array<string> = []
    for (const [from, tos] of local) {
      if (partOf(from) !== "cli") continue
      for (const to of tos) if (!cliMayImport(to)) violations.push(`${from} -> ${to}`)
    }
    expect(violations).toEqual([])
    expect(cliMayImport(path.join("stores", "fromUri.ts"))).toBe(true)
    expect(cliMayImport(path.join("stores", "local", "gc", "layer.ts"))).toBe(true)
    expect(cliMayImport(path.join("stores", "local", "ops", "drvOutputs.ts"))).toBe(false)
  })

  it("the contracts import nothing but effect (and core, other services)", () => {
    const bad: Array<string> = []
    for (const [from, pkgs] of external) {
      if (partOf(from) !== "services") continue
      for (const p of pkgs) if (p !== "effect" && !p.startsWith("effect/")) bad.push(`${from} -> ${p}`)
    }
    expect(bad).toEqual([])
  })

  it("the checks can fail: a cycle and a forbidden import are seen", () => {
    expect(cycles(new Map([["a.ts", ["b.ts"]], ["b.ts", ["a.ts"]], ["c.ts", ["a.ts"]]]))).toEqual([["a.ts", "b.ts"]])
    expect(mayImport("services", "stores/local")).toBe(false)
    expect(mayImport("stores/local", "stores/daemon")).toBe(false)
    expect(mayImport("stores/daemon", "stores/generic")).toBe(true)
    expect(mayImport("core", "io")).toBe(false)
    expect(mayImport("cli", "testing")).toBe(false)
    expect(mayImport("testing", "cli")).toBe(true)
    expect(partOf(path.join("stores", "local", "db", "open.ts"))).toBe("stores/local")
    expect(partOf(path.join("stores", "fromUri.ts"))).toBe("stores")
  })
})
