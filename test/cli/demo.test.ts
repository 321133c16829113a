import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runTsnix } from "./helpers.js"

// The README's Quick start runs `./bin/tsnix demo` against the default store; here the store is
// chosen with TSNIX_STORE, as a user would, and the demo's answers are checked against the
// nix-store spellings it claims to show.
describe("tsnix demo (the README's Quick start)", () => {
  it("adds a sample package and a text file referring to it, answers like the matching queries, and is idempotent", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-demo-test-"))
    const env = { TSNIX_STORE: root }
    const first = await runTsnix(["demo"], { env })
    expect(first.status).toBe(0)
    const out = first.stdout.toString().split("\n")
    expect(out[0]).toBe(`store: ${root} (logical store directory /nix/store)`)
    const added = out[2]!.trim()
    const wrapper = out[4]!.trim()
    expect(added).toMatch(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-hello$/)
    expect(wrapper).toMatch(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-hello-wrapper$/)
    expect(fs.readFileSync(path.join(root, wrapper), "utf8")).toBe(`#!/bin/sh\nexec ${added}/bin/hello "$@"\n`)
    expect(fs.readlinkSync(path.join(root, added, "run"))).toBe("bin/hello")

    const qR = await runTsnix(["-qR", wrapper], { env })
    expect(out.slice(6, 8).map((l) => l.trim())).toEqual(qR.stdout.toString().trim().split("\n"))
    const hash = await runTsnix(["-q", "--hash", added], { env })
    expect(out[8]).toBe(`NAR hash (nix-store -q --hash): ${hash.stdout.toString().trim()}`)
    const size = await runTsnix(["-q", "--size", added], { env })
    expect(out[9]).toBe(`NAR size (nix-store -q --size): ${size.stdout.toString().trim()}`)
    expect(out.slice(10, 12)).toEqual([`referrers of ${added} (nix-store -q --referrers):`, `  ${wrapper}`])
    expect(out[12]).toBe("verify --check-contents: ok (2 valid paths)")
    // The NAR hash of the files on disk is the registered one.
    const onDisk = await runTsnix(["hash", "--base32", path.join(root, added)])
    expect(hash.stdout.toString().trim()).toBe(`sha256:${onDisk.stdout.toString().trim()}`)

    // The sample tree was made in a temporary directory, removed afterwards.
    const sample = /^added (.*)\/hello:$/.exec(out[1]!)![1]!
    expect(fs.existsSync(sample)).toBe(false)

    const second = await runTsnix(["demo"], { env })
    expect(second.status).toBe(0)
    const masked = (s: string) => s.replace(/^added .*\/hello:$/m, "added SAMPLE/hello:")
    expect(masked(second.stdout.toString())).toBe(masked(first.stdout.toString()))
  })
})
