// @ts-check
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'web/dist/', '.baton/', 'coverage/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'test/helpers/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
    },
  },
  {
    files: ['test/**', 'bench/**', 'examples/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/core/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:*',
                '../backends/*',
                '../runtime/*',
                '../executors/*',
                '../cli/*',
                '../server/*',
              ],
              message: 'src/core is pure: no I/O and no imports from outer layers (DESIGN.md).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/backends/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../../runtime/*',
                '../../executors/*',
                '../../cli/*',
                '../../server/*',
                '../runtime/*',
                '../executors/*',
                '../cli/*',
                '../server/*',
              ],
              message: 'backends import only core (DESIGN.md layers).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/runtime/**', 'src/executors/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../cli/*', '../server/*', '../backends/sqlite/*', '../backends/redis/*'],
              message:
                'runtime reaches backends through the interface only; nothing imports cli (DESIGN.md layers).',
            },
          ],
        },
      ],
    },
  },
);
