import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runAt } from "../../examples/readme.js"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

describe("README example", () => {
  it("is the code in examples/readme.ts", () => {
    const readme = fs.readFileSync(path.join(repo, "README.md"), "utf8")
    const example = fs.readFileSync(path.join(repo, "examples/readme.ts"), "utf8")
    const block = /```ts\n(\/\/ The README's library example[\s\S]*?)```/.exec(readme)
    expect(block?.[1]).toBe(example)
  })

  it("runs against a fresh store and gives Nix's text paths", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-readme-"))
    const r = await runAt(root)
    // builtins.toFile "greeting" "Hello, world\n" in Nix 2.8 gives this path.
    expect(r.closure).toContain("/nix/store/k5v4i4iqvhjdyciz8vlrg93hjcb04aj1-greeting")
    expect(r.closure).toHaveLength(2)
    expect(r.closure).toContain(r.app)
    expect(Option.getOrThrow(r.references)).toEqual([r.closure.find((p) => p !== r.app)])
  })
})
