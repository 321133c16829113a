/**
 * Output registration, as Nix 2.8's `registerOutputs`: each output must
 * exist and must not be group- or world-writable; it is moved to its real
 * store location (a sandboxed build leaves it elsewhere), canonicalised,
 * serialised once as a NAR that is hashed and scanned for the hash parts of
 * the input closure and of the outputs; fixed outputs are checked (flat or
 * recursive, any algorithm) and, on a mismatch, registered under the path of
 * the hash they have (then {@link OutputCheckError} with exit bit 0x02);
 * cycles between outputs are refused. The caller registers what this
 * returns in one transaction.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import { Buffer } from "node:buffer"
import * as fs from "node:fs"
import { makeReferenceScanner } from "../core/referenceScanner.js"
import { type Hash, type HashAlgo, makeHasher, parseHash, printHash } from "../core/hash.js"
import { toRealPath } from "../core/storeLayout.js"
import type { StoreLayout } from "../core/storeLayout.js"
import { makeFixedOutputPath, renderContentAddress, storePathToString } from "../core/storePath.js"
import { narHashPathObserved } from "../io/dump.js"
import type { PathRegistration } from "../services/StoreDb.js"
import { canonicalisePath } from "../stores/local/ops/canonicalise.js"
import { removeTree } from "../stores/local/ops/removeTree.js"

/** An output was rejected; `exitBits` is Nix's (0x02 hash mismatch, 0 otherwise → exit 1). */
export class OutputCheckError extends Data.TaggedError("OutputCheckError")<{
  readonly message: string
  readonly exitBits: number
  /** A fixed output registered under its real hash before failing (to register anyway). */
  readonly registerAnyway?: PathRegistration | undefined
}> {}

/** One output to register. */
export interface OutputToRegister {
  readonly name: string
  /** The logical path the derivation declares. */
  readonly path: string
  /** Where the builder left its files. */
  readonly hostPath: string
  /** Fixed output: `[r:]algo` and the base16 hash from the derivation. */
  readonly fixed?: { readonly hashAlgo: string; readonly hash: string } | undefined
}

/** The serialised facts of a file tree: NAR hash, size, hash parts found, optionally another algorithm's NAR hash. */
interface Scanned {
  readonly narHash: Uint8Array
  readonly narSize: number
  readonly found: ReadonlySet<string>
  readonly other?: Uint8Array | undefined
}

const fail = (message: string, exitBits = 0) => new OutputCheckError({ message, exitBits })

/** Dumps `realPath` as a NAR once: sha256, size, referenced hash parts, and `algo`'s hash when given. */
export const scanPath = (realPath: string, hashParts: ReadonlyArray<string>, algo?: HashAlgo) =>
  Effect.gen(function*() {
    const scanner = makeReferenceScanner(hashParts)
    const other = algo === undefined || algo === "sha256" ? undefined : makeHasher(algo)
    const r = yield* narHashPathObserved(realPath, (chunk) => {
      scanner.update(chunk)
      other?.update(chunk)
    })
    return {
      narHash: r.narHash,
      narSize: r.narSize,
      found: scanner.result(),
      other: algo === "sha256" ? r.narHash : other?.digest().bytes
    } satisfies Scanned
  })

const moveTo = (from: string, to: string) =>
  Effect.gen(function*() {
    if (from === to) return
    yield* Effect.mapError(removeTree(to), (e) => fail(e.message))
    yield* Effect.try({
      try: () => fs.renameSync(from, to),
      catch: (cause) => fail(`moving build output '${from}' to '${to}': ${String(cause)}`)
    })
  })

const sri = (h: Hash) => printHash(h, "sri")

/** Registers nothing; checks, moves and canonicalises the outputs and computes their registrations (see module). */
export const prepareOutputs = (args: {
  readonly layout: StoreLayout
  readonly drvPath: string
  readonly outputs: ReadonlyArray<OutputToRegister>
  /** The input closure (logical paths). */
  readonly inputPaths: ReadonlyArray<string>
}) =>
  Effect.gen(function*() {
    const { layout, drvPath } = args
    const storeDir = layout.storeDir
    const hashPartOf = (p: string) => p.slice(storeDir.length + 1, storeDir.length + 33)
    const candidates = new Map<string, string>()
    for (const p of [...args.inputPaths, ...args.outputs.map((o) => o.path)]) candidates.set(hashPartOf(p), p)
    const regs = new Map<string, PathRegistration>()
    const refsOf = new Map<string, ReadonlyArray<string>>()
    let mismatch: OutputCheckError | undefined
    for (const o of args.outputs) {
      const st = yield* Effect.try({ try: () => fs.lstatSync(o.hostPath), catch: () => undefined }).pipe(
        Effect.orElseSucceed(() => undefined)
      )
      if (st === undefined) {
        return yield* fail(
          `builder for '${drvPath}' failed to produce output path for output '${o.name}' at '${o.path}'`
        )
      }
      if (!st.isSymbolicLink() && (st.mode & 0o022) !== 0) {
        return yield* fail(
          `suspicious ownership or permission on '${o.path}' for output '${o.name}'; rejecting this build output`
        )
      }
      const real = toRealPath(layout, o.path)
      yield* moveTo(o.hostPath, real)
      yield* Effect.mapError(canonicalisePath(real), (e) => fail(e.message))
      if (o.fixed === undefined) {
        const s = yield* Effect.mapError(scanPath(real, [...candidates.keys()]), (e) => fail(e.message))
        const refs = [...s.found].map((h) => candidates.get(h)!).sort()
        refsOf.set(o.name, refs)
        regs.set(o.name, {
          path: o.path,
          narHash: "sha256:" + Buffer.from(s.narHash).toString("hex"),
          narSize: s.narSize,
          references: refs,
          deriver: drvPath,
          ultimate: true
        })
        continue
      }
      const recursive = o.fixed.hashAlgo.startsWith("r:")
      const algoName = recursive ? o.fixed.hashAlgo.slice(2) : o.fixed.hashAlgo
      const wanted = parseHash(o.fixed.hash, algoName as HashAlgo)
      if (wanted._tag === "Left") return yield* fail(wanted.left.message)
      const algo = wanted.right.algo
      let actual: Hash
      if (!recursive) {
        if (!st.isFile() || (st.mode & 0o100) !== 0) {
          return yield* fail(
            `output path '${real}' should be a non-executable regular file since recursive hashing is not enabled (outputHashMode=flat)`
          )
        }
        const h = makeHasher(algo)
        h.update(fs.readFileSync(real))
        actual = h.digest()
      }
      const s = yield* Effect.mapError(scanPath(real, [...candidates.keys()], recursive ? algo : undefined), (e) =>
        fail(e.message))
      if (recursive) {
        actual = { algo, bytes: s.other! }
      }
      const method = recursive ? "recursive" : "flat"
      const refs = [...s.found].map((h) =>
        candidates.get(h)!
      ).filter((r) => r !== o.path).sort()
      const actualPath = storePathToString(
        storeDir,
        makeFixedOutputPath(storeDir, o.path.slice(storeDir.length + 34), method, actual!, [])
      )
      const reg: PathRegistration = {
        path: actualPath,
        narHash: "sha256:" + Buffer.from(s.narHash).toString("hex"),
        narSize: s.narSize,
        references: refs,
        deriver: drvPath,
        ultimate: true,
        ca: renderContentAddress(method, actual!)
      }
      if (Buffer.compare(Buffer.from(actual!.bytes), Buffer.from(wanted.right.bytes)) !== 0) {
        // Nix registers the output under the hash it has, then fails (exit 102).
        yield* moveTo(real, toRealPath(layout, actualPath))
        mismatch = new OutputCheckError({
          message: `hash mismatch in fixed-output derivation '${drvPath}':\n  specified: ${
            sri(wanted.right)
          }\n     got:    ${sri(actual!)}`,
          exitBits: 0x02,
          registerAnyway: reg
        })
        continue
      }
      refsOf.set(o.name, refs)
      regs.set(o.name, reg)
    }
    if (mismatch !== undefined) return yield* mismatch
    // Cycles between outputs (Nix's topoSort of the outputs by their references).
    const byPath = new Map(args.outputs.map((o) => [o.path, o.name]))
    const state = new Map<string, "visiting" | "done">()
    const visit = (name: string, parent: string | undefined): OutputCheckError | undefined => {
      const s = state.get(name)
      if (s === "done") return undefined
      if (s === "visiting") {
        return fail(
          `cycle detected in build of '${drvPath}' in the references of output '${name}' from output '${parent}'`
        )
      }
      state.set(name, "visiting")
      for (const r of refsOf.get(name) ?? []) {
        const other = byPath.get(r)
        if (other !== undefined && other !== name) {
          const e = visit(other, name)
          if (e !== undefined) return e
        }
      }
      state.set(name, "done")
      return undefined
    }
    for (const o of args.outputs) {
      const e = visit(o.name, undefined)
      if (e !== undefined) return yield* e
    }
    return [...regs.values()]
  })
