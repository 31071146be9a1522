// Checks each package entry point's public surface against its report in api-report/ (api-extractor,
// from the built .d.ts files). `node scripts/api-report.mjs --update` writes the reports after a
// deliberate change; without it, any difference fails (CI).
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Extractor, ExtractorConfig } from "@microsoft/api-extractor";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const update = process.argv.includes("--update");
mkdirSync(join(root, "api-report"), { recursive: true });
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
let failed = 0;
for (const [entry, target] of Object.entries(pkg.exports)) {
  if (typeof target !== "object") continue;
  const name = entry === "." ? "kvs-parser" : `kvs-parser-${entry.slice(2)}`;
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: join(root, target.types),
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            lib: ["ES2022", "DOM"],
            types: ["node"],
            strict: true,
            skipLibCheck: true,
          },
        },
      },
      apiReport: {
        enabled: true,
        reportFolder: join(root, "api-report"),
        reportTempFolder: join(root, "node_modules/.cache/api-report"),
        reportFileName: `${name}.api.md`,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        extractorMessageReporting: { default: { logLevel: "none" }, "ae-missing-release-tag": { logLevel: "none" } },
        compilerMessageReporting: { default: { logLevel: "warning" } },
        tsdocMessageReporting: { default: { logLevel: "none" } },
      },
    },
    configObjectFullPath: join(root, "api-extractor.json"),
    packageJsonFullPath: join(root, "package.json"),
  });
  const result = Extractor.invoke(config, {
    localBuild: update,
    showVerboseMessages: false,
    messageCallback: (m) => {
      if (m.logLevel === "warning" || m.logLevel === "error") console.error(`${entry}: ${m.text}`);
      m.handled = true;
    },
  });
  if (!result.succeeded || result.apiReportChanged) {
    failed++;
    console.error(
      `${entry}: ${update ? "report written" : "the public surface differs from api-report/" + name + ".api.md: review it, then run npm run api:update"}`,
    );
  }
}
if (failed && !update) process.exit(1);
console.log(update ? "api-report/ updated" : `api-report/: ${Object.keys(pkg.exports).length - 1} entry points unchanged`);
