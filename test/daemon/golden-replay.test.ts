/**
 * Replays the bytes Nix 2.8's clients sent to Nix 2.8's nix-daemon
 * (golden/daemon/nix, made by golden/daemon/generate.sh) against tsnix's
 * daemon, connection by connection on one store that starts empty as Nix's
 * did, and compares the answers byte for byte (registration times zeroed).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as W from "../../src/core/wire/worker/index.js"
import { RawClient, startDaemon } from "./helpers.js"

const dir = path.resolve(__dirname, "../../golden/daemon/nix")
const captures = fs.readdirSync(dir).filter((f) => f.endsWith(".cmd")).map((f) => f.slice(0, -4)).sort()
const bytes = (name: string) =>
  new Uint8Array(Buffer.from(fs.readFileSync(path.join(dir, name), "utf8").replace(/\s+/g, ""), "hex"))

const codes = new Set<number>([...Object.values(W.Stderr), W.WORKER_MAGIC_1, W.WORKER_MAGIC_2])
const activityCodes = new Set<number>([W.Stderr.StartActivity, W.Stderr.StopActivity, W.Stderr.Result])

/**
 * Zeroes the 8-aligned u64 words that differ between two daemons by nature:
 * those that look like Unix times after 2017 (registration times; not a
 * protocol code), and activity ids (the word after START/STOP/RESULT, made
 * of the daemon's pid).
 */
const normalise = (b: Uint8Array): string => {
  const out = Buffer.from(b)
  for (let i = 0; i + 8 <= out.length; i += 8) {
    const lo = out.readUInt32LE(i)
    const hi = out.readUInt32LE(i + 4)
    if (hi === 0 && activityCodes.has(lo) && i + 16 <= out.length) {
      out.fill(0, i + 8, i + 16)
      i += 8
    } else if (hi === 0 && lo >= 1_500_000_000 && !codes.has(lo)) out.fill(0, i, i + 8)
  }
  return out.toString("hex").replace(/(.{128})/g, "$1\n")
}

/**
 * For captures whose log lines come in the collector's deletion order (Nix's
 * order is its hash table's): the log lines (sorted) and the bytes around them.
 */
const orderFree = (b: Uint8Array) => {
  const buf = Buffer.from(b)
  const lines: Array<string> = []
  const rest: Array<Buffer> = []
  let last = 0
  for (let i = 0; i + 16 <= buf.length; i += 8) {
    if (buf.readUInt32LE(i + 4) !== 0 || buf.readUInt32LE(i) !== W.Stderr.Next) continue
    const len = Number(buf.readBigUInt64LE(i + 8))
    const end = i + 16 + len + ((8 - (len % 8)) % 8)
    if (end > buf.length) continue
    rest.push(buf.subarray(last, i))
    lines.push(buf.subarray(i + 16, i + 16 + len).toString())
    last = end
    i = end - 8
  }
  rest.push(buf.subarray(last))
  return { lines: lines.sort(), rest: normalise(Buffer.concat(rest)) }
}
const deletionOrderCaptures = new Set(["gc-delete-all"])

describe("tsnix daemon answers Nix 2.8's clients as nix-daemon does (golden captures)", () => {
  it("has the captures", () => {
    expect(captures.length).toBeGreaterThanOrEqual(15)
  })

  // A real clock: the daemon under test sleeps between lock attempts (a test clock would never wake it).
  it.scopedLive("replays every capture in order", () =>
    Effect.gen(function*() {
      const { layout, socket } = yield* startDaemon()
      const tempRoots = path.join(layout.stateDir, "temproots")
      // A connection's temp-root session (`<pid>-<n>`) goes after its client hangs up; the next capture
      // starts once it has, as each of Nix's clients ran after the previous one's daemon process exited
      // (a collector running meanwhile is handed the session's roots and keeps them, rightly).
      const sessionsGone = Effect.promise(async () => {
        for (let i = 0; i < 500; i++) {
          const names = fs.existsSync(tempRoots) ? fs.readdirSync(tempRoots) : []
          if (!names.some((n) => n.startsWith(`${process.pid}-`))) return
          await new Promise((r) => setTimeout(r, 10))
        }
      })
      for (const name of captures) {
        yield* sessionsGone
        const expected = bytes(`${name}.d2c.hex`)
        const got = yield* Effect.promise(async () => {
          const c = await RawClient.connect(socket)
          c.write(bytes(`${name}.c2d.hex`))
          await c.waitReceived(expected.length, 15000)
          // Give a wrong answer the chance to be longer than Nix's.
          await new Promise((r) => setTimeout(r, 30))
          const r = c.rest()
          c.close()
          return r
        })
        if (deletionOrderCaptures.has(name.slice(3))) {
          expect({ name, ...orderFree(got) }).toEqual({ name, ...orderFree(expected) })
        } else {
          expect({ name, bytes: normalise(got) }).toEqual({ name, bytes: normalise(expected) })
        }
      }
    }), 60000)
})
