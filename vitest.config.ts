import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    // One test file at a time: the fleet, viewer and producer tests time real processes on a 2-core
    // machine, and a second file's load beside them made their timings flaky.
    fileParallelism: false,
    // The SDK's notice that its 2027 releases need Node 22 is noise in test output (CI runs Node 20 and 22).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
