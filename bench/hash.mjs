// `npm run bench -- hash [MiB]`: throughput of the pure core (hashing a file, nix32, store path
// parsing and computing), compared with `nix-hash --flat` on the same file when it is installed.
import { spawnSync } from "node:child_process"
import { appendFileSync, createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Either } from "effect"
import { hashBytes, makeHasher, printHash } from "../dist/core/hash.js"
import { decodeNix32, encodeNix32 } from "../dist/core/nix32.js"
import { makeFixedOutputPath, parseStorePath, storePathToString } from "../dist/core/storePath.js"

const mib = Number(process.argv[2] ?? 256)
const dataDir = join(dirname(fileURLToPath(import.meta.url)), ".data")
mkdirSync(dataDir, { recursive: true })
const file = join(dataDir, `hash-${mib}MiB.bin`)
if (!existsSync(file) || statSync(file).size !== mib * 1024 * 1024) {
  const chunk = Buffer.alloc(1024 * 1024)
  let x = 1
  writeFileSync(file, "")
  for (let m = 0; m < mib; m++) {
    for (let i = 0; i < chunk.length; i += 4) {
      x = (x * 1664525 + 1013904223) >>> 0
      chunk.writeUInt32LE(x, i)
    }
    appendFileSync(file, chunk)
  }
}

const time = async (f) => {
  const t = process.hrtime.bigint()
  const r = await f()
  return [r, Number(process.hrtime.bigint() - t) / 1e9]
}

const hashFile = async () => {
  const h = makeHasher("sha256")
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c)
  return printHash(h.digest(), "base16")
}
await hashFile() // warm the page cache
const [ours, tOurs] = await time(hashFile)
console.log(
  `tsnix sha256 of ${mib} MiB: ${tOurs.toFixed(3)} s, ${(mib / tOurs).toFixed(0)} MB/s, maxRSS ${
    (process.resourceUsage().maxRSS / 1024).toFixed(0)
  } MiB`
)
const nix = spawnSync("sh", [
  "-c",
  `command -v nix-hash >/dev/null && /usr/bin/time -f %M nix-hash --flat --type sha256 ${file}`
], { encoding: "utf8" })
if (nix.status === 0) {
  const [tNix] = [await time(async () => spawnSync("nix-hash", ["--flat", "--type", "sha256", file]))].map(([, t]) => t)
  const rss = Number(nix.stderr.trim().split("\n").pop()) / 1024
  console.log(
    `nix-hash --flat sha256: ${tNix.toFixed(3)} s, ${(mib / tNix).toFixed(0)} MB/s, maxRSS ${
      rss.toFixed(0)
    } MiB; same digest: ${nix.stdout.trim() === ours}; ratio tsnix/nix ${(tOurs / tNix).toFixed(2)}`
  )
} else console.log("nix-hash not installed: no comparison")

const n = 200_000
const digests = Array.from({ length: 1000 }, (_, i) => hashBytes("sha256", String(i)))
const [, tEnc] = await time(() => {
  for (let i = 0; i < n; i++) encodeNix32(digests[i % 1000].bytes)
})
const encoded = digests.map((d) => encodeNix32(d.bytes))
const [, tDec] = await time(() => {
  for (let i = 0; i < n; i++) Either.getOrThrow(decodeNix32(encoded[i % 1000]))
})
const paths = digests.map((d, i) =>
  storePathToString("/nix/store", makeFixedOutputPath("/nix/store", `name-${i}`, "recursive", d))
)
const [, tParse] = await time(() => {
  for (let i = 0; i < n; i++) Either.getOrThrow(parseStorePath("/nix/store", paths[i % 1000]))
})
const [, tMake] = await time(() => {
  for (let i = 0; i < n; i++) makeFixedOutputPath("/nix/store", "x", "recursive", digests[i % 1000])
})
const rate = (t) => `${(n / t / 1000).toFixed(0)} k/s`
console.log(
  `encodeNix32(32 B): ${rate(tEnc)}; decodeNix32(52 chars): ${rate(tDec)}; parseStorePath: ${
    rate(tParse)
  }; makeFixedOutputPath: ${rate(tMake)}`
)
