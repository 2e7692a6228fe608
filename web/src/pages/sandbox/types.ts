// The Email Sandbox objects as the API answers them (docs/api.md, "Email Sandbox").
import { accountPath } from "../../lib/api";

export interface Permissions {
  can_read: boolean;
  can_update: boolean;
  can_destroy: boolean;
  can_leave: boolean;
}

export interface Inbox {
  id: number;
  name: string;
  username: string;
  password: string;
  max_size: number;
  status: string;
  email_username: string;
  email_username_enabled: boolean;
  sent_messages_count: number;
  forwarded_messages_count: number;
  used: boolean;
  forward_from_email_address: string;
  project_id: number;
  domain: string;
  pop3_domain: string;
  email_domain: string;
  smtp_ports: number[];
  pop3_ports: number[];
  api_domain: string;
  emails_count: number;
  emails_unread_count: number;
  last_message_sent_at: string | null;
  max_message_size: number;
  permissions: Permissions;
}

export interface Project {
  id: number;
  name: string;
  share_links?: { admin: string; viewer: string };
  inboxes: Inbox[];
  permissions: Permissions;
}

export interface Message {
  id: number;
  inbox_id: number;
  subject: string;
  sent_at: string;
  from_email: string;
  from_name: string;
  to_email: string;
  to_name: string;
  email_size: number;
  is_read: boolean;
  created_at: string;
  template_id: number | null;
  template_variables: unknown;
  html_body_size: number;
  text_body_size: number;
  human_size: string;
  html_path: string;
  txt_path: string;
  raw_path: string;
  download_path: string;
  html_source_path: string;
  blacklists_report_info: unknown;
  smtp_information: { ok: boolean; data?: { mail_from_addr: string; client_ip: string } };
}

export interface Attachment {
  id: number;
  message_id: number;
  filename: string;
  attachment_type: string;
  content_type: string;
  content_id: string;
  attachment_size: number;
  attachment_human_size: string;
  download_path: string;
}

export interface ForwardingRule {
  id: number;
  inbox_id: number;
  kind: "email" | "domain";
  purpose: "manual" | "auto";
  email?: string;
  domain?: string;
  status: "pending" | "active";
  created_at: string;
  confirmation_sent_at: string | null;
  confirmed_at: string | null;
  dns_record?: { type: string; name: string; value: string };
}

export const inboxPath = (inboxId: number | string, suffix = "") => accountPath(`/inboxes/${inboxId}${suffix}`);
export const messagePath = (inboxId: number | string, messageId: number | string, suffix = "") =>
  inboxPath(inboxId, `/messages/${messageId}${suffix}`);

// Where the UI lives: "#/sandbox/{inbox}/messages/{message}/{tab}".
export const messageRoute = (inboxId: number | string, messageId: number | string, tab = "") =>
  `/sandbox/${inboxId}/messages/${messageId}${tab ? `/${tab}` : ""}`;

// The SMTP host applications should use: the inbox's own, unless it is a wildcard listener address.
export function smtpHost(inbox: Inbox): string {
  const host = inbox.domain;
  if (!host || host === "0.0.0.0" || host === "::" || host === "[::]") return window.location.hostname;
  return host;
}
export const smtpPort = (inbox: Inbox): number => inbox.smtp_ports?.[0] ?? 2525;
