/** Two projects: fast unit specs beside the code, e2e suites against real services. */
// Transpile only (tsconfig has isolatedModules): type checking runs once for the whole tree
// (`npm run typecheck`), not per test file.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
// Every dependency the tests load has a CommonJS build: node_modules is never transformed.
const transform = { '^.+\\.ts$': tsJest };
module.exports = {
  // A global option: jest ignores it inside a project.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/dev/**/*.spec.ts'],
      transform,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      transform,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
