/**
 * The daemon's STDERR messages (Nix 2.8's `TunnelLogger`): what a daemon sends
 * inside an operation before its result. Every reply is
 * `(message)* STDERR_LAST <result>` or `(message)* STDERR_ERROR <error>`.
 *
 * Errors: clients of minor ≥ 26 get the structured form (`"Error"`, level,
 * `"Error"`, message, havePos 0, traces), older ones the message and an exit
 * status. Activities (START/STOP/RESULT) go to clients of minor ≥ 20; older
 * ones get a start as a NEXT line `text...` and nothing for stop or result.
 *
 * @since 0.1.0
 */
import { type Decoder, paddedBytes, paddedString, u64, u64Bounded } from "../decode.js"
import { concatBytes, encodePadded, encodeU64 } from "../encode.js"
import { WorkerValueError } from "./errors.js"
import { MAX_COUNT, MAX_DATA, MAX_MESSAGE } from "./limits.js"
import { protocolMinor } from "./version.js"

/** The message codes. */
export const Stderr = {
  Next: 0x6f6c6d67,
  Read: 0x64617461,
  Write: 0x64617416,
  Last: 0x616c7473,
  Error: 0x63787470,
  StartActivity: 0x53545254,
  StopActivity: 0x53544f50,
  Result: 0x52534c54
} as const

/** Verbosity levels (Nix's `Verbosity`). */
export const Verbosity = {
  Error: 0,
  Warn: 1,
  Notice: 2,
  Info: 3,
  Talkative: 4,
  Chatty: 5,
  Debug: 6,
  Vomit: 7
} as const

/** Activity types (Nix's `ActivityType`). */
export const ActivityType = {
  Unknown: 0,
  CopyPath: 100,
  FileTransfer: 101,
  Realise: 102,
  CopyPaths: 103,
  Builds: 104,
  Build: 105,
  OptimiseStore: 106,
  VerifyPaths: 107,
  Substitute: 108,
  QueryPathInfo: 109,
  PostBuildHook: 110,
  BuildWaiting: 111
} as const

/** Result types (Nix's `ResultType`). */
export const ResultType = {
  FileLinked: 100,
  BuildLogLine: 101,
  UntrustedPath: 102,
  CorruptedPath: 103,
  SetPhase: 104,
  Progress: 105,
  SetExpected: 106,
  PostBuildLogLine: 107
} as const

/** An activity or result field: an integer (type 0) or a string (type 1). */
export type Field = number | string

/** One STDERR message. */
export type StderrMessage =
  /** A log line (with its trailing newline, as Nix sends it). */
  | { readonly _tag: "Next"; readonly text: string }
  /** The daemon asks for up to `count` bytes; the client answers with a string. */
  | { readonly _tag: "Read"; readonly count: number }
  /** Data for the client's sink (ExportPath). */
  | { readonly _tag: "Write"; readonly data: Uint8Array }
  | { readonly _tag: "Last" }
  | {
    readonly _tag: "Error"
    readonly message: string
    /** The exit status (old form only; 1 when structured). */
    readonly status: number
    /** The verbosity level (structured form; Error when old). */
    readonly level: number
    /** Trace hints (structured form). */
    readonly traces: ReadonlyArray<string>
  }
  | {
    readonly _tag: "StartActivity"
    readonly id: bigint
    readonly level: number
    readonly type: number
    readonly text: string
    readonly fields: ReadonlyArray<Field>
    readonly parent: bigint
  }
  | { readonly _tag: "StopActivity"; readonly id: bigint }
  | { readonly _tag: "Result"; readonly id: bigint; readonly type: number; readonly fields: ReadonlyArray<Field> }

/** STDERR_LAST as bytes. */
export const STDERR_LAST: Uint8Array = encodeU64(Stderr.Last)

/** Encodes fields: u64 count, then per field u64 type and the value. */
export const encodeFields = (fields: ReadonlyArray<Field>): Uint8Array =>
  concatBytes([
    encodeU64(fields.length),
    ...fields.flatMap((f) => typeof f === "number" ? [encodeU64(0), encodeU64(f)] : [encodeU64(1), encodePadded(f)])
  ])

/** Reads fields. */
export const fields: Decoder<Array<Field>> = (input) => {
  const n = u64Bounded(MAX_COUNT, "the number of fields")(input)
  const out: Array<Field> = []
  for (let i = 0; i < n; i++) {
    const offset = input.offset
    const type = u64(input)
    if (type === 0n) out.push(u64Bounded(Number.MAX_SAFE_INTEGER, "an integer field")(input))
    else if (type === 1n) out.push(paddedString(MAX_MESSAGE, "a string field")(input))
    else throw new WorkerValueError({ offset, what: "a field", reason: `unknown field type ${type}` })
  }
  return out
}

/** Encodes an error for a client of `clientVersion` (structured from minor 26). */
export const encodeError = (
  clientVersion: number,
  message: string,
  options?: { readonly status?: number; readonly level?: number; readonly traces?: ReadonlyArray<string> }
): Uint8Array => {
  if (protocolMinor(clientVersion) >= 26) {
    const traces = options?.traces ?? []
    return concatBytes([
      encodeU64(Stderr.Error),
      encodePadded("Error"),
      encodeU64(options?.level ?? Verbosity.Error),
      encodePadded("Error"),
      encodePadded(message),
      encodeU64(0),
      encodeU64(traces.length),
      ...traces.flatMap((t) => [encodeU64(0), encodePadded(t)])
    ])
  }
  return concatBytes([encodeU64(Stderr.Error), encodePadded(message), encodeU64(options?.status ?? 1)])
}

/**
 * Encodes a message for a client of `clientVersion`. Activities for clients
 * below minor 20 become what Nix sends them: a start is a NEXT line
 * `text...` (nothing when the text is empty), a stop or a result nothing.
 */
export const encodeStderr = (clientVersion: number, msg: StderrMessage): Uint8Array => {
  const minor = protocolMinor(clientVersion)
  switch (msg._tag) {
    case "Next":
      return concatBytes([encodeU64(Stderr.Next), encodePadded(msg.text)])
    case "Read":
      return concatBytes([encodeU64(Stderr.Read), encodeU64(msg.count)])
    case "Write":
      return concatBytes([encodeU64(Stderr.Write), encodePadded(msg.data)])
    case "Last":
      return STDERR_LAST
    case "Error":
      return encodeError(clientVersion, msg.message, msg)
    case "StartActivity":
      if (minor < 20) {
        return msg.text === ""
          ? new Uint8Array(0)
          : concatBytes([encodeU64(Stderr.Next), encodePadded(`${msg.text}...\n`)])
      }
      return concatBytes([
        encodeU64(Stderr.StartActivity),
        encodeU64(msg.id),
        encodeU64(msg.level),
        encodeU64(msg.type),
        encodePadded(msg.text),
        encodeFields(msg.fields),
        encodeU64(msg.parent)
      ])
    case "StopActivity":
      return minor < 20 ? new Uint8Array(0) : concatBytes([encodeU64(Stderr.StopActivity), encodeU64(msg.id)])
    case "Result":
      return minor < 20
        ? new Uint8Array(0)
        : concatBytes([encodeU64(Stderr.Result), encodeU64(msg.id), encodeU64(msg.type), encodeFields(msg.fields)])
  }
}

const LAST: StderrMessage = { _tag: "Last" }

const expectString = (expected: string, what: string): Decoder<void> => (input) => {
  const offset = input.offset
  const s = paddedString(MAX_MESSAGE, what)(input)
  if (s !== expected) throw new WorkerValueError({ offset, what, reason: `expected '${expected}', got '${s}'` })
}

/** Reads the error after an STDERR_ERROR code, in the form a daemon of `daemonVersion` sends. */
export const errorBody = (daemonVersion: number): Decoder<Extract<StderrMessage, { _tag: "Error" }>> => (input) => {
  if (protocolMinor(daemonVersion) >= 26) {
    expectString("Error", "the error's type")(input)
    const level = u64Bounded(0xffffffff, "the error's level")(input)
    paddedString(MAX_MESSAGE, "the error's name")(input)
    const message = paddedString(MAX_MESSAGE, "the error's message")(input)
    const offset = input.offset
    if (u64(input) !== 0n) throw new WorkerValueError({ offset, what: "the error's position", reason: "not supported" })
    const n = u64Bounded(MAX_COUNT, "the number of traces")(input)
    const traces: Array<string> = []
    for (let i = 0; i < n; i++) {
      const o = input.offset
      if (u64(input) !== 0n) {
        throw new WorkerValueError({ offset: o, what: "a trace's position", reason: "not supported" })
      }
      traces.push(paddedString(MAX_MESSAGE, "a trace")(input))
    }
    return { _tag: "Error", message, status: 1, level, traces }
  }
  const message = paddedString(MAX_MESSAGE, "the error's message")(input)
  const status = u64Bounded(0xffffffff, "the error's exit status")(input)
  return { _tag: "Error", message, status, level: Verbosity.Error, traces: [] }
}

/** Reads one STDERR message from a daemon of `daemonVersion`. */
export const stderrMessage = (daemonVersion: number): Decoder<StderrMessage> => {
  const error = errorBody(daemonVersion)
  return (input) => {
    const offset = input.offset
    const code = u64(input)
    switch (code) {
      case BigInt(Stderr.Last):
        return LAST
      case BigInt(Stderr.Next):
        return { _tag: "Next", text: paddedString(MAX_MESSAGE, "a log line")(input) }
      case BigInt(Stderr.Read):
        return { _tag: "Read", count: u64Bounded(MAX_DATA, "a read request")(input) }
      case BigInt(Stderr.Write):
        return { _tag: "Write", data: paddedBytes(MAX_DATA, "written data")(input).slice() }
      case BigInt(Stderr.Error):
        return error(input)
      case BigInt(Stderr.StartActivity): {
        const id = u64(input)
        const level = u64Bounded(0xffffffff, "an activity's level")(input)
        const type = u64Bounded(0xffffffff, "an activity's type")(input)
        const text = paddedString(MAX_MESSAGE, "an activity's text")(input)
        const fs = fields(input)
        const parent = u64(input)
        return { _tag: "StartActivity", id, level, type, text, fields: fs, parent }
      }
      case BigInt(Stderr.StopActivity):
        return { _tag: "StopActivity", id: u64(input) }
      case BigInt(Stderr.Result): {
        const id = u64(input)
        const type = u64Bounded(0xffffffff, "a result's type")(input)
        return { _tag: "Result", id, type, fields: fields(input) }
      }
      default:
        throw new WorkerValueError({
          offset,
          what: "a message from the daemon",
          reason: `got unexpected STDERR code 0x${code.toString(16)}`
        })
    }
  }
}
