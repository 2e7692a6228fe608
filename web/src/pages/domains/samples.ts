// Code samples for the Integration tab: the same message sent through the transactional or the bulk stream
// with curl, the official Node SDK (pointed at this Postroom) and Python's standard library.

export type Stream = "transactional" | "bulk";

export interface SampleInput {
  origin: string; // Postroom's public base URL, e.g. https://postroom.example.com
  stream: Stream;
  from: string; // an address at the domain
  to: string;
}

export function sendUrl({ origin, stream }: Pick<SampleInput, "origin" | "stream">): string {
  return `${origin}${stream === "bulk" ? "/bulk" : ""}/api/send`;
}

function payload(s: SampleInput) {
  return {
    from: { email: s.from, name: "Postroom Test" },
    to: [{ email: s.to }],
    subject: "Hello from Postroom",
    text: "Congrats for sending a test email with Postroom!",
    category: "Integration Test",
  };
}

export function curlSample(s: SampleInput): string {
  const body = JSON.stringify(payload(s), null, 2).replace(/'/g, "'\\''");
  return [
    `curl --request POST '${sendUrl(s)}' \\`,
    `  --header "Authorization: Bearer $POSTROOM_API_TOKEN" \\`,
    `  --header 'Content-Type: application/json' \\`,
    `  --data '${body}'`,
  ].join("\n");
}

export function nodeSample(s: SampleInput): string {
  const p = payload(s);
  return `// npm install mailtrap
const { MailtrapClient } = require("mailtrap");

const POSTROOM = "${s.origin}";
const client = new MailtrapClient({ token: process.env.POSTROOM_API_TOKEN${s.stream === "bulk" ? ", bulk: true" : ""} });
// Send the SDK's requests to Postroom instead of mailtrap.io (the bulk host maps to /bulk).
client.axios.interceptors.request.use((cfg) => {
  const u = new URL(cfg.url);
  cfg.url = \`\${POSTROOM}\${u.hostname.startsWith("bulk.") ? "/bulk" : ""}\${u.pathname}\${u.search}\`;
  return cfg;
});

client
  .send({
    from: { email: "${p.from.email}", name: "${p.from.name}" },
    to: [{ email: "${p.to[0].email}" }],
    subject: "${p.subject}",
    text: "${p.text}",
    category: "${p.category}",
  })
  .then(console.log, console.error);`;
}

export function pythonSample(s: SampleInput): string {
  const body = JSON.stringify(payload(s), null, 4); // strings only: valid Python as it is
  return `import json, os, urllib.request

payload = ${body}
request = urllib.request.Request(
    "${sendUrl(s)}",
    data=json.dumps(payload).encode(),
    headers={
        "Authorization": "Bearer " + os.environ["POSTROOM_API_TOKEN"],
        "Content-Type": "application/json",
    },
    method="POST",
)
with urllib.request.urlopen(request) as response:
    print(json.load(response))`;
}
