/**
 * Replays Nix 2.8's client bytes of builds through Nix 2.8's nix-daemon
 * (golden/daemon-build/nix, made by golden/daemon-build/generate.sh on a
 * chroot store with the .drv files of golden/build/chroot) against tsnix's
 * daemon on a chroot store, connection by connection in order, and compares
 * what is deterministic in the answers: the actBuild activities (level, text,
 * fields), the build log lines (resBuildLogLine), the log messages
 * (STDERR_NEXT), the errors, and STDERR_LAST. Nix's other activities
 * (actRealise, actBuilds, progress results) and activity ids are left out:
 * tsnix does not send them. Needs bubblewrap (the builds are sandboxed).
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { sandboxAvailable } from "../../src/builder/sandbox/index.js"
import { makeStoreLayout } from "../../src/core/storeLayout.js"
import { DaemonBuildEnv } from "../../src/daemon/buildEnv.js"
import { serveSocket } from "../../src/daemon/server.js"
import { daemonSettings } from "../../src/daemon/settings.js"
import * as W from "../../src/core/wire/worker/index.js"
import { Builder } from "../../src/services/Builder.js"
import { Derivations } from "../../src/services/Derivations.js"
import { builderLayers, defaultOptions, sameBusybox } from "../builder/helpers.js"
import { RawClient, tempDir } from "./helpers.js"

const bwrapOk = await Effect.runPromise(sandboxAvailable)
const dir = path.resolve(__dirname, "../../golden/daemon-build/nix")
const captures = fs.readdirSync(dir).filter((f) => f.endsWith(".cmd")).map((f) => f.slice(0, -4)).sort()
const bytes = (name: string) =>
  new Uint8Array(Buffer.from(fs.readFileSync(path.join(dir, name), "utf8").replace(/\s+/g, ""), "hex"))

/** The deterministic STDERR messages of a daemon's answer bytes (scanned at 8-byte words). */
export const deterministicMessages = (b: Uint8Array): Array<string> => {
  const buf = Buffer.from(b)
  const out: Array<string> = []
  const str = (at: number): [string, number] => {
    const len = Number(buf.readBigUInt64LE(at))
    return [buf.subarray(at + 8, at + 8 + len).toString(), at + 8 + len + ((8 - (len % 8)) % 8)]
  }
  const fields = (at: number): [Array<string>, number] => {
    const n = Number(buf.readBigUInt64LE(at))
    let p = at + 8
    const fs: Array<string> = []
    for (let i = 0; i < n; i++) {
      const t = Number(buf.readBigUInt64LE(p))
      if (t === 0) {
        fs.push(String(buf.readBigUInt64LE(p + 8)))
        p += 16
      } else {
        const [s, q] = str(p + 8)
        fs.push(JSON.stringify(s))
        p = q
      }
    }
    return [fs, p]
  }
  for (let i = 0; i + 8 <= buf.length;) {
    const hi = buf.readUInt32LE(i + 4)
    const lo = buf.readUInt32LE(i)
    try {
      if (hi === 0 && lo === W.Stderr.StartActivity) {
        const level = Number(buf.readBigUInt64LE(i + 16))
        const type = Number(buf.readBigUInt64LE(i + 24))
        const [text, p] = str(i + 32)
        const [f, q] = fields(p)
        if (type === W.ActivityType.Build) out.push(`start build level=${level} ${JSON.stringify(text)} [${f}]`)
        i = q + 8
        continue
      }
      if (hi === 0 && lo === W.Stderr.Result) {
        const type = Number(buf.readBigUInt64LE(i + 16))
        const [f, q] = fields(i + 24)
        if (type === W.ResultType.BuildLogLine) out.push(`log ${f.join(" ")}`)
        i = q
        continue
      }
      if (hi === 0 && lo === W.Stderr.StopActivity) {
        i += 16
        continue
      }
      if (hi === 0 && lo === W.Stderr.Next) {
        const [text, q] = str(i + 8)
        out.push(`next ${JSON.stringify(text)}`)
        i = q
        continue
      }
      if (hi === 0 && lo === W.Stderr.Error) {
        // Structured: "Error", level, "Error", message, …
        const [, p] = str(i + 8)
        const [, q] = str(p + 8)
        const [msg] = str(q)
        out.push(`error ${JSON.stringify(msg)}`)
        break
      }
      if (hi === 0 && lo === W.Stderr.Last) out.push("last")
    } catch {
      // Not a message after all (bytes of a reply).
    }
    i += 8
  }
  return out
}

/** The printable runs (6 characters or more) after the last STDERR_LAST: a reply's strings. */
const replyStrings = (b: Uint8Array): Array<string> => {
  const buf = Buffer.from(b)
  let at = -1
  for (let i = 0; i + 8 <= buf.length; i += 8) {
    if (buf.readUInt32LE(i) === W.Stderr.Last && buf.readUInt32LE(i + 4) === 0) at = i + 8
  }
  return at < 0 ? [] : buf.subarray(at).toString("latin1").match(/[\x20-\x7e]{6,}/g) ?? []
}

describe.skipIf(!bwrapOk || !sameBusybox)("tsnix daemon builds for Nix 2.8's clients as nix-daemon does", () => {
  it.scopedLive("replays every build capture in order", () =>
    Effect.gen(function*() {
      const top = yield* tempDir
      const layout = makeStoreLayout(path.join(top, "root"))
      const socket = path.join(top, "daemon.sock")
      yield* Effect.gen(function*() {
        const ready = yield* Deferred.make<void>()
        const settings = daemonSettings([{ name: "trusted-users", value: "*", append: false, line: 0 }])
        yield* Effect.forkScoped(
          serveSocket({ _tag: "Path", path: socket }, settings, () => Deferred.unsafeDone(ready, Effect.void)).pipe(
            Effect.provideService(DaemonBuildEnv, {
              builder: yield* Builder,
              derivations: yield* Derivations,
              buildOptions: { ...defaultOptions, sandbox: "true" },
              substitute: { substituters: [], substitute: false, requireSigs: false, publicKeys: new Map() }
            })
          )
        )
        yield* Deferred.await(ready)
        for (const name of captures) {
          const expected = bytes(`${name}.d2c.hex`)
          const ends = (m: Array<string>) => m.filter((x) => x === "last" || x.startsWith("error ")).length
          const want = ends(deterministicMessages(expected))
          const got = yield* Effect.promise(async () => {
            const c = await RawClient.connect(socket)
            c.write(bytes(`${name}.c2d.hex`))
            let acc: Uint8Array = new Uint8Array(0)
            const deadline = Date.now() + 30000
            // Until as many replies (LAST or ERROR) came as from Nix's daemon.
            while (Date.now() < deadline) {
              await new Promise((r) => setTimeout(r, 100))
              acc = Buffer.concat([acc, c.rest()])
              if (ends(deterministicMessages(acc)) >= want) break
            }
            await new Promise((r) => setTimeout(r, 100))
            acc = Buffer.concat([acc, c.rest()])
            c.close()
            return acc
          })
          expect(deterministicMessages(got), name).toEqual(deterministicMessages(expected))
          // The strings of the last reply (BuildPathsWithResults: paths, errors, Realisations; times are words).
          expect(replyStrings(got), name).toEqual(replyStrings(expected))
        }
      }).pipe(Effect.scoped, Effect.provide(builderLayers(layout)))
    }), 120_000)
})
