/**
 * Resolving the typed {@link Settings} from their text sources.
 *
 * Sources are applied in order (NIX_CONFIG first, then each `--option`), so a
 * later assignment wins. Values are decoded with the settings' Schemas; a
 * value that does not decode is a typed error naming the setting.
 *
 * @since 0.1.0
 */
import { Data, Effect, Either, ParseResult, Schema } from "effect"
import type { ConfAssignment } from "./nixConf.js"
import { defaultSettingsText, ignoredNixSettings, Settings, settingNames } from "./schema.js"

/** A known setting was given a value its type does not accept. */
export class InvalidSettingError extends Data.TaggedError("InvalidSettingError")<{
  readonly name: string
  readonly value: string
  readonly reason: string
}> {
  override get message() {
    return `invalid value '${this.value}' for setting '${this.name}': ${this.reason}`
  }
}

/** The outcome of resolving settings: the typed record and the names nobody knows. */
export interface ResolvedSettings {
  readonly settings: Settings
  /** Names that are neither tsnix settings nor known Nix settings, each once, in order of appearance. */
  readonly unknown: ReadonlyArray<string>
}

/**
 * Applies assignments over the defaults and decodes the result.
 */
export const resolveSettings = (
  assignments: Iterable<ConfAssignment>
): Effect.Effect<ResolvedSettings, InvalidSettingError> =>
  Effect.gen(function*() {
    // Text values before decoding; the Schema below checks each one.
    const text: Record<keyof Settings, string> = { ...defaultSettingsText }
    const unknown: Array<string> = []
    const origin = new Map<keyof Settings, string>()
    for (const a of assignments) {
      const field = settingNames[a.name]
      if (field !== undefined) {
        // `extra-NAME` appends to a list setting (sandbox-paths); other settings take the value.
        text[field] = a.append && text[field] !== "" ? `${text[field]} ${a.value}` : a.value
        origin.set(field, a.name)
      } else if (!ignoredNixSettings.has(a.name) && !unknown.includes(a.name)) {
        unknown.push(a.name)
      }
    }
    const decoded = Schema.decodeUnknownEither(Settings)(text)
    if (Either.isRight(decoded)) return { settings: decoded.right, unknown }
    // Find which field failed by decoding each one separately: the messages stay short.
    for (const key of Object.keys(text) as Array<keyof Settings>) {
      const one = Schema.decodeUnknownEither(Settings.fields[key] as Schema.Schema<unknown, string>)(text[key])
      if (Either.isLeft(one)) {
        return yield* new InvalidSettingError({
          name: origin.get(key) ?? key,
          value: text[key],
          reason: ParseResult.TreeFormatter.formatErrorSync(one.left).split("\n").pop()?.trim() ?? "invalid"
        })
      }
    }
    return yield* new InvalidSettingError({ name: "?", value: "", reason: String(decoded.left) })
  })
