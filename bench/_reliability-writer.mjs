// Child of bench/reliability.mjs: adds text paths for DURATION ms (each referring to the previous one),
// rooting each with a link in gcroots right after its add (its temporary root protects it until then).
// Prints one JSON line: {added, busy, errors}. Usage: node bench/_reliability-writer.mjs ROOT NAME DURATION
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as StoreLive from "../dist/stores/local/layer.js"
import { makeStoreLayout } from "../dist/core/storeLayout.js"
import { Store } from "../dist/services/Store.js"

const [root, name, duration] = process.argv.slice(2)
const layout = makeStoreLayout(root)
const gcroots = path.join(layout.stateDir, "gcroots")
fs.mkdirSync(gcroots, { recursive: true })
const until = Date.now() + Number(duration)
const out = { added: 0, busy: 0, errors: 0 }

const program = Effect.gen(function*() {
  const store = yield* Store
  let prev
  for (let i = 0; Date.now() < until; i++) {
    const r = yield* Effect.either(
      store.addTextToStore(`${name}-${i}`, `${name} ${i} ${Date.now()}\n`, prev ? [prev] : [])
    )
    if (r._tag === "Left") {
      if (/busy|locked/i.test(String(r.left.message ?? r.left))) out.busy++
      else out.errors++
      continue
    }
    const link = path.join(gcroots, `${name}-${i}`)
    fs.symlinkSync(r.right, `${link}.tmp`)
    fs.renameSync(`${link}.tmp`, link)
    out.added++
    prev = r.right
  }
})

Effect.runPromise(Effect.scoped(Effect.provide(program, StoreLive.layer({ layout, fsyncMetadata: false })))).then(
  () => {
    process.stdout.write(JSON.stringify(out) + "\n")
    process.exit(0)
  },
  (e) => {
    out.errors++
    process.stdout.write(JSON.stringify({ ...out, fatal: String(e?.message ?? e) }) + "\n")
    process.exit(1)
  }
)
