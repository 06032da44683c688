import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(join(root, "README.md"), "utf8");
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((m) => m[1]!)
  .filter((code) => code.includes('from "waker"') && !code.includes("(needs an SMTP server"));

test("the README has runnable examples", () => {
  assert.ok(examples.length >= 3, `found ${examples.length}`);
});

for (const [i, code] of examples.entries()) {
  test(`README example ${i + 1} runs`, async () => {
    // Inside the package folder, `import ... from "waker"` resolves to the package itself.
    const dir = mkdtempSync(join(root, "dist", "readme-"));
    try {
      const js = ts.transpileModule(code, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      const file = join(dir, `example-${i + 1}.mjs`);
      writeFileSync(file, js);
      await import(pathToFileURL(file).href);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
