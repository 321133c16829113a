import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { errnoCode, strerror, sysErrorText, withoutNodeErrnoText } from "../../src/core/sysError.js"

/** The Node error a failing synchronous call throws. */
const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (e) {
    return e
  }
  throw new Error("did not throw")
}

describe("system errors in Nix's words", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-syserror-"))
  const file = path.join(dir, "f")
  fs.writeFileSync(file, "x")

  it("gives glibc's strerror text for real Node errors", () => {
    expect(sysErrorText(thrown(() => fs.lstatSync(path.join(dir, "missing"))))).toBe("No such file or directory")
    expect(sysErrorText(thrown(() => fs.readdirSync(file)))).toBe("Not a directory")
    expect(sysErrorText(thrown(() => fs.readFileSync(dir)))).toBe("Is a directory")
    expect(sysErrorText(thrown(() => fs.mkdirSync(dir)))).toBe("File exists")
    expect(sysErrorText({ code: "EACCES", message: "EACCES: permission denied, lstat '/x'" })).toBe("Permission denied")
    expect(strerror("EROFS")).toBe("Read-only file system")
    expect(errnoCode({ code: "ERR_INVALID_ARG_TYPE" })).toBeUndefined()
  })

  it("rewrites Node's errno wording inside a message", () => {
    const e = thrown(() => fs.lstatSync(path.join(dir, "missing"))) as Error
    expect(withoutNodeErrnoText(`while adding: ${e.message}`))
      .toBe(`while adding: getting status of '${path.join(dir, "missing")}': No such file or directory`)
    expect(withoutNodeErrnoText("EACCES: permission denied, open '/a/b'")).toBe(
      "opening file '/a/b': Permission denied"
    )
    expect(withoutNodeErrnoText("no errno here")).toBe("no errno here")
    expect(withoutNodeErrnoText("writing output: EBADF: bad file descriptor, write")).toBe(
      "writing output: Bad file descriptor"
    )
  })

  it.prop(
    "no Node errno text survives, whatever the code and path",
    {
      code: FastCheck.constantFrom(
        "ENOENT",
        "EACCES",
        "ENOTDIR",
        "EISDIR",
        "EEXIST",
        "ENOTEMPTY",
        "EROFS",
        "EPERM",
        "ELOOP"
      ),
      syscall: FastCheck.constantFrom("lstat", "stat", "open", "scandir", "rename", "unlink", "mkdir", "readlink"),
      p: FastCheck.stringMatching(/^\/[a-z0-9/._ -]{0,40}$/)
    },
    ({ code, p, syscall }) => {
      const out = withoutNodeErrnoText(`${code}: some node text, ${syscall} '${p}'`)
      expect(out).not.toContain(`${code}:`)
      expect(out).toContain(`'${p}': ${strerror(code)}`)
    }
  )
})
