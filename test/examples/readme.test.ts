import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runAt } from "../../examples/readme.js"
// Registers the README's test example (examples/readmeTest.ts) in this file.
import "../../examples/readmeTest.js"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

describe("README examples", () => {
  const readme = fs.readFileSync(path.join(repo, "README.md"), "utf8")

  it("the library example is the code in examples/readme.ts", () => {
    const example = fs.readFileSync(path.join(repo, "examples/readme.ts"), "utf8")
    const block = /```ts\n(\/\/ The README's library example[\s\S]*?)```/.exec(readme)
    expect(block?.[1]).toBe(example)
  })

  it("the test example is the code in examples/readmeTest.ts", () => {
    const example = fs.readFileSync(path.join(repo, "examples/readmeTest.ts"), "utf8")
    const block = /```ts\n(\/\/ The README's test example[\s\S]*?)```/.exec(readme)
    expect(block?.[1]).toBe(example)
  })

  it("the library example runs against a fresh store (chosen through Config) and gives Nix's text paths", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-readme-"))
    const r = await runAt(root)
    // builtins.toFile "greeting" "Hello, world\n" in Nix 2.8 gives this path.
    expect(r.closure).toContain("/nix/store/k5v4i4iqvhjdyciz8vlrg93hjcb04aj1-greeting")
    expect(r.closure).toHaveLength(2)
    expect(r.closure).toContain(r.app)
    expect(Option.getOrThrow(r.references)).toEqual([r.closure.find((p) => p !== r.app)])
    expect(r.realStoreDir).toBe(path.join(root, "nix/store"))
    expect(fs.readdirSync(r.realStoreDir)).toContain(path.basename(r.app))
  })
})
