"""Differential test of the Handlebars engine against handlebars.js 4.7.8: random templates (blocks, else
chains, inverse sections, whitespace control, standalone lines, escaping, paths, @data, block parameters,
partials, partial blocks, raw blocks, subexpressions) rendered by both against the same data; every output must
be identical, and a template must fail in both or in neither.

    differential.py <differential_driver binary> [seeds…]"""

import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PATHS = ["a", "b", "c", "list", "obj", "obj.k", "obj.n", "this", ".", "../a", "@root.a", "@index", "@key", "@first",
         "@last", "nested.list", "s", "zero", "empty", "t", "f", "nul", "[weird key]", "list.length", "list.[1]", "item",
         "i", "obj.[0]"]
SPACES = ["", " ", "\n", "  \n", "\n  ", " \t"]
SNIPPETS = ["{{! c }}", "{{!-- {{x}} --}}", "{{log a}}", "{{lookup obj 'k'}}", "{{> p1}}", "{{> p2 obj}}",
            "{{> p1 x=a}}", "{{#> p3}}blk{{a}}{{/p3}}", "{{#> missing}}fb{{/missing}}", "{{{{raw}}}}{{x}}{{{{/raw}}}}",
            "{{#each list as |it ix|}}{{ix}}{{it}}{{@index}}{{../a}}{{/each}}", "{{#each obj}}{{@key}}={{.}}{{@last}};{{/each}}",
            "{{#with nested}}{{#each list}}{{../../a}}{{a}}{{@../index}}{{/each}}{{/with}}",
            "{{lookup list (lookup obj 'n')}}", "{{#if (lookup obj 'k')}}Y{{/if}}"]
DATA = {"a": "A&<>", "b": 0, "c": 1.5, "list": [1, "two", {"k": "v", "n": 3}, [4, 5], None, True],
        "obj": {"k": "v", "n": -2.25, "0": "zero", "z": {"deep": "d"}}, "nested": {"list": [{"a": "na"}, {"b": "nb"}]},
        "s": "str'\"`=", "zero": 0, "empty": [], "t": True, "f": False, "nul": None, "weird key": "W",
        "item": "outer-item", "i": "outer-i"}
PARTIALS = {"p1": "[{{a}}|{{x}}]\n", "p2": "  {{k}}\n  {{#if n}}n{{/if}}\n", "p3": "<{{> @partial-block}}>"}


def expr(rng, depth):
    if rng.random() < 0.1 and depth < 2:
        return "(lookup " + rng.choice(["obj", "list", "this"]) + " " + rng.choice(['"k"', "0", "1", "a"]) + ")"
    return rng.choice(PATHS)


def node(rng, depth):
    r, space = rng.random(), rng.choice(SPACES)
    if depth > 3 or r < 0.3:
        return space + rng.choice(["x", "<&>", "'q'", "=", "`", "text", ""]) + rng.choice(SPACES)
    if r < 0.55:
        opening, closing = rng.choice([("{{", "}}"), ("{{{", "}}}"), ("{{&", "}}"), ("{{~", "~}}"), ("{{", "~}}")])
        return space + opening + rng.choice(["", " "]) + expr(rng, depth) + closing
    if r < 0.6:
        return space + rng.choice(SNIPPETS) + rng.choice(SPACES)
    name = rng.choice(["if", "unless", "each", "with", "list", "obj", "t", "f", "empty", "^list", "^empty"])
    body = "".join(node(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    if name.startswith("^"):
        return f"{space}{{{{^{name[1:]}}}}}{body}{{{{/{name[1:]}}}}}{rng.choice(SPACES)}"
    otherwise = ""
    if rng.random() < 0.4:
        otherwise = rng.choice(["{{else}}", "{{^}}", "{{~else~}}", "\n{{else}}\n", "{{else if b}}"]) + "".join(
            node(rng, depth + 1) for _ in range(rng.randint(0, 2)))
    if name in ("if", "unless", "each", "with"):
        params = " as |item i|" if name in ("each", "with") and rng.random() < 0.3 else ""
        arg = rng.choice(["list", "obj", "a", "empty", "zero", "nested.list", "t", "f", "nul", "s", "this"])
        include_zero = " includeZero=true" if name == "if" and rng.random() < 0.2 else ""
        return (f"{space}{{{{#{name} {arg}{include_zero}{params}}}}}{space}{body}{otherwise}{rng.choice(SPACES)}"
                f"{{{{/{name}}}}}{rng.choice(SPACES)}")
    return f"{space}{{{{#{name}}}}}{body}{otherwise}{{{{/{name}}}}}{rng.choice(SPACES)}"


def run(command, cases):
    result = subprocess.run(command, input=json.dumps(cases), capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main():
    driver, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]] or [1, 2, 3]
    failures = 0
    for seed in seeds:
        rng = random.Random(seed)
        cases = [{"template": "".join(node(rng, 0) for _ in range(rng.randint(1, 4))), "data": DATA,
                  "partials": PARTIALS} for _ in range(2000)]
        ours = run([driver], cases)
        theirs = run(["node", os.path.join(HERE, "handlebars_js.cjs")], cases)
        differ = [(c["template"], a, b) for c, a, b in zip(cases, ours, theirs) if a != b]
        print(f"seed {seed}: {len(cases)} templates, {len(differ)} differ "
              f"({sum(1 for b in theirs if b is None)} fail in both)")
        for template, a, b in differ[:5]:
            print(f"  template {template!r}\n    postroom      {a!r}\n    handlebars.js {b!r}")
        failures += len(differ)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
