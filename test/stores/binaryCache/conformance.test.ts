/**
 * The Store conformance suite against the binary cache stores, for what a
 * cache can do: file://, http:// (a loopback server that stores what is PUT
 * in a directory) and s3:// (s3rver on loopback, a fresh bucket per test).
 * Each test gets a fresh, empty cache. What a cache cannot do is skipped
 * with the reason in the test's title: its files are not on this machine
 * (canonical modes, damaged files, verify), and tsnix's caches have no
 * export/import (Nix's generic one over narFromPath/addToStoreNar is not
 * there).
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
// @ts-expect-error: s3rver ships no type declarations
import S3rver from "s3rver"
import { afterAll, beforeAll } from "vitest"
import * as BinaryCache from "../../../src/stores/binaryCache/open.js"
import { storeConformance } from "../../../src/testing/conformance.js"
import { testServer } from "./testHttpServer.js"

const golden = path.resolve(import.meta.dirname, "../../../golden")
const tmp = (what: string) => fs.mkdtempSync(path.join(os.tmpdir(), `tsnix-cache-conf-${what}-`))

/** What a cache keeps besides its paths' files: nothing else may be there after a failure. */
const cacheFile =
  /^(nix-cache-info|[0-9a-df-np-sv-z]{32}\.(narinfo|ls)|nar\/[0-9a-df-np-sv-z]{52}\.nar(\.[a-z0-9]+)?|log\/.+)$/
const strayIn = (dir: string) =>
  Effect.sync(() =>
    fs.existsSync(dir)
      ? (fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) as Array<string>)
        .filter((f) => !fs.statSync(path.join(dir, f)).isDirectory() && !cacheFile.test(f))
      : []
  )

const noExportImport = "tsnix's binary caches have no exportPaths/importPaths"
const skip = [
  { title: "imports Nix's export", reason: noExportImport },
  { title: "every truncation of an export stream", reason: noExportImport },
  { title: "byte flips", reason: noExportImport }
]

// file://, one directory per test (the layer is built per test)
let fileDir = ""
storeConformance(
  "binary cache file://",
  Layer.unwrapEffect(Effect.sync(() => {
    fileDir = tmp("file")
    return BinaryCache.layer(`file://${fileDir}?compression=xz`, "/nix/store")
  })),
  { golden, skip, strayFiles: Effect.suspend(() => strayIn(fileDir)) }
)

// http://, a loopback server storing PUTs in a directory, one per test
let httpDir = ""
const directoryServer = (dir: string) =>
  testServer((req, res) => {
    const name = decodeURIComponent(req.url.split("?")[0] as string).slice(1)
    if (name.includes("..")) return void res.writeHead(400).end()
    const file = path.join(dir, name)
    if (req.method === "PUT") {
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(`${file}.part`, req.body)
      fs.renameSync(`${file}.part`, file)
      return void res.writeHead(201).end()
    }
    if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) return void res.writeHead(404).end()
    const body = fs.readFileSync(file)
    res.writeHead(200, { "content-length": body.length })
    res.end(req.method === "HEAD" ? undefined : body)
  })
storeConformance(
  "binary cache http:// (a loopback server with PUT)",
  Layer.unwrapScoped(Effect.gen(function*() {
    httpDir = tmp("http")
    const server = yield* directoryServer(httpDir)
    return BinaryCache.layer(`${server.base}?compression=zstd`, "/nix/store")
  })),
  {
    golden,
    skip: [...skip, {
      title: "bad names and dangling references",
      reason: "it checks that the store lists no path, and an http cache has no listing"
    }],
    strayFiles: Effect.suspend(() => strayIn(httpDir))
  }
)

// s3://, one s3rver for the file, a fresh bucket per test
let s3: { server: { close(): Promise<void> }; endpoint: string; admin: S3Client } | undefined
let bucket = 0
beforeAll(async () => {
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: tmp("s3") })
  const address = (await server.run()) as AddressInfo
  const endpoint = `http://127.0.0.1:${address.port}`
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
  // the store finds them as any AWS client does (the default credential chain)
  process.env["AWS_ACCESS_KEY_ID"] = credentials.accessKeyId
  process.env["AWS_SECRET_ACCESS_KEY"] = credentials.secretAccessKey
  s3 = { server, endpoint, admin: new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, credentials }) }
})
afterAll(async () => {
  s3?.admin.destroy()
  await s3?.server.close()
})
storeConformance(
  "binary cache s3:// (s3rver)",
  Layer.unwrapEffect(Effect.gen(function*() {
    const { admin, endpoint } = s3 as NonNullable<typeof s3>
    const name = `conformance-${++bucket}`
    yield* Effect.promise(() => admin.send(new CreateBucketCommand({ Bucket: name })))
    return BinaryCache.layer(`s3://${name}?endpoint=${endpoint}&region=us-east-1`, "/nix/store")
  })),
  { golden, skip }
)
