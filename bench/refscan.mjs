// `npm run bench -- refscan [MiB]`: throughput of the reference scanner (core/referenceScanner) on a
// stream of MiB (default 1024) fed in 1 MiB chunks, for three kinds of data: random bytes (binaries),
// text (lower-case words and store paths, as scripts and .pc files are), and the worst case (every
// byte in the nix32 alphabet, so every window is looked up). 300 candidate hash parts, as a build with
// a large input closure has; a few of them planted in the data. Each kind is measured `REPS` times (default
// 3; wall and CPU time, user+sys, of this process) and the median is printed.
import { makeReferenceScanner } from "../dist/core/referenceScanner.js"

const mib = Number(process.argv[2] ?? 1024)
const reps = Number(process.env.REPS ?? 3)
const alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
let x = 12345
const rnd = () => (x = (x * 1664525 + 1013904223) >>> 0)
const hash = () => Array.from({ length: 32 }, () => alphabet[rnd() >>> 27]).join("")
const hashes = Array.from({ length: 300 }, hash)

const block = 64 << 20
const make = (kind) => {
  const b = Buffer.alloc(block)
  if (kind === "random") { for (let i = 0; i < block; i += 4) b.writeUInt32LE(rnd(), i) }
  else if (kind === "worst") { for (let i = 0; i < block; i++) b[i] = alphabet.charCodeAt(rnd() >>> 27) }
  else {
    const words = ["the ", "lib ", "include ", "/nix/store/", "-glibc-2.35/lib\n", "echo ", "export PATH=", "  "]
    let i = 0
    while (i < block - 64) {
      const w = (rnd() >>> 16) % 20 === 0 ? `/nix/store/${hash()}-pkg ` : words[(rnd() >>> 16) % words.length]
      i += b.write(w, i)
    }
  }
  // plant three of the candidates, one across a 1 MiB boundary
  b.write(hashes[7], 1000)
  b.write(hashes[42], (1 << 20) - 10)
  b.write(hashes[299], block - 100)
  return b
}

for (const kind of ["random", "text", "worst"]) {
  const data = make(kind)
  // warm-up (the JIT), one 64 MiB block
  const warm = makeReferenceScanner(hashes)
  for (let off = 0; off < block; off += 1 << 20) warm.update(data.subarray(off, off + (1 << 20)))
  const runs = []
  let found
  for (let r = 0; r < reps; r++) {
    const scanner = makeReferenceScanner(hashes)
    const t = process.hrtime.bigint()
    const c0 = process.cpuUsage()
    for (let fed = 0; fed < mib; fed += 64) {
      for (let off = 0; off < block; off += 1 << 20) scanner.update(data.subarray(off, off + (1 << 20)))
    }
    const c = process.cpuUsage(c0)
    runs.push({ wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: (c.user + c.system) / 1e6 })
    found = scanner.result()
    if (![7, 42, 299].every((i) => found.has(hashes[i]))) throw new Error(`${kind}: planted hashes not found`)
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const wall = median(runs.map((r) => r.wall))
  const cpu = median(runs.map((r) => r.cpu))
  console.log(
    `refscan ${kind.padEnd(6)} ${mib} MiB: wall ${wall.toFixed(3)} s, ${(mib * 1.048576 / wall).toFixed(0)} MB/s; cpu ${
      cpu.toFixed(3)
    } s, ${(mib * 1.048576 / cpu).toFixed(0)} MB/s (median of ${reps}; ${found.size} found)`
  )
}
