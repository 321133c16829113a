/** The s3:// transport against a real S3-compatible server on loopback (s3rver): objects, streams, multipart, listing. */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
// @ts-expect-error: s3rver ships no type declarations
import S3rver from "s3rver"
import * as S3 from "../../../src/stores/binaryCache/s3/client.js"
import { parseS3Uri } from "../../../src/stores/binaryCache/s3/uri.js"

const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }

interface Running {
  readonly endpoint: string
  /** `eventName` of each object created (ObjectCreated:Put, or :Post for a completed multipart upload), by key. */
  readonly created: Array<readonly [string, string]>
}

/** s3rver on 127.0.0.1 with an empty data directory and a bucket `cache`, closed with the scope. */
const s3rver = Effect.acquireRelease(
  Effect.promise(async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "tsnix-s3rver-"))
    const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory })
    const created: Array<readonly [string, string]> = []
    server.on("event", (e: { Records: Array<{ eventName: string; s3: { object: { key: string } } }> }) => {
      for (const r of e.Records) created.push([r.s3.object.key, r.eventName])
    })
    const address = (await server.run()) as AddressInfo
    const endpoint = `http://127.0.0.1:${address.port}`
    const admin = new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, credentials })
    await admin.send(new CreateBucketCommand({ Bucket: "cache" }))
    admin.destroy()
    return { server, directory, endpoint, created }
  }),
  ({ directory, server }) =>
    Effect.promise(async () => {
      await server.close()
      fs.rmSync(directory, { recursive: true, force: true })
    })
).pipe(Effect.map((r): Running => ({ endpoint: r.endpoint, created: r.created })))

const open = (uri: string) => S3.make(Either.getOrThrow(parseS3Uri(uri)), { credentials })

const collect = (s: Stream.Stream<Uint8Array, S3.S3CacheError>) =>
  Effect.map(Stream.runCollect(s), (c) => Buffer.concat(Chunk.toReadonlyArray(c)))

describe("s3:// URIs", () => {
  it("parameters as Nix reads them", () => {
    const l = Either.getOrThrow(
      parseS3Uri("s3://my-cache?region=eu-west-1&endpoint=127.0.0.1:9000&scheme=http&profile=p")
    )
    expect(l).toMatchObject({
      bucket: "my-cache",
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:9000",
      profile: "p"
    })
    expect(Either.getOrThrow(parseS3Uri("s3://abc")).region).toBe("us-east-1")
    expect(Either.getOrThrow(parseS3Uri("s3://abc?aws-region=x")).region).toBe("x")
    expect(Either.getOrThrow(parseS3Uri("s3://abc?endpoint=https://r2.example")).endpoint).toBe("https://r2.example")
    for (const bad of ["s3://", "s3://A_B", "s3://abc?scheme=ftp", "s3://abc?buffer-size=10", "http://x"]) {
      expect(Either.isLeft(parseS3Uri(bad)), bad).toBe(true)
    }
  })
})

describe("s3 transport (s3rver on loopback)", () => {
  it.scopedLive("put, exists, get, getStream; absent objects are none", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* s3rver
      const t = yield* open(`s3://cache?endpoint=${endpoint}&region=us-east-1`)
      expect(yield* t.exists("nix-cache-info")).toBe(false)
      expect(yield* t.get("nix-cache-info")).toEqual(Option.none())
      expect(yield* t.getStream("nar/x.nar")).toEqual(Option.none())
      yield* t.put("nix-cache-info", new TextEncoder().encode("StoreDir: /nix/store\n"), "text/x-nix-cache-info")
      expect(yield* t.exists("nix-cache-info")).toBe(true)
      expect(Buffer.from(Option.getOrThrow(yield* t.get("nix-cache-info"))).toString()).toBe("StoreDir: /nix/store\n")
      const body = crypto.randomBytes(300_000)
      yield* t.put("nar/a.nar", Stream.fromIterable([body.subarray(0, 7), body.subarray(7)]), "application/x-nix-nar")
      expect((yield* collect(Option.getOrThrow(yield* t.getStream("nar/a.nar")))).equals(body)).toBe(true)
    }))

  it.scopedLive("a NAR larger than a part goes up in a multipart upload", () =>
    Effect.gen(function*() {
      const { created, endpoint } = yield* s3rver
      const t = yield* open(`s3://cache?endpoint=${endpoint}`)
      const body = crypto.randomBytes(12 * 1024 * 1024)
      const chunks = Array.from({ length: 12 }, (_, i) => body.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024))
      yield* t.put("nar/big.nar", Stream.fromIterable(chunks), "application/x-nix-nar")
      const got = yield* collect(Option.getOrThrow(yield* t.getStream("nar/big.nar")))
      expect(got.length).toBe(body.length)
      expect(got.equals(body)).toBe(true)
      yield* t.put("small", new Uint8Array(10), "application/octet-stream")
      expect(created).toEqual([["nar/big.nar", "ObjectCreated:Post"], ["small", "ObjectCreated:Put"]])
    }), 60_000)

  it.scopedLive("a failing upload stream fails the upload with its own error; nothing is left", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* s3rver
      const t = yield* open(`s3://cache?endpoint=${endpoint}`)
      const broken = Stream.concat(Stream.make(new Uint8Array(1000)), Stream.fail("truncated NAR" as const))
      const e = yield* Effect.flip(t.put("nar/broken.nar", broken, "application/x-nix-nar"))
      expect(e).toBe("truncated NAR")
      expect(yield* t.exists("nar/broken.nar")).toBe(false)
    }))

  it.scopedLive("listing the top level (what queryAllValidPaths reads)", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* s3rver
      const t = yield* open(`s3://cache?endpoint=${endpoint}`)
      for (const k of ["a.narinfo", "b.narinfo", "nar/c.nar", "nix-cache-info"]) {
        yield* t.put(k, new Uint8Array([1]), "application/octet-stream")
      }
      expect([...(yield* t.listTopLevel)].sort()).toEqual(["a.narinfo", "b.narinfo", "nix-cache-info"])
    }))

  it.scopedLive("an unreachable endpoint is a clear error", () =>
    Effect.gen(function*() {
      const t = yield* S3.make(Either.getOrThrow(parseS3Uri("s3://cache?endpoint=127.0.0.1:1&scheme=http")), {
        credentials,
        attempts: 2
      })
      const e = yield* Effect.flip(t.get("nix-cache-info"))
      expect(e.message).toMatch(/^unable to download 's3:\/\/cache\/nix-cache-info': /)
    }))
})
