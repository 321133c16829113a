/**
 * `tsnix demo [DIR]`: a guided tour of the store. Adds DIR (by default a small
 * sample tree it creates) to the selected store, adds a text file that refers
 * to it, then shows the closure, the tree, the NAR hash and size, and checks
 * the store — the same operations nix-store offers, in one run.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Store } from "../../services/Store.js"
import { printHashWithAlgo } from "../../core/hash.js"
import type { Hash } from "../../core/hash.js"
import { Cli } from "../context.js"
import { printLines } from "../io.js"
import type { Operation } from "../operation.js"
import { withStore } from "../storeLayers.js"
import { printOrder } from "./query.js"

/** A hash as Nix prints it in messages: `sha256:<nix32>`. */
const nix32Form = (h: Hash): string => printHashWithAlgo(h, "nix32")

const makeSample = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsnix-demo-"))
    const root = path.join(dir, "hello")
    await fs.mkdir(path.join(root, "bin"), { recursive: true })
    await fs.writeFile(path.join(root, "bin/hello"), "#!/bin/sh\necho 'Hello from the tsnix store'\n", { mode: 0o755 })
    await fs.writeFile(path.join(root, "README"), "A sample package added by `tsnix demo`.\n")
    await fs.symlink("bin/hello", path.join(root, "run"))
    return { dir, root }
  }),
  ({ dir }) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

/** The `demo` operation. */
export const demoOperation: Operation = Effect.scoped(
  Effect.gen(function*() {
    const { parsed, layout } = yield* Cli
    const src = parsed.args[0] ?? (yield* makeSample).root
    yield* withStore(Effect.gen(function*() {
      const store = yield* Store
      const lines: Array<string> = [
        `store: ${layout.root || layout.realStoreDir} (logical store directory ${layout.storeDir})`
      ]
      const added = yield* store.addToStore(src)
      lines.push(`added ${src}:`, `  ${added}`)
      const wrapper = yield* store.addTextToStore("hello-wrapper", `#!/bin/sh\nexec ${added}/bin/hello "$@"\n`, [added])
      lines.push("added a text file that refers to it:", `  ${wrapper}`)
      lines.push("closure of the text file (nix-store -qR):")
      for (const p of yield* printOrder(store, yield* store.computeClosure([wrapper]))) lines.push(`  ${p}`)
      const info = Option.getOrThrow(yield* store.queryPathInfo(added))
      lines.push(
        `NAR hash (nix-store -q --hash): ${nix32Form(info.narHash)}`,
        `NAR size (nix-store -q --size): ${info.narSize}`
      )
      lines.push(`referrers of ${added} (nix-store -q --referrers):`)
      for (const p of yield* store.queryReferrers(added)) lines.push(`  ${p}`)
      const report = yield* store.verifyStore({ checkContents: true })
      lines.push(
        `verify --check-contents: ${report.errors ? "problems found" : "ok"} (${
          (yield* store.queryAllValidPaths).length
        } valid paths)`
      )
      yield* printLines(lines)
    }))
  })
)
