/**
 * Jest in native ESM mode (Nest 12 packages are ESM-only): `npm test` passes --experimental-vm-modules.
 * Unit tests live beside the code (src/**\/*.spec.ts); e2e tests boot the real app on a real PostgreSQL (test/).
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '/node_modules/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.cjs',
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
  },
  transformIgnorePatterns: [],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 60_000,
  maxWorkers: 2,
};
