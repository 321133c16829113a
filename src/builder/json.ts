/**
 * JSON text as nlohmann::json's `dump()` writes it (what Nix 2.8 puts in
 * `.attrs.json`): compact, object keys sorted bytewise (std::map), strings
 * escaped as JSON.stringify does (the same escapes: `\"`, `\\`, `\b`, `\f`,
 * `\n`, `\r`, `\t`, other control characters as `\u00xx`; UTF-8 as is).
 *
 * Known difference: JSON.parse does not keep a float's spelling, so a number
 * written `2.0` comes out `2` (nlohmann keeps `2.0`); see docs/INTEROP.md.
 *
 * @since 0.1.0
 */
import { Buffer } from "node:buffer"

/** Serialises a parsed JSON value as nlohmann::json::dump() does. */
export const nlohmannDump = (v: unknown): string => {
  if (v === null || v === undefined) return "null"
  if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v)
  if (typeof v === "number") return Number.isFinite(v) ? JSON.stringify(v) : "null"
  if (Array.isArray(v)) return "[" + v.map(nlohmannDump).join(",") + "]"
  if (typeof v === "object") {
    const o = v as Record<string, unknown>
    const keys = Object.keys(o).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + nlohmannDump(o[k])).join(",") + "}"
  }
  return "null"
}
