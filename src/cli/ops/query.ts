/**
 * `nix-store -q`: `--outputs` (the default), `-R/--requisites
 * [--include-outputs]`, `--references`, `--referrers`, `--referrers-closure`,
 * `-d/--deriver`, `--valid-derivers`, `-b/--binding NAME`, `--hash`, `--size`,
 * `--tree`, `--graph`, `--graphml`, with `-u/--use-output`. Paths are printed as nix-store prints them: sets in
 * the reverse of Nix's topological order (references first).
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { printHashWithAlgo } from "../../core/hash.js"
import { compareStrings, topoSort, topoSortPathsBreakingCycles } from "../../core/topoSort.js"
import { PathNotValidError } from "../../services/errors/database.js"
import { Store, type StoreShape } from "../../services/Store.js"
import { isDerivationPath } from "../../core/storePath.js"
import { globalFlags, UsageError } from "../argv.js"
import { Cli } from "../context.js"
import { DerivationArgError, Derivations, derivationFromPath, useDeriver, withDerivations } from "../derivationArg.js"
import { printLines, writeStdout } from "../io.js"
import type { Operation } from "../operation.js"
import { withStore } from "../storeLayers.js"
import { followLinksToStorePaths } from "../storePathArg.js"

const queryTypes = [
  "outputs",
  "requisites",
  "references",
  "referrers",
  "referrers-closure",
  "deriver",
  "valid-derivers",
  "binding",
  "hash",
  "size",
  "tree",
  "graph",
  "graphml",
  "roots"
] as const

/** A query kind nix-store knows. */
export type QueryType = (typeof queryTypes)[number]

const modifiers = ["include-outputs", "use-output", "force-realise"]

const treeConn = "├───"
const treeLast = "└───"
const treeLine = "│   "
const treeNull = "    "

const requireInfo = (store: StoreShape, p: string) =>
  Effect.flatMap(
    store.queryPathInfo(p),
    Option.match({
      onNone: () => Effect.fail(new PathNotValidError({ path: p })),
      onSome: Effect.succeed
    })
  )

/** The outputs of a `.drv` (read through the Derivations service; the store must have it valid), sorted by path. */
const derivationOutputPaths = (store: StoreShape, drvPath: string) =>
  Effect.gen(function*() {
    if (!(yield* store.isValidPath(drvPath))) return yield* new PathNotValidError({ path: drvPath })
    const drv = yield* withDerivations(Effect.flatMap(Derivations, (derivations) => derivations.read(drvPath)))
    const outputs: Array<string> = []
    for (const [, o] of drv.outputs) if (o.path !== "") outputs.push(o.path)
    return outputs.sort(compareStrings)
  })

/** nix-store's `maybeUseOutputs`. */
const maybeUseOutputs = (store: StoreShape, p: string, useOutput: boolean) =>
  useOutput && isDerivationPath(p) ? derivationOutputPaths(store, p) : Effect.succeed([p])

/** Sorts as nix-store prints path sets: dependencies first (the database sorts in bulk). */
export const printOrder = (store: StoreShape, paths: Iterable<string>) => {
  const unique = Array.from(new Set(paths))
  return Effect.map(
    store.topoSortPaths(unique).pipe(
      // A store that already holds a cycle (older tsnix, or by hand): print anyway, the edge
      // closing the cycle ignored (Nix 2.8 fails here).
      Effect.catchTag("ReferenceCycleError", () =>
        Effect.map(store.queryPathInfos(unique), (infos) => {
          const refs = new Map<string, ReadonlyArray<string>>(infos.map((i) => [i.path, i.references] as const))
          return topoSortPathsBreakingCycles(unique, (p) => refs.get(p) ?? [])
        }))
    ),
    (order) => [...order].reverse()
  )
}

const printTree = (store: StoreShape, root: string, done: Set<string>) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    // Explicit stack of [path, firstPad, tailPad] to print in Nix's pre-order.
    const stack: Array<readonly [string, string, string]> = [[root, "", ""]]
    while (stack.length > 0) {
      const [p, firstPad, tailPad] = stack.pop() as readonly [string, string, string]
      if (done.has(p)) {
        out.push(`${firstPad}${p} [...]`)
        continue
      }
      done.add(p)
      out.push(`${firstPad}${p}`)
      const info = yield* requireInfo(store, p)
      const refInfos = yield* store.queryPathInfos(info.references)
      const refMap = new Map<string, ReadonlyArray<string>>(refInfos.map((i) => [i.path, i.references]))
      const sorted = (yield* topoSort(info.references, (q) => refMap.get(q) ?? [])).reverse()
      for (let n = sorted.length - 1; n >= 0; n--) {
        const last = n + 1 === sorted.length
        stack.push([
          sorted[n] as string,
          tailPad + (last ? treeLast : treeConn),
          tailPad + (last ? treeNull : treeLine)
        ])
      }
    }
    return out
  })

/**
 * Nix's `StorePathSet` work list: `extract(begin())` takes the smallest path.
 * A binary min-heap of paths (repeats allowed; callers skip done ones).
 */
const makeWorkList = (initial: Iterable<string>) => {
  const heap: Array<string> = []
  const push = (p: string) => {
    heap.push(p)
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1
      if (compareStrings(heap[parent] as string, heap[i] as string) <= 0) break
      ;[heap[parent], heap[i]] = [heap[i] as string, heap[parent] as string]
      i = parent
    }
  }
  const pop = (): string | undefined => {
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last
      for (let i = 0;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && compareStrings(heap[l] as string, heap[m] as string) < 0) m = l
        if (r < heap.length && compareStrings(heap[r] as string, heap[m] as string) < 0) m = r
        if (m === i) break
        ;[heap[m], heap[i]] = [heap[i] as string, heap[m] as string]
        i = m
      }
    }
    return top
  }
  for (const p of initial) push(p)
  return { push, pop }
}

const dotQuote = (s: string) => `"${s}"`
const colours = ["black", "red", "green", "blue", "magenta", "burlywood"]

const printDotGraph = (store: StoreShape, roots: Iterable<string>) =>
  Effect.gen(function*() {
    const prefix = store.storeDir.length + 1
    const base = (p: string) => p.slice(prefix)
    const work = makeWorkList(roots)
    const done = new Set<string>()
    const out = ["digraph G {"]
    let colour = 0
    for (let p = work.pop(); p !== undefined; p = work.pop()) {
      if (done.has(p)) continue
      done.add(p)
      const name = base(p).slice(33)
      out.push(
        `${dotQuote(base(p))} [label = ${dotQuote(name)}, shape = box, style = filled, fillcolor = ${
          dotQuote("#ff0000")
        }];`
      )
      for (const r of (yield* requireInfo(store, p)).references) {
        if (r === p) continue
        if (!done.has(r)) work.push(r)
        out.push(
          `${dotQuote(base(r))} -> ${dotQuote(base(p))} [color = ${
            dotQuote(colours[colour++ % colours.length] as string)
          }];`
        )
      }
    }
    out.push("}")
    return out
  })

/** Nix's `symbolicName`: the name up to and including its first `-` (empty without one). */
const symbolicName = (name: string) => name.slice(0, name.indexOf("-") + 1)

/** `-q --graphml`: the references graph as Nix's printGraphML writes it (paths in sorted order). */
const printGraphML = (store: StoreShape, roots: Iterable<string>) =>
  Effect.gen(function*() {
    const prefix = store.storeDir.length + 1
    const base = (p: string) => p.slice(prefix)
    const work = makeWorkList(roots)
    const done = new Set<string>()
    const out = [
      "<?xml version='1.0' encoding='utf-8'?>",
      "<graphml xmlns='http://graphml.graphdrawing.org/xmlns'",
      "    xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'",
      "    xsi:schemaLocation='http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd'>",
      "<key id='narSize' for='node' attr.name='narSize' attr.type='int'/>" +
      "<key id='name' for='node' attr.name='name' attr.type='string'/>" +
      "<key id='type' for='node' attr.name='type' attr.type='string'/>" +
      "<graph id='G' edgedefault='directed'>"
    ]
    for (let p = work.pop(); p !== undefined; p = work.pop()) {
      if (done.has(p)) continue
      done.add(p)
      const info = yield* requireInfo(store, p)
      out.push(
        `  <node id="${base(p)}">`,
        `    <data key="narSize">${info.narSize}</data>`,
        `    <data key="name">${symbolicName(base(p).slice(33))}</data>`,
        `    <data key="type">${isDerivationPath(p) ? "derivation" : "output-path"}</data>`,
        "  </node>"
      )
      for (const r of [...info.references].sort(compareStrings)) {
        if (r === p) continue
        if (!done.has(r)) work.push(r)
        out.push(`  <edge source="${base(p)}" target="${base(r)}"/>`)
      }
    }
    out.push("</graph>", "</graphml>")
    return out
  })

/** The `-q` operation (except `--roots`, which the garbage collector answers). */
export const queryOperation: Operation = Effect.gen(function*() {
  const { parsed, layout } = yield* Cli
  const kinds = queryTypes.filter((q) => parsed.flags.has(q))
  for (const f of parsed.flags) {
    if (!(queryTypes as ReadonlyArray<string>).includes(f) && !modifiers.includes(f) && !globalFlags.has(f)) {
      return yield* new UsageError({ message: `unknown flag '--${f}'` })
    }
  }
  if (kinds.length > 1) {
    return yield* new UsageError({ message: `query type '--${kinds[1]}' conflicts with earlier flag` })
  }
  const query: QueryType = kinds[0] ?? "outputs"
  if (parsed.flags.has("force-realise")) {
    return yield* new UsageError({ message: "'--force-realise' needs a builder, which tsnix does not have yet" })
  }
  const useOutput = parsed.flags.has("use-output")
  const includeOutputs = parsed.flags.has("include-outputs")
  // As in nix-store, --binding takes the first argument as the binding's name.
  let rawArgs = parsed.args
  let bindingName = ""
  if (query === "binding") {
    if (rawArgs.length === 0) return yield* new UsageError({ message: "expected binding name" })
    bindingName = rawArgs[0] as string
    rawArgs = rawArgs.slice(1)
  }
  const args = yield* followLinksToStorePaths(layout, rawArgs)
  yield* withStore(Effect.gen(function*() {
    const store = yield* Store
    switch (query) {
      case "outputs": {
        for (const p of args) yield* printLines(yield* maybeUseOutputs(store, p, true))
        return
      }
      case "requisites":
      case "references":
      case "referrers":
      case "referrers-closure": {
        const starts: Array<string> = []
        for (const p of args) starts.push(...(yield* maybeUseOutputs(store, p, useOutput)))
        let set: ReadonlyArray<string>
        if (query === "requisites") {
          for (const p of starts) yield* requireInfo(store, p)
          set = yield* store.computeClosure(starts, { includeOutputs })
        } else if (query === "referrers-closure") {
          for (const p of starts) yield* requireInfo(store, p)
          set = yield* store.computeClosure(starts, { direction: "referrers" })
        } else if (query === "references") {
          const acc = new Set<string>()
          for (const p of starts) for (const r of (yield* requireInfo(store, p)).references) acc.add(r)
          set = [...acc]
        } else {
          const acc = new Set<string>()
          for (const p of starts) for (const r of yield* store.queryReferrers(p)) acc.add(r)
          set = [...acc]
        }
        yield* printLines(yield* printOrder(store, set))
        return
      }
      case "deriver": {
        const out: Array<string> = []
        for (const p of args) {
          out.push(Option.getOrElse((yield* requireInfo(store, p)).deriver, () => "unknown-deriver"))
        }
        yield* printLines(out)
        return
      }
      case "valid-derivers": {
        for (const p of args) yield* printLines(yield* store.queryValidDerivers(p))
        return
      }
      case "binding": {
        yield* withDerivations(Effect.gen(function*() {
          const derivations = yield* Derivations
          for (const a of args) {
            const drvPath = yield* useDeriver(store, a)
            const drv = yield* derivationFromPath(store, derivations, drvPath)
            const v = drv.env.get(bindingName)
            if (v === undefined) {
              return yield* new DerivationArgError({
                message: `derivation '${drvPath}' has no environment binding named '${bindingName}'`
              })
            }
            yield* writeStdout(Buffer.from(`${v}\n`, "latin1"))
          }
        }))
        return
      }
      case "hash":
      case "size": {
        const out: Array<string> = []
        for (const a of args) {
          for (const p of yield* maybeUseOutputs(store, a, useOutput)) {
            const info = yield* requireInfo(store, p)
            if (query === "size") out.push(String(info.narSize))
            else {
              out.push(printHashWithAlgo(info.narHash, "nix32"))
            }
          }
        }
        yield* printLines(out)
        return
      }
      case "tree": {
        const done = new Set<string>()
        for (const p of args) yield* printLines(yield* printTree(store, p, done))
        return
      }
      case "graph": {
        const roots: Array<string> = []
        for (const a of args) roots.push(...(yield* maybeUseOutputs(store, a, useOutput)))
        yield* printLines(yield* printDotGraph(store, roots))
        return
      }
      case "graphml": {
        const roots: Array<string> = []
        for (const a of args) roots.push(...(yield* maybeUseOutputs(store, a, useOutput)))
        yield* printLines(yield* printGraphML(store, roots))
        return
      }
      case "roots":
        return yield* new UsageError({ message: "'--roots' is answered by the garbage collector" })
    }
  }))
})
