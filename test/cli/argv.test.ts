import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { expandShortFlags, parseArgv } from "../../src/cli/argv.js"

const ok = (argv: Array<string>) => {
  const r = parseArgv(argv)
  if (Either.isLeft(r)) throw new Error(r.left.message)
  return r.right
}

describe("argv", () => {
  it("expands combined short flags as nix-store does", () => {
    expect(expandShortFlags(["-qR", "/nix/store/x", "--", "-ab"])).toEqual(["-q", "-R", "/nix/store/x", "--", "-ab"])
  })

  it("parses -qR with --include-outputs interleaved with arguments", () => {
    const p = ok(["/nix/store/a", "-qR", "--include-outputs", "/nix/store/b"])
    expect(p.operation).toBe("query")
    expect([...p.flags].sort()).toEqual(["include-outputs", "requisites"])
    expect(p.args).toEqual(["/nix/store/a", "/nix/store/b"])
  })

  it("takes --store, --option pairs and counts -v", () => {
    const p = ok(["--store", "/tmp/r", "--option", "keep-outputs", "true", "-vv", "--gc", "--print-dead"])
    expect(p.operation).toBe("gc")
    expect(p.values.get("store")).toBe("/tmp/r")
    expect(p.options).toEqual([["keep-outputs", "true"]])
    expect(p.verbosity).toBe(2)
    expect(p.flags.has("print-dead")).toBe(true)
  })

  it("accepts subcommand spellings, including query words", () => {
    const p = ok(["query", "requisites", "/nix/store/a"])
    expect(p.operation).toBe("query")
    expect(p.flags.has("requisites")).toBe(true)
    expect(p.args).toEqual(["/nix/store/a"])
    expect(ok(["hash", "--type", "sha1", "x"]).values.get("type")).toBe("sha1")
  })

  it("treats a subcommand word after an operation as an argument", () => {
    const p = ok(["--add", "hash"])
    expect(p.operation).toBe("add")
    expect(p.args).toEqual(["hash"])
  })

  it("rejects unknown flags, two operations and missing values", () => {
    expect(Either.isLeft(parseArgv(["--frobnicate"]))).toBe(true)
    expect(Either.isLeft(parseArgv(["-qZ"]))).toBe(true)
    expect(Either.isLeft(parseArgv(["--add", "--gc"]))).toBe(true)
    expect(Either.isLeft(parseArgv(["--store"]))).toBe(true)
    expect(Either.isLeft(parseArgv(["--option", "a"]))).toBe(true)
  })

  it("stops parsing flags after --", () => {
    const p = ok(["--add", "--", "--gc"])
    expect(p.operation).toBe("add")
    expect(p.args).toEqual(["--gc"])
  })

  it("reads nix-store's global --add-root/--indirect, -b as a flag, and -r after show-derivation as --recursive", () => {
    const r = ok(["-r", "/nix/store/x", "--add-root", "res", "--indirect"])
    expect({ op: r.operation, root: r.values.get("add-root"), indirect: r.flags.has("indirect"), args: r.args })
      .toEqual({ op: "realise", root: "res", indirect: true, args: ["/nix/store/x"] })
    const b = ok(["-qb", "out", "/nix/store/x.drv"])
    expect({ op: b.operation, binding: b.flags.has("binding"), args: b.args }).toEqual({
      op: "query",
      binding: true,
      args: ["out", "/nix/store/x.drv"]
    })
    expect(ok(["show-derivation", "-r", "x.drv"]).flags.has("recursive")).toBe(true)
    expect(ok(["derivation", "show", "-r", "x.drv"]).flags.has("recursive")).toBe(true)
    expect(ok(["--print-env", "x.drv"]).operation).toBe("print-env")
    expect(ok(["-q", "--graphml", "x"]).flags.has("graphml")).toBe(true)
    const q = ok(["query", "binding", "out", "x.drv"])
    expect({ binding: q.flags.has("binding"), args: q.args }).toEqual({ binding: true, args: ["out", "x.drv"] })
  })

  it("reads path-info's short flags as nix path-info does (-r, -s, -S, -h), not nix-store's", () => {
    const p = ok(["path-info", "-rsSh", "--sigs", "--json", "--derivation", "/nix/store/x"])
    expect({ op: p.operation, flags: [...p.flags].sort(), args: p.args }).toEqual({
      op: "path-info",
      flags: ["closure-size", "derivation", "human-readable", "json", "recursive", "sigs", "size"],
      args: ["/nix/store/x"]
    })
    expect(ok(["-h"]).flags.has("help")).toBe(true)
    expect(ok(["-r", "x"]).operation).toBe("realise")
    expect(ok(["path-info", "--all", "-s"]).flags.has("all")).toBe(true)
  })
})
