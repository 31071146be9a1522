import { execFile } from "node:child_process";

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  error: Error | null;
}

/** execFile as a promise (never the sync form: the endpoint runs in this process and must keep serving). */
export function run(file: string, args: readonly string[], options: { timeout: number; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: options.timeout, killSignal: "SIGKILL", maxBuffer: 32 * 1024 * 1024, env: options.env }, (error, stdout, stderr) => {
      const code = error && typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code as number) : error ? null : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), error });
    });
  });
}

/**
 * The first Python that imports boto3: $KVS_CONFORMANCE_PYTHON if set, Debian's /usr/bin/python3
 * (python3-boto3), then python3 on PATH.
 */
export async function findPython(): Promise<string | null> {
  const preferred = process.env.KVS_CONFORMANCE_PYTHON;
  for (const candidate of [...(preferred ? [preferred] : []), "/usr/bin/python3", "python3"]) {
    const r = await run(candidate, ["-c", "import boto3, botocore"], { timeout: 30_000 });
    if (r.code === 0) return candidate;
  }
  return null;
}
