import { defineConfig } from "vitest/config";

// npm run test:aws: the readers against a real Kinesis Video stream (opt-in; see test/aws-live/).
export default defineConfig({
  test: {
    include: ["test/aws-live/**/*.aws.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 1,
  },
});
