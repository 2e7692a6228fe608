// handlebars.js side of bench/templates.sh: precompiles a template once, then renders it N times.
//
//   node templates_bench.mjs <template-file> <data.json> <iterations> [--print]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Handlebars = require("handlebars");

const [file, dataFile, iterationsText, print] = process.argv.slice(2);
const source = readFileSync(file, "utf8");
const data = JSON.parse(readFileSync(dataFile, "utf8"));
// Precompiled, as a production deployment would ship it.
const spec = Handlebars.precompile(source);
const template = Handlebars.template(new Function(`return ${spec}`)());
if (print === "--print") {
  process.stdout.write(template(data));
} else {
  const iterations = Number(iterationsText);
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) bytes += template(data).length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${Math.round(iterations / seconds)} renders/s (${iterations} renders in ${seconds.toFixed(2)} s, ` +
      `${Math.round(bytes / iterations)} chars each)`,
  );
}
