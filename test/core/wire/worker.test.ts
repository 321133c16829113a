import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Option } from "effect"
import type { Hash } from "../../../src/core/hash.js"
import type { ValidPathInfo } from "../../../src/core/pathInfo.js"
import { parse as parseCa } from "../../../src/core/contentAddress.js"
import { parseHash } from "../../../src/core/hash.js"
import type { StorePath } from "../../../src/core/storePathBrand.js"
import {
  concatBytes,
  type Decoder,
  encodePadded,
  encodeU64,
  isNeedInput,
  WireReader
} from "../../../src/core/wire/index.js"
import * as W from "../../../src/core/wire/worker/index.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const storeDir = "/nix/store"

/** Decodes exactly one value from `bytes` fed in pieces cut at `cuts`; fails if bytes remain. */
const decodeChunked = <A>(decoder: Decoder<A>, bytes: Uint8Array, cuts: ReadonlyArray<number> = []): A => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let prev = 0
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, p))
    prev = p
  }
  const reader = new WireReader()
  for (;;) {
    const r = reader.read(decoder, W.isWorkerValueError)
    if (isNeedInput(r)) {
      const next = chunks.shift()
      if (next === undefined) reader.end()
      else reader.feed(next)
      continue
    }
    if (r instanceof Error) throw r
    expect(reader.buffered + chunks.reduce((n, c) => n + c.length, 0)).toBe(0)
    return r
  }
}

const nix32Chars = "0123456789abcdfghijklmnpqrsvwxyz"
const hashPartArb = fc.array(fc.constantFrom(...nix32Chars), { minLength: 32, maxLength: 32 }).map((a) => a.join(""))
const nameArb = fc.stringMatching(/^[a-zA-Z0-9+_?=][a-zA-Z0-9+\-._?=]{0,30}$/)
const pathArb = fc.tuple(hashPartArb, nameArb).map(([h, n]) => `${storeDir}/${h}-${n}` as StorePath)
const sha256Arb: fc.Arbitrary<Hash> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => ({
  algo: "sha256",
  bytes
}))
const caArb = fc.option(
  fc.oneof(
    sha256Arb.map((hash) => ({ method: "text" as const, hash })),
    sha256Arb.map((hash) => ({ method: "recursive" as const, hash })),
    sha256Arb.map((hash) => ({ method: "flat" as const, hash }))
  ),
  { nil: undefined }
)
const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const sortedUnique = <A extends string>(xs: ReadonlyArray<A>): Array<A> => W.sortedUnique(xs) as Array<A>

const infoArb: fc.Arbitrary<ValidPathInfo> = fc.record({
  path: pathArb,
  deriver: fc.option(pathArb, { nil: undefined }),
  narHash: sha256Arb,
  references: fc.array(pathArb, { maxLength: 5 }),
  registrationTime: u53,
  narSize: u53,
  ultimate: fc.boolean(),
  sigs: fc.array(fc.stringMatching(/^[a-z.-]{1,12}:[A-Za-z0-9+/=]{4,20}$/), { maxLength: 3 }),
  ca: caArb
}).map((r) => ({
  ...r,
  deriver: Option.fromNullable(r.deriver),
  references: sortedUnique(r.references),
  sigs: sortedUnique(r.sigs),
  ca: Option.fromNullable(r.ca)
}))

const cutsArb = fc.array(fc.nat(2000), { maxLength: 6 })

describe("worker protocol: handshake", () => {
  it("encodes the observed 2.8 handshake bytes (notes 1.3)", () => {
    expect(hex(W.encodeClientMagic())).toBe("6378696e00000000")
    expect(hex(W.encodeServerHello())).toBe("6f69786400000000" + "2201000000000000")
    expect(hex(W.encodeClientHello({ version: W.PROTOCOL_VERSION }, W.PROTOCOL_VERSION))).toBe(
      "2201000000000000" + "0000000000000000" + "0000000000000000"
    )
    expect(hex(W.encodeDaemonNixVersion(W.PROTOCOL_VERSION, "2.8.0"))).toBe("0500000000000000322e382e30000000")
    expect(W.encodeDaemonNixVersion(W.makeVersion(1, 32), "2.8.0").length).toBe(0)
    expect(hex(W.STDERR_LAST)).toBe("73746c6100000000")
  })

  it("decodes client hellos of every minor, with the fields its minor implies", () => {
    for (let minor = 0; minor <= 40; minor++) {
      const version = W.makeVersion(1, minor)
      const bytes = W.encodeClientHello({ version, affinity: minor % 2 === 0 ? 5n : undefined }, version)
      const hello = decodeChunked(W.clientHello, bytes, [3, 11])
      expect(hello.version).toBe(version)
      expect(hello.affinity).toBe(minor >= 14 && minor % 2 === 0 ? 5n : undefined)
      expect(hello.reserveSpace).toBe(minor >= 11 ? false : undefined)
      expect(W.checkClientVersion(version) === undefined).toBe(minor >= 10)
    }
    expect(W.checkClientVersion(W.makeVersion(2, 34))).toBeDefined()
    expect(decodeChunked(W.serverHello, W.encodeServerHello(0x115))).toBe(0x115)
    expect(W.printVersion(W.PROTOCOL_VERSION)).toBe("1.34")
    expect(W.negotiate(W.PROTOCOL_VERSION, 0x115)).toBe(0x115)
  })

  it("refuses a wrong magic number", () => {
    expect(() => decodeChunked(W.clientMagic, encodeU64(0x12345678))).toThrow(/protocol mismatch/)
    expect(() => decodeChunked(W.serverHello, concatBytes([encodeU64(W.WORKER_MAGIC_1), encodeU64(0x122)]))).toThrow(
      W.WorkerValueError
    )
  })
})

describe("worker protocol: ops", () => {
  it("numbers every op of 2.8 and the seed's 22-25", () => {
    expect(W.Op.IsValidPath).toBe(1)
    expect(W.Op.QueryDerivationOutputs).toBe(22)
    expect(W.Op.QueryAllValidPaths).toBe(23)
    expect(W.Op.QueryFailedPaths).toBe(24)
    expect(W.Op.ClearFailedPaths).toBe(25)
    expect(W.Op.BuildPathsWithResults).toBe(46)
    const codes = Object.values(W.Op)
    expect(new Set(codes).size).toBe(codes.length)
    expect(codes.length).toBe(43)
    for (const unassigned of [0, 2, 15, 17, 47, 99]) expect(W.opName(unassigned)).toBeUndefined()
    expect(W.opName(26n)).toBe("QueryPathInfo")
    expect(W.opName(2n ** 63n)).toBeUndefined()
  })

  it("lays out IsValidPath as observed (notes 1.9)", () => {
    const req = concatBytes([
      encodeU64(W.Op.IsValidPath),
      encodePadded("/nix/store/zhpvqp78qg6wx8l4jjnfvn76j2vl274i-simple")
    ])
    expect(hex(req)).toBe(
      "0100000000000000" + "3200000000000000" +
        Buffer.from("/nix/store/zhpvqp78qg6wx8l4jjnfvn76j2vl274i-simple").toString("hex") +
        "000000000000"
    )
  })
})

describe("worker protocol: STDERR", () => {
  const msgArb: fc.Arbitrary<W.StderrMessage> = fc.oneof(
    fc.string().map((text) => ({ _tag: "Next" as const, text })),
    fc.nat(W.MAX_DATA).map((count) => ({ _tag: "Read" as const, count })),
    fc.uint8Array({ maxLength: 40 }).map((data) => ({ _tag: "Write" as const, data })),
    fc.constant({ _tag: "Last" as const }),
    fc.record({
      id: fc.bigUint(2n ** 64n - 1n),
      level: fc.nat(7),
      type: fc.constantFrom(...Object.values(W.ActivityType)),
      text: fc.string(),
      fields: fc.array(fc.oneof(u53, fc.string()), { maxLength: 4 }),
      parent: fc.bigUint(2n ** 64n - 1n)
    }).map((r) => ({ _tag: "StartActivity" as const, ...r })),
    fc.bigUint(2n ** 64n - 1n).map((id) => ({ _tag: "StopActivity" as const, id })),
    fc.record({
      id: fc.bigUint(2n ** 64n - 1n),
      type: fc.constantFrom(...Object.values(W.ResultType)),
      fields: fc.array(fc.oneof(u53, fc.string()), { maxLength: 4 })
    }).map((r) => ({ _tag: "Result" as const, ...r }))
  )

  it.prop("messages round-trip for a 1.34 client, in any chunking", [msgArb, cutsArb], ([msg, cuts]) => {
    const bytes = W.encodeStderr(W.PROTOCOL_VERSION, msg)
    expect(decodeChunked(W.stderrMessage(W.PROTOCOL_VERSION), bytes, cuts)).toEqual(msg)
  })

  it.prop(
    "errors round-trip in both forms (structured from minor 26)",
    [fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.integer({ min: 10, max: 34 }), fc.nat(255)],
    ([message, traces, minor, status]) => {
      const v = W.makeVersion(1, minor)
      const got = decodeChunked(W.stderrMessage(v), W.encodeError(v, message, { traces, status }))
      if (minor >= 26) expect(got).toEqual({ _tag: "Error", message, status: 1, level: 0, traces })
      else expect(got).toEqual({ _tag: "Error", message, status, level: 0, traces: [] })
    }
  )

  it("writes a structured error as 2.8 does (notes 1.4 byte vector shape)", () => {
    const msg = "x".repeat(111)
    const bytes = W.encodeError(W.PROTOCOL_VERSION, msg)
    expect(hex(bytes)).toBe(
      "7074786300000000" + "0500000000000000" + "4572726f72000000" + "0000000000000000" + "0500000000000000" +
        "4572726f72000000" + "6f00000000000000" + "78".repeat(111) + "00" + "0000000000000000" + "0000000000000000"
    )
    expect(hex(W.encodeError(W.makeVersion(1, 25), "boom", { status: 100 }))).toBe(
      "7074786300000000" + "0400000000000000" + "626f6f6d00000000" + "6400000000000000"
    )
  })

  it("gives clients below 1.20 an activity start as a NEXT line and nothing else", () => {
    const old = W.makeVersion(1, 19)
    const start: W.StderrMessage = {
      _tag: "StartActivity",
      id: 1n,
      level: 3,
      type: W.ActivityType.OptimiseStore,
      text: "optimising",
      fields: [],
      parent: 0n
    }
    expect(decodeChunked(W.stderrMessage(old), W.encodeStderr(old, start))).toEqual({
      _tag: "Next",
      text: "optimising...\n"
    })
    expect(W.encodeStderr(old, { _tag: "StopActivity", id: 1n }).length).toBe(0)
    expect(W.encodeStderr(old, { _tag: "Result", id: 1n, type: 105, fields: [1] }).length).toBe(0)
  })

  it("refuses an unknown STDERR code and an unknown field type", () => {
    expect(() => decodeChunked(W.stderrMessage(W.PROTOCOL_VERSION), encodeU64(42))).toThrow(/unexpected STDERR code/)
    const badField = concatBytes([encodeU64(W.Stderr.Result), encodeU64(1), encodeU64(105), encodeU64(1), encodeU64(7)])
    expect(() => decodeChunked(W.stderrMessage(W.PROTOCOL_VERSION), badField)).toThrow(/unknown field type 7/)
  })
})

describe("worker protocol: ValidPathInfo", () => {
  it.prop(
    "round-trips with and without the path, in every format",
    [infoArb, fc.boolean(), fc.integer({ min: 10, max: 34 }), cutsArb],
    ([info, withPath, format, cuts]) => {
      const layout = { withPath, format }
      const got = decodeChunked(W.pathInfo(storeDir, layout, info.path), W.encodePathInfo(info, layout), cuts)
      expect(got).toEqual(
        format >= 16 ? info : { ...info, ultimate: false, sigs: [], ca: Option.none() }
      )
    }
  )

  it.prop("QueryPathInfo replies round-trip for every minor", [
    fc.option(infoArb, { nil: undefined }),
    fc.integer({ min: 17, max: 34 })
  ], ([info, minor]) => {
    const v = W.makeVersion(1, minor)
    const path = info?.path ?? ("/nix/store/00000000000000000000000000000000-x" as StorePath)
    const got = decodeChunked(W.queryPathInfoReply(storeDir, v, path), W.encodeQueryPathInfoReply(v, info))
    expect(got === undefined).toBe(info === undefined)
  })

  it("encodes the AddToStore reply of `nix-store --add hello.txt` as observed (notes 1.9)", () => {
    const info: ValidPathInfo = {
      path: "/nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt" as StorePath,
      deriver: Option.none(),
      narHash: Either.getOrThrow(parseHash("sha256:1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13")),
      references: [],
      registrationTime: 1700000000,
      narSize: 120,
      ultimate: false,
      sigs: [],
      ca: Option.some(Either.getOrThrow(parseCa("fixed:r:sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw")))
    }
    const expected = concatBytes([
      encodePadded(info.path),
      encodePadded(""),
      encodePadded("1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13"),
      encodeU64(0),
      encodeU64(1700000000),
      encodeU64(120),
      encodeU64(0),
      encodeU64(0),
      encodePadded("fixed:r:sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw")
    ])
    expect(hex(W.encodePathInfo(info, { withPath: true, format: 16 }))).toBe(hex(expected))
    expect(decodeChunked(W.pathInfo(storeDir, { withPath: true, format: 16 }), expected)).toEqual(info)
  })

  it("refuses a bad hash, a path outside the store and a bad content address", () => {
    const base = (hash: string, ref: string, ca: string) =>
      concatBytes([
        encodePadded("/nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt"),
        encodePadded(""),
        encodePadded(hash),
        encodeU64(1),
        encodePadded(ref),
        encodeU64(0),
        encodeU64(0),
        encodeU64(0),
        encodeU64(0),
        encodePadded(ca)
      ])
    const good = "1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13"
    const ref = "/nix/store/i9pmrzmpshapij2kin22pff6fc2adavx-hello.txt"
    const d = W.pathInfo(storeDir, { withPath: true, format: 16 })
    expect(() => decodeChunked(d, base("zz", ref, ""))).toThrow(/a NAR hash/)
    expect(() => decodeChunked(d, base(good, "/tmp/x", ""))).toThrow(/a reference/)
    expect(() => decodeChunked(d, base(good, ref, "fixed:bogus"))).toThrow(/a content address/)
    expect(decodeChunked(d, base(`sha256:${good}`, ref, "")).references).toEqual([ref])
  })
})

describe("worker protocol: options, requests, results", () => {
  const optionsArb: fc.Arbitrary<W.ClientOptions> = fc.record({
    keepFailed: fc.boolean(),
    keepGoing: fc.boolean(),
    tryFallback: fc.boolean(),
    verbosity: fc.nat(7),
    maxBuildJobs: fc.nat(64),
    maxSilentTime: fc.nat(),
    verboseBuild: fc.boolean(),
    buildCores: fc.nat(64),
    useSubstitutes: fc.boolean(),
    overrides: fc.array(fc.tuple(fc.string({ minLength: 1 }), fc.string()), { maxLength: 4 })
  })

  it.prop(
    "SetOptions round-trips (overrides from minor 12)",
    [optionsArb, fc.integer({ min: 10, max: 34 }), cutsArb],
    ([o, minor, cuts]) => {
      const v = W.makeVersion(1, minor)
      const got = decodeChunked(W.clientOptions(v), W.encodeClientOptions(v, o), cuts)
      expect(got).toEqual(minor >= 12 ? o : { ...o, overrides: [] })
    }
  )

  it("decodes the SetOptions of the observed `nix-store -r … --keep-failed … --no-substitute` (notes 1.3)", () => {
    const ints = [1, 1, 1, 4, 4, 7, 1, 0, 0, 0, 3, 0]
    const bytes = concatBytes([...ints.map(encodeU64), encodeU64(1), encodePadded("timeout"), encodePadded("9")])
    const o = decodeChunked(W.clientOptions(W.PROTOCOL_VERSION), bytes)
    expect(o).toEqual({
      keepFailed: true,
      keepGoing: true,
      tryFallback: true,
      verbosity: 4,
      maxBuildJobs: 4,
      maxSilentTime: 7,
      verboseBuild: true,
      buildCores: 3,
      useSubstitutes: false,
      overrides: [["timeout", "9"]]
    })
  })

  it.prop("CollectGarbage request and reply round-trip", [
    fc.constantFrom(0, 1, 2, 3),
    fc.array(pathArb, { maxLength: 4 }),
    fc.boolean(),
    fc.bigUint(2n ** 64n - 1n),
    fc.array(pathArb, { maxLength: 4 }),
    u53
  ], ([action, pathsToDelete, ignoreLiveness, maxFreed, paths, bytesFreed]) => {
    const req = {
      action: action as W.GcActionValue,
      pathsToDelete: sortedUnique(pathsToDelete),
      ignoreLiveness,
      maxFreed
    }
    expect(decodeChunked(W.gcRequest, W.encodeGcRequest(req))).toEqual(req)
    const reply = { paths: sortedUnique(paths), bytesFreed }
    expect(decodeChunked(W.gcReply, W.encodeGcReply(reply))).toEqual(reply)
  })

  it("lays out the `nix-store --add` AddToStore header as observed (notes 1.9) and parses every method", () => {
    const req: W.AddToStoreRequest = {
      name: "hello.txt",
      method: { method: "recursive", algo: "sha256" },
      references: [],
      repair: false
    }
    const bytes = W.encodeAddToStoreRequest(req)
    expect(hex(bytes)).toBe(
      hex(concatBytes([encodePadded("hello.txt"), encodePadded("fixed:r:sha256"), encodeU64(0), encodeU64(0)]))
    )
    expect(decodeChunked(W.addToStoreRequest, bytes)).toEqual(req)
    for (const s of ["text:sha256", "fixed:r:sha1", "fixed:md5", "fixed:sha512"]) {
      expect(W.renderCaMethodAlgo(Either.getOrThrow(W.parseCaMethodAlgo(s)))).toBe(s)
    }
    for (const s of ["text:sha1", "fixed:r:foo", "nar:sha256", ""]) {
      expect(Either.isLeft(W.parseCaMethodAlgo(s))).toBe(true)
    }
    const old: W.AddToStoreOldRequest = { name: "x", fixed: false, recursive: true, hashAlgo: "sha256" }
    expect(decodeChunked(W.addToStoreOldRequest, W.encodeAddToStoreOldRequest(old))).toEqual(old)
    expect(W.oldAddToStoreMethod({ ...old, recursive: false, hashAlgo: "md5" })).toEqual({
      recursive: true,
      algo: "sha256"
    })
  })

  it.prop(
    "AddToStoreNar headers round-trip",
    [infoArb, fc.boolean(), fc.boolean()],
    ([info, repair, dontCheckSigs]) => {
      const r = { info, repair, dontCheckSigs }
      expect(decodeChunked(W.addToStoreNarRequest(storeDir), W.encodeAddToStoreNarRequest(r))).toEqual(r)
    }
  )

  it.prop("BuildResults round-trip, the BuildDerivation reply with its minor gates", [
    fc.record({
      path: fc.string(),
      status: fc.constantFrom(...Object.values(W.BuildStatus)),
      errorMsg: fc.string(),
      timesBuilt: fc.nat(),
      isNonDeterministic: fc.boolean(),
      startTime: u53,
      stopTime: u53,
      builtOutputs: fc.array(fc.tuple(fc.string(), fc.string()), { maxLength: 3 })
    }),
    fc.integer({ min: 10, max: 34 })
  ], ([r, minor]) => {
    expect(decodeChunked(W.buildResult, W.encodeBuildResult(r))).toEqual(r)
    const v = W.makeVersion(1, minor)
    const got = decodeChunked(W.buildDerivationReply(v), W.encodeBuildDerivationReply(v, r))
    expect(got.status).toBe(r.status)
    expect(got.errorMsg).toBe(r.errorMsg)
    expect(got.timesBuilt).toBe(minor >= 29 ? r.timesBuilt : 0)
    expect(got.builtOutputs).toEqual(minor >= 28 ? r.builtOutputs : [])
  })

  it("QueryMissing, FindRoots and substitutable-info bodies round-trip", () => {
    const m = {
      willBuild: ["/nix/store/a"],
      willSubstitute: [],
      unknown: ["/nix/store/b", "/nix/store/c"],
      downloadSize: 1,
      narSize: 2
    }
    expect(decodeChunked(W.missingReply, W.encodeMissingReply(m))).toEqual(m)
    const roots = [{ link: "/r/1", target: "/nix/store/x" }, { link: "{censored}", target: "/nix/store/y" }]
    expect(decodeChunked(W.rootsReply, W.encodeRootsReply(roots))).toEqual(roots)
    const req = concatBytes([
      encodeU64(2),
      encodePadded("/nix/store/a"),
      encodePadded(""),
      encodePadded("/nix/store/b"),
      encodePadded("")
    ])
    expect(decodeChunked(W.substitutablePathInfosRequest(W.PROTOCOL_VERSION), req)).toEqual([
      "/nix/store/a",
      "/nix/store/b"
    ])
    expect(() => decodeChunked(W.buildMode, encodeU64(3))).toThrow(/invalid build mode 3/)
    expect(() => decodeChunked(W.gcRequest, encodeU64(4))).toThrow(/invalid GC action 4/)
  })
})
