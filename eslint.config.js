// ESLint flat config: typescript-eslint's recommended rules and @effect/eslint-plugin.
// Formatting belongs to dprint (dprint.json, `npm run format:check`): @effect's
// disable-conflict-rules config turns off every stylistic rule that would fight it.
import js from "@eslint/js"
import effect from "@effect/eslint-plugin"
import disableConflictRules from "@effect/eslint-plugin/configs/disable-conflict-rules"
import globals from "globals"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "golden/**", "bench/.data/**", "**/*.d.mts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...disableConflictRules,
  {
    files: ["**/*.{ts,mts,cts,js,mjs,cjs}"],
    plugins: { "@effect": effect },
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: globals.node
    },
    rules: {
      // The barrels of the platform and SQL packages load all of them (HTTP servers, workers...):
      // import the module a file needs, as the code base already does.
      "@effect/no-import-from-barrel-package": ["error", {
        packageNames: ["@effect/platform", "@effect/platform-node", "@effect/sql", "@effect/sql-sqlite-node"]
      }],
      // `interface X extends Schema.Type<typeof X> {}` and `TaggedError("X")<{}>` are Effect's idioms.
      "@typescript-eslint/no-empty-object-type": ["error", {
        allowInterfaces: "with-single-extends",
        allowObjectTypes: "always"
      }],
      // Unused bindings are errors, except the `_`-prefixed ones kept on purpose.
      "@typescript-eslint/no-unused-vars": ["error", {
        argsIgnorePattern: "^_",
        varsIgnorePattern: "^_",
        caughtErrorsIgnorePattern: "^_"
      }]
    }
  },
  {
    // Rules that need types, on the files tsconfig.json covers: a promise nobody awaits loses its
    // error, and awaiting a non-promise (an Effect, say) does nothing.
    files: ["src/**/*.ts", "test/**/*.ts", "examples/**/*.ts"],
    // The packaging sample imports the installed package: type-checked in its own project.
    ignores: ["test/packaging/sample/**"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error"
    }
  }
)
