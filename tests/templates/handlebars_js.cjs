// handlebars.js half of tests/templates/differential.py: same input and output shape as differential_driver.
const path = require("node:path");
const Handlebars = require(path.join(__dirname, "..", "sdk", "node_modules", "handlebars"));

// {{log}} writes to the console; keep stdout for the result.
console.log = console.info = console.warn = console.error = console.debug = () => {};
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const out = cases.map((c) => {
  try {
    const instance = Handlebars.create();
    for (const [name, source] of Object.entries(c.partials)) instance.registerPartial(name, source);
    return instance.compile(c.template)(c.data);
  } catch {
    return null;
  }
});
process.stdout.write(JSON.stringify(out));
