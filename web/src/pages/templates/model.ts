// Email templates as the API returns them (docs/templates.md), and reading its validation errors.
import { accountPath, ApiError } from "../../lib/api";
import type { LineError } from "./CodeEditor";

export interface EmailTemplate {
  id: number;
  uuid: string;
  name: string;
  category: string;
  subject: string;
  body_html: string;
  body_text: string;
  created_at: string;
  updated_at: string;
}

export type TemplateFields = Pick<EmailTemplate, "name" | "category" | "subject" | "body_html" | "body_text">;
export type FieldName = keyof TemplateFields;

export const templatesPath = (suffix = "") => accountPath(`/email_templates${suffix}`);

// A 422 {"errors":{"body_html":["has a Handlebars syntax error at line 2, column 9: …"]}} as errors per field,
// each with the line and column the message names; "base" and unknown fields go to `other`.
export function fieldErrors(error: unknown): { byField: Partial<Record<FieldName, LineError[]>>; other: string[] } {
  const byField: Partial<Record<FieldName, LineError[]>> = {};
  const other: string[] = [];
  const body = error instanceof ApiError ? (error.body as { errors?: unknown } | null) : null;
  const errors = body && typeof body === "object" ? body.errors : undefined;
  if (!errors || typeof errors !== "object" || Array.isArray(errors)) return { byField, other };
  for (const [field, list] of Object.entries(errors as Record<string, unknown>)) {
    for (const raw of Array.isArray(list) ? list : [list]) {
      const message = String(raw);
      if (["name", "category", "subject", "body_html", "body_text"].includes(field)) {
        const at = /line (\d+)(?:, column (\d+))?/i.exec(message);
        (byField[field as FieldName] ??= []).push({
          line: at ? Number(at[1]) : null,
          column: at?.[2] ? Number(at[2]) : null,
          message,
        });
      } else other.push(field === "base" ? message : `${field} ${message}`);
    }
  }
  return { byField, other };
}

export const STARTER: TemplateFields = {
  name: "",
  category: "",
  subject: "Welcome, {{user_name}}",
  body_html: `<!doctype html>
<html>
  <body>
    <p>Hi {{user_name}},</p>
    <p>Thanks for signing up.</p>
  </body>
</html>
`,
  body_text: `Hi {{user_name}},

Thanks for signing up.
`,
};
