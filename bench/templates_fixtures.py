"""Writes the two templates of bench/templates.sh and their data into a directory:
order.hbs/order.json — the order confirmation of the product guide's Handlebars page (read from the shared
reference docs), and newsletter.hbs/newsletter.json — a ~50 KB newsletter with 50 loop items."""

import json
import os
import re
import sys

shared, out = sys.argv[1], sys.argv[2]
with open(os.path.join(shared, "reference", "mailtrap-docs.md")) as f:
    docs = f.read()
guide = docs[docs.index("### Example: Order confirmation template"):docs.index("### Testing templates with Handlebars")]
blocks = re.findall(r"```\w*\n(.*?)```", guide, re.S)
with open(os.path.join(out, "order.hbs"), "w") as f:
    f.write(blocks[0])
with open(os.path.join(out, "order.json"), "w") as f:
    f.write(blocks[1])

# The newsletter: a styled header, 50 articles in an {{#each}} with nested conditionals, escaping and @data,
# and enough static markup (footer, legal text) to make the template itself about 50 KB.
style = "".join(f".c{i}{{margin:0 {i}px;padding:{i % 7}px;color:#{i * 37 % 4096:03x};font-family:Arial,sans-serif}}\n"
                for i in range(220))
legal = "".join(f"<p class=\"legal c{i % 220}\">Paragraph {i}: You receive this email because you subscribed to "
                f"{{{{company.name}}}} updates. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
                f"eiusmod tempor incididunt ut labore et dolore magna aliqua.</p>\n" for i in range(150))
template = f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{{{{subject}}}}</title>
<style>
{style}</style>
</head>
<body>
<h1>Hello {{{{recipient.first_name}}}} {{{{recipient.last_name}}}}!</h1>
<p>Here is what happened at {{{{company.name}}}} this week.</p>
{{{{#each articles}}}}
<div class="article{{{{#if featured}}}} featured{{{{/if}}}}" id="a{{{{@index}}}}">
  <h2><a href="{{{{url}}}}?utm_source=newsletter&amp;utm_medium=email">{{{{title}}}}</a></h2>
  {{{{#if author}}}}<p class="byline">by {{{{author.name}}}}{{{{#if author.role}}}}, {{{{author.role}}}}{{{{/if}}}}</p>{{{{/if}}}}
  <p>{{{{summary}}}}</p>
  {{{{#if tags}}}}<ul class="tags">{{{{#each tags}}}}<li>{{{{this}}}}</li>{{{{/each}}}}</ul>{{{{/if}}}}
  {{{{#unless @last}}}}<hr>{{{{/unless}}}}
</div>
{{{{else}}}}
<p>No news this week.</p>
{{{{/each}}}}
{{{{#with company}}}}
<footer>
<p>{{{{name}}}}, {{{{address.street}}}}, {{{{address.city}}}} {{{{address.zip}}}}</p>
<p><a href="{{{{../unsubscribe_url}}}}">Unsubscribe</a></p>
</footer>
{{{{/with}}}}
{legal}</body>
</html>
"""
data = {
    "subject": "Weekly news & updates",
    "recipient": {"first_name": "Jane", "last_name": "O'Neil"},
    "company": {"name": "ACME <Corp>", "address": {"street": "1 Main St", "city": "Springfield", "zip": "12345"}},
    "unsubscribe_url": "https://example.com/u?id=42&t=abc",
    "articles": [{
        "title": f"Article {i}: \"quotes\" & <tags>",
        "url": f"https://example.com/articles/{i}",
        "featured": i % 5 == 0,
        "author": {"name": f"Author {i}", "role": "Editor" if i % 3 == 0 else None} if i % 4 else None,
        "summary": f"Summary of article {i}, with some text that needs no escaping at all, and a bit more.",
        "tags": [f"tag{i}", f"topic{i % 7}"] if i % 2 else [],
    } for i in range(50)],
}
with open(os.path.join(out, "newsletter.hbs"), "w") as f:
    f.write(template)
with open(os.path.join(out, "newsletter.json"), "w") as f:
    json.dump(data, f, indent=1)
print(f"newsletter template: {len(template.encode())} bytes, {len(data['articles'])} loop items")
