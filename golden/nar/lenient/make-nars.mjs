// Writes the hand-made NARs of this directory: archives Nix's own dumper never produces but
// Nix 2.8's reader accepts (a regular file without a `contents` field). generate.sh records what
// Nix restores from each.
import { writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const str = (s) => {
  const b = Buffer.from(s)
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(b.length))
  return Buffer.concat([len, b, Buffer.alloc((8 - (b.length % 8)) % 8)])
}
const nar = (...tokens) => Buffer.concat(["nix-archive-1", ...tokens].map(str))

const nars = {
  "regular-no-contents": nar("(", "type", "regular", ")"),
  "executable-no-contents": nar("(", "type", "regular", "executable", "", ")"),
  "dir-with-file-no-contents": nar(
    "(", "type", "directory",
    "entry", "(", "name", "a", "node", "(", "type", "regular", ")", ")",
    "entry", "(", "name", "b", "node", "(", "type", "regular", "executable", "", ")", ")",
    "entry", "(", "name", "c", "node", "(", "type", "regular", "contents", "x", ")", ")",
    ")"
  )
}
for (const [name, bytes] of Object.entries(nars)) writeFileSync(join(here, `${name}.nar`), bytes)
console.log(Object.keys(nars).join("\n"))
