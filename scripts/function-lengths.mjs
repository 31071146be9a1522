// The longest functions in the given .ts files: lines of every function-like node (declaration,
// expression, arrow, method, accessor, constructor) from its first line to its last; nested functions
// count in their parent too.
//   node scripts/function-lengths.mjs src/consumer/*.ts   (TOP=N rows, default 8)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

// The TypeScript compiler API of api-extractor's own TypeScript (the project's typescript is the native
// compiler, which has no JS API).
const require = createRequire(import.meta.url);
const ts = createRequire(require.resolve("@microsoft/api-extractor/package.json"))("typescript");

const rows = [];
for (const file of process.argv.slice(2)) {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const nameOf = (n) => {
    if (ts.isConstructorDeclaration(n)) return `${n.parent.name?.getText(sf) ?? "class"} constructor`;
    if (n.name) return n.name.getText(sf);
    const p = n.parent;
    return ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) ? p.name.getText(sf) : "(anonymous)";
  };
  const visit = (n) => {
    if (ts.isFunctionLike(n) && n.body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(n.end).line;
      rows.push({ lines: last - first + 1, where: `${file}:${first + 1}`, name: nameOf(n) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
rows.sort((x, y) => y.lines - x.lines);
for (const r of rows.slice(0, Number(process.env.TOP ?? 8))) console.log(String(r.lines).padStart(4), r.name, r.where);
