// Integration snippets for a sandbox, filled with its real SMTP credentials and this server's SMTP host/port.

export interface SmtpSettings {
  host: string;
  port: number;
  username: string;
  password: string;
}

export interface Snippet {
  id: string;
  label: string;
  language: string;
  code: (s: SmtpSettings) => string;
}

export const SNIPPETS: Snippet[] = [
  {
    id: "python",
    label: "Python smtplib",
    language: "python",
    code: (s) => `import smtplib
from email.message import EmailMessage

message = EmailMessage()
message["From"] = "Sender <from@example.com>"
message["To"] = "Recipient <to@example.com>"
message["Subject"] = "Hello from Python"
message.set_content("This is a test email.")

with smtplib.SMTP("${s.host}", ${s.port}) as server:
    server.starttls()  # optional: the sandbox also accepts plain SMTP
    server.login("${s.username}", "${s.password}")
    server.send_message(message)
`,
  },
  {
    id: "nodemailer",
    label: "Node.js nodemailer",
    language: "javascript",
    code: (s) => `import nodemailer from "nodemailer";

const transport = nodemailer.createTransport({
  host: "${s.host}",
  port: ${s.port},
  auth: {
    user: "${s.username}",
    pass: "${s.password}",
  },
});

await transport.sendMail({
  from: '"Sender" <from@example.com>',
  to: "to@example.com",
  subject: "Hello from Node.js",
  text: "This is a test email.",
});
`,
  },
  {
    id: "laravel",
    label: "Laravel .env",
    language: "ini",
    code: (s) => `MAIL_MAILER=smtp
MAIL_HOST=${s.host}
MAIL_PORT=${s.port}
MAIL_USERNAME=${s.username}
MAIL_PASSWORD=${s.password}
MAIL_ENCRYPTION=null
MAIL_FROM_ADDRESS="from@example.com"
MAIL_FROM_NAME="\${APP_NAME}"
`,
  },
  {
    id: "rails",
    label: "Ruby on Rails",
    language: "ruby",
    code: (s) => `# config/environments/development.rb
config.action_mailer.delivery_method = :smtp
config.action_mailer.smtp_settings = {
  address: "${s.host}",
  port: ${s.port},
  user_name: "${s.username}",
  password: "${s.password}",
  authentication: :plain,
  enable_starttls_auto: true
}
`,
  },
  {
    id: "django",
    label: "Django",
    language: "python",
    code: (s) => `# settings.py
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "${s.host}"
EMAIL_PORT = ${s.port}
EMAIL_HOST_USER = "${s.username}"
EMAIL_HOST_PASSWORD = "${s.password}"
EMAIL_USE_TLS = False
`,
  },
  {
    id: "curl",
    label: "curl",
    language: "shell",
    code: (s) => `curl --url 'smtp://${s.host}:${s.port}' \\
  --user '${s.username}:${s.password}' \\
  --mail-from from@example.com \\
  --mail-rcpt to@example.com \\
  --upload-file - <<'EOF'
From: Sender <from@example.com>
To: Recipient <to@example.com>
Subject: Hello from curl

This is a test email.
EOF
`,
  },
];
