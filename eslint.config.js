// Lint for the whole tree: typescript-eslint's recommended rules, import cycles, and the layering rules
// of README § Architecture (each layer imports only what it may). Formatting is Prettier's (`npm run format`).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import vue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** A workflow implementation file (`workflows/<feature>.ts`); `workflows/contracts/*` may be imported anywhere. */
const workflowImplementation = {
  group: ['**/workflows/*.js', '**/workflows/*.ts', '**/workflows/index*'],
  message: 'Import the workflow contract (workflows/contracts/<feature>.js), not the workflow implementation.',
};
/** Query builders and database drivers: only `db/` (repositories, models, migrations) talks SQL. */
const queryBuilders = {
  group: ['knex', 'objection', 'pg', 'pg-copy-streams', '**/db/knex*', '**/db/models/*'],
  allowTypeImports: true,
  message: 'SQL lives in db/<feature>.ts repositories: call one instead (type imports are fine).',
};
/** Calls that run SQL on a Knex instance or a model, so no query slips in through `deps.db` either. */
const sqlCalls = [
  { selector: "CallExpression[callee.property.name='raw']", message: 'Raw SQL belongs in a db/ repository.' },
  {
    selector: "CallExpression[callee.property.name='transaction']",
    message: 'Transactions belong in a db/ repository.',
  },
  { selector: 'CallExpression[callee.name=/^(db|trx|knex)$/]', message: 'Queries belong in a db/ repository.' },
  { selector: 'CallExpression[callee.property.name=/^(db|knex)$/]', message: 'Queries belong in a db/ repository.' },
];

export default tseslint.config(
  {
    ignores: ['node_modules/', '.data/', 'ui/dist/', 'test/artifacts/', 'openapi/schema.d.ts', 'bench/results/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser }, globals: globals.browser },
  },
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      // Single-file components are Vue's to parse; a cycle through one would need a component importing back.
      'import-x/ignore': ['\\.vue$'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['tsconfig.json', 'ui/tsconfig.json'],
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-duplicates': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Casts at trust boundaries (Temporal payloads, JSON from peers) are deliberate and checked by zod nearby.
      '@typescript-eslint/no-explicit-any': 'off',
      'vue/multi-word-component-names': 'off',
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/api/*', '**/workflows/*', '**/activities/*', '**/db/*', '**/clients/*', '**/scripts/*'],
              message: 'lib/ is imported by every layer and imports none of them.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['api/**/*.ts', 'activities/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [workflowImplementation, queryBuilders] }],
      'no-restricted-syntax': ['error', ...sqlCalls],
    },
  },
  {
    // Where the API process opens its connections: the one place in api/ that may import db/knex.
    files: ['api/deps.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [workflowImplementation] }] },
  },
  {
    files: ['clients/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            workflowImplementation,
            {
              group: ['**/api/*', '**/activities/*'],
              message: 'Temporal client helpers are called by api/ and activities/, not the reverse.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/contracts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*.js', '**/activities/*', '**/clients/*', '**/api/*'],
              message: 'A contract imports no implementation.',
            },
            { group: ['**/db/*', '**/lib/*'], allowTypeImports: true, message: 'A contract imports types only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    ignores: ['workflows/contracts/**'],
    rules: {
      // The workflow bundle is deterministic code: no I/O modules, only types from activities and db.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/activities/*', '**/db/*', '**/clients/*', '**/api/*'],
              allowTypeImports: true,
              message: 'Workflows import activity and db types only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['db/migrations/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '../../*'],
              message: 'Migrations are frozen history: copy a constant in, never import a live one.',
            },
          ],
        },
      ],
    },
  },
  prettier,
);
