/**
 * The live Builder layer: goals over the derivation graph and local builds
 * (`goals.ts`, `build.ts`) on the local store it is given (Store,
 * LocalStore, Lock) and the Derivations service reading that store.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Option } from "effect"
import { Builder, BuilderStoreError } from "../services/Builder.js"
import type { BuilderShape } from "../services/Builder.js"
import { Derivations } from "../services/Derivations.js"
import { LocalStore } from "../services/LocalStore.js"
import { Lock } from "../services/Lock.js"
import { Store } from "../services/Store.js"
import { buildDerivation } from "./build.js"
import { realise } from "./goals.js"
import { readLog } from "./log.js"

/** Makes the Builder over the services in context. */
export const make = Effect.gen(function*() {
  const store = yield* Store
  const local = yield* LocalStore
  const lock = yield* Lock
  const derivations = yield* Derivations
  const layout = local.layout
  const shape: BuilderShape = {
    buildDerivations: (requests, options) =>
      realise({ layout, store, local, lock, options }, derivations, requests, options),
    buildDerivation: (drvPath, drv, options) =>
      Effect.map(
        buildDerivation({ layout, store, local, lock, options }, drvPath, drv, [...drv.outputs.keys()]),
        (o) => {
          const ok = o.status === "Built" || o.status === "AlreadyValid" || o.status === "Substituted"
          const outputs: Record<string, string> = {}
          if (ok) { for (const [name, out] of drv.outputs) outputs[name] = out.path }
          return {
            drvPath,
            status: o.status,
            errorMsg: o.errorMsg,
            outputs,
            timesBuilt: o.timesBuilt,
            startTime: o.startTime,
            stopTime: o.stopTime
          }
        }
      ),
    readLog: (p) =>
      Effect.gen(function*() {
        if (p.endsWith(".drv")) return yield* readLog(layout.logDir, p)
        const deriver = yield* store.queryDeriver(p).pipe(
          Effect.orElseSucceed(() => Option.none<string>()),
          Effect.mapError((cause) => new BuilderStoreError({ operation: "querying the deriver", cause }))
        )
        if (Option.isNone(deriver)) return Option.none()
        return yield* readLog(layout.logDir, deriver.value)
      })
  }
  return shape
})

/** The Builder layer (needs Store, LocalStore, Lock and Derivations). */
export const layer = Layer.effect(Builder, make)
