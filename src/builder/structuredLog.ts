/**
 * The builder's output as Nix 2.8's logger sees it (`DerivationGoal::
 * handleChildOutput`, `flushLine`, `handleJSONLogMessage`): the raw bytes go
 * to the log file unchanged; for the terminal they are cut into lines (`\r`
 * moves back to the start of the line, whose later bytes overwrite the
 * earlier ones; a last line without `\n` is flushed at the end). A line that
 * starts with `@nix ` and holds JSON is a message to Nix, not a log line:
 * `msg` prints its text when its level is at most the verbosity; `start`
 * (from an untrusted builder, only file transfers: type 101) prints
 * `TEXT...` likewise; `result`, `stop` and `setPhase` print nothing on a
 * terminal. `@nix ` followed by bad JSON prints
 * `bad JSON log message from builder: …` and is logged as a line.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"

/** Nix's activity type `actFileTransfer`, the only one an untrusted builder may start. */
const actFileTransfer = 101

/** What the line handler reports. */
export interface LogLineHandlers {
  /** A log line (without its `\n`), bytes as the builder wrote them. */
  readonly onLine: (line: Uint8Array) => void
  /** A message for the terminal (an `@nix` msg or activity text). */
  readonly onMessage: (text: string) => void
  /** A structured message Nix handled (for consumers that forward activities, e.g. a daemon). */
  readonly onStructured?: ((json: Readonly<Record<string, unknown>>) => void) | undefined
  /** The verbosity: Nix's levels, 0 error … 3 info (the default) … 7 vomit. */
  readonly verbosity: number
}

/** A line splitter over the builder's output chunks. */
export interface LogLineSplitter {
  readonly write: (chunk: Uint8Array) => void
  /** Flushes a last line that has no `\n` (Nix's handleEOF). */
  readonly end: () => void
}

/** Makes the splitter (see the module comment). */
export const makeLogLineSplitter = (h: LogLineHandlers): LogLineSplitter => {
  let line = Buffer.alloc(256)
  let len = 0
  let pos = 0
  const activities = new Set<number>()
  const flush = () => {
    const bytes = Buffer.from(line.subarray(0, len))
    len = 0
    pos = 0
    if (!handleJsonLine(bytes, activities, h)) h.onLine(bytes)
  }
  return {
    write: (chunk) => {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]!
        if (c === 0x0d) pos = 0
        else if (c === 0x0a) flush()
        else {
          if (pos >= line.length) {
            const bigger = Buffer.alloc(line.length * 2)
            line.copy(bigger)
            line = bigger
          }
          line[pos++] = c
          if (pos > len) len = pos
        }
      }
    },
    end: () => {
      if (len > 0) flush()
    }
  }
}

const at = (o: Readonly<Record<string, unknown>>, k: string) => o[k]

/** Handles an `@nix {json}` line; false when the line is not one (it is then logged). */
const handleJsonLine = (bytes: Uint8Array, activities: Set<number>, h: LogLineHandlers): boolean => {
  if (bytes.length < 5 || Buffer.from(bytes.subarray(0, 5)).toString("latin1") !== "@nix ") return false
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(bytes.subarray(5)).toString("utf8"))
  } catch (e) {
    h.onMessage(`bad JSON log message from builder: ${e instanceof Error ? e.message : String(e)}`)
    return false
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return true
  const o = json as Record<string, unknown>
  const action = at(o, "action")
  const level = typeof at(o, "level") === "number" ? (at(o, "level") as number) : 0
  if (action === "start") {
    if (at(o, "type") === actFileTransfer) {
      activities.add(Number(at(o, "id")))
      const text = at(o, "text")
      if (level <= h.verbosity && typeof text === "string" && text !== "") h.onMessage(text + "...")
      h.onStructured?.(o)
    }
  } else if (action === "stop") {
    if (activities.delete(Number(at(o, "id")))) h.onStructured?.(o)
  } else if (action === "result") {
    if (activities.has(Number(at(o, "id")))) h.onStructured?.(o)
  } else if (action === "setPhase") {
    h.onStructured?.(o)
  } else if (action === "msg") {
    const msg = at(o, "msg")
    if (level <= h.verbosity && typeof msg === "string") h.onMessage(msg)
  }
  return true
}

/**
 * Nix's `filterANSIEscapes(s, filterAll)` (what its simple logger does to
 * every line it prints): escape sequences removed (colour ones kept unless
 * `filterAll`), tabs expanded to the next multiple of 8 columns, `\r` and
 * `\a` dropped.
 */
export const filterAnsiEscapes = (s: Uint8Array, filterAll: boolean): Uint8Array => {
  const out: Array<number> = []
  let w = 0
  let i = 0
  while (i < s.length) {
    const c = s[i]!
    if (c === 0x1b) {
      const e: Array<number> = [s[i++]!]
      let last = 0
      if (i < s.length && s[i] === 0x5b) {
        e.push(s[i++]!)
        while (i < s.length && s[i]! >= 0x30 && s[i]! <= 0x3f) e.push(s[i++]!)
        while (i < s.length && s[i]! >= 0x20 && s[i]! <= 0x2f) e.push(s[i++]!)
        if (i < s.length && s[i]! >= 0x40 && s[i]! <= 0x7e) e.push(last = s[i++]!)
      } else if (i < s.length && s[i]! >= 0x40 && s[i]! <= 0x5f) e.push(s[i++]!)
      if (!filterAll && last === 0x6d) out.push(...e)
    } else if (c === 0x09) {
      i++
      out.push(0x20)
      w++
      while (w % 8 !== 0) {
        out.push(0x20)
        w++
      }
    } else if (c === 0x0d || c === 0x07) {
      i++
    } else {
      // One UTF-8 character is one column.
      w++
      out.push(s[i++]!)
      const extra = (c & 0xe0) === 0xc0 ? 1 : (c & 0xf0) === 0xe0 ? 2 : (c & 0xf8) === 0xf0 ? 3 : 0
      for (let k = 0; k < extra && i < s.length && (s[i]! & 0xc0) === 0x80; k++) out.push(s[i++]!)
    }
  }
  return Uint8Array.from(out)
}
