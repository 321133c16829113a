/**
 * A store reached through a symlink (`--store LINK`, or a root whose
 * `nix/store` is a symlink) is refused as Nix 2.8 refuses it: the same
 * message (golden/symlinked-store, made by its generate.sh) and exit 1, and
 * NIX_IGNORE_SYMLINK_STORE=1 allows it, as in Nix.
 */
import { afterEach, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runTsnix } from "./helpers.js"

const golden = (name: string) => fs.readFileSync(path.resolve(__dirname, "../../golden/symlinked-store", name), "utf8")

let work = ""
afterEach(() => {
  if (work !== "") fs.rmSync(work, { recursive: true, force: true })
})

const run = async (store: string, env: Record<string, string> = {}) => {
  const r = await runTsnix(["--store", store, "--gc", "--print-dead"], { env })
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error:")).join("\n")
  return `${errors === "" ? "" : `${errors}\n`}exit ${r.status}\n`.split(work).join("ROOT")
}

describe("a symlinked store", () => {
  it("is refused as Nix 2.8 refuses it, both ways, unless NIX_IGNORE_SYMLINK_STORE=1", async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-symstore-"))
    fs.mkdirSync(path.join(work, "real"))
    fs.mkdirSync(path.join(work, "r2", "nix"), { recursive: true })
    fs.mkdirSync(path.join(work, "r2target"))
    fs.symlinkSync("real", path.join(work, "link"))
    fs.symlinkSync(path.join(work, "r2target"), path.join(work, "r2", "nix", "store"))
    expect(await run(path.join(work, "link"))).toBe(golden("link.txt"))
    expect(await run(path.join(work, "r2"))).toBe(golden("nix-store-link.txt"))
    expect(await run(path.join(work, "r2"), { NIX_IGNORE_SYMLINK_STORE: "1" })).toBe("exit 0\n")
  })
})
