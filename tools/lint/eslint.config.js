// Wharf's lint: typescript-eslint's type-aware rules plus the layer plan (docs/architecture.md)
// as an import-boundary rule. Run with `npm run lint` from the project root.
import js from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import tseslint from 'typescript-eslint';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The layers, top to bottom. A file may import its own layer and the layers its entry lists,
 * nothing else: `http → services → auth · metadata · storage → oci · charts · lib · errors`,
 * with the composition roots (main, cli) and config on top. Type-only imports count too.
 */
const LAYERS = {
  vocabulary: [],
  cli: ['vocabulary', 'main', 'http', 'services', 'auth', 'metadata', 'storage', 'config', 'oci', 'charts', 'lib', 'errors'],
  main: ['vocabulary', 'http', 'services', 'auth', 'metadata', 'storage', 'config', 'oci', 'charts', 'lib', 'errors'],
  http: ['vocabulary', 'services', 'auth', 'config', 'oci', 'charts', 'lib', 'errors'],
  services: ['vocabulary', 'auth', 'metadata', 'storage', 'oci', 'charts', 'lib', 'errors'],
  auth: ['vocabulary', 'oci', 'lib', 'errors'],
  metadata: ['vocabulary', 'oci', 'charts', 'lib', 'errors'],
  storage: ['oci', 'lib', 'errors'],
  config: ['lib', 'errors'],
  charts: ['oci', 'lib', 'errors'],
  oci: ['lib', 'errors'],
  lib: ['errors'],
  errors: [],
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'dist/**', 'ui/dist/**', 'tools/**', '.tools/**', 'data/**'] },
  {
    files: ['src/**/*.ts', 'ui/src/**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      // node:test's test()/describe() return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Store and driver methods are async because their interfaces are; many resolve at once.
      '@typescript-eslint/require-await': 'off',
      // Wharf's method tables (route handlers, Kysely's expression builder) never use `this`;
      // the rule cannot tell, and every finding it made here was such a table.
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['ui/src/**/*.tsx'],
    rules: {
      // React event props expect void; the UI's async handlers report their own failures.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    plugins: { boundaries },
    settings: {
      'boundaries/root-path': root,
      'boundaries/elements': [
        // mode 'file': a layer is every file under its folder (v7 deprecates the option but its
        // replacement, partialMatch, does not classify single files such as src/main.ts).
        // The words access is decided in: auth reasons in them, metadata stores them.
        { type: 'vocabulary', pattern: 'src/auth/vocabulary.ts', mode: 'file' },
        ...Object.keys(LAYERS).map((type) => ({ type, pattern: [`src/${type}/**`, `src/${type}.ts`], mode: 'file' })),
      ],
      'boundaries/dependency-nodes': ['import', 'export', 'dynamic-import'],
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          message: 'the {{from.type}} layer may not import the {{to.type}} layer (docs/architecture.md)',
          policies: Object.entries(LAYERS).map(([from, to]) => ({
            from: { element: { type: from } },
            allow: { to: { element: { types: { anyOf: [from, ...to] } } } },
          })),
        },
      ],
      'boundaries/no-unknown-files': 'error',
    },
  },
);
