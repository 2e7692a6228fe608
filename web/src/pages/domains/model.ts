// The sending-domain objects as the API returns them (docs/api.md, "Sending domains"), and how the UI names
// their states.
import { accountPath } from "../../lib/api";

export type RecordStatus = "unchecked" | "pass" | "fail" | "missing" | "network_error";

export interface DnsRecord {
  key: string;
  domain: string; // the full host name
  type: string;
  value: string;
  status: RecordStatus;
  name: string; // the host relative to the domain ("" or "@" for the apex)
  required: boolean;
  reason?: string;
  found?: string;
}

export interface SendingDomain {
  id: number;
  domain_name: string;
  demo: boolean;
  dns_verified: boolean;
  dns_verified_at: string;
  dns_checked_at: string | null;
  dns_lost: boolean;
  compliance_status: string;
  dns_records: DnsRecord[];
  open_tracking_enabled: boolean;
  click_tracking_enabled: boolean;
  custom_domain_tracking_enabled: boolean;
  auto_unsubscribe_link_enabled: boolean;
  bulk_unsubscribe_footer_enabled: boolean;
  health_alerts_enabled: boolean;
  critical_alerts_enabled: boolean;
  alert_recipient_email: string | null;
  inbound_enabled: boolean;
  auto_bcc: { emails: string[]; header_name: string; header_value: string };
  permissions: { can_read: boolean; can_update: boolean; can_destroy: boolean };
}

export interface CreatedDomain extends SendingDomain {
  api_token: { id: number; name: string; token: string };
}

export const domainsPath = (suffix = "") => accountPath(`/sending_domains${suffix}`);

export type BadgeKind = "ok" | "warn" | "bad" | "info" | "muted";

export const RECORD_STATUS: Record<RecordStatus, { kind: BadgeKind; label: string }> = {
  pass: { kind: "ok", label: "Pass" },
  fail: { kind: "bad", label: "Fail" },
  missing: { kind: "bad", label: "Missing" },
  network_error: { kind: "warn", label: "DNS error" },
  unchecked: { kind: "muted", label: "Not checked" },
};

export function recordStatus(status: string) {
  return RECORD_STATUS[status as RecordStatus] ?? { kind: "muted" as BadgeKind, label: status };
}

// The one-word state of a domain for lists and headers.
export function domainState(d: SendingDomain): { kind: BadgeKind; label: string } {
  if (d.demo) return { kind: "info", label: "Demo domain" };
  if (d.compliance_status === "suspended") return { kind: "bad", label: "Suspended" };
  if (d.compliance_status === "non_compliant") return { kind: "bad", label: "Non-compliant" };
  if (d.dns_lost) return { kind: "bad", label: "DNS record lost" };
  if (!d.dns_verified) return { kind: "warn", label: "Unverified" };
  if (d.compliance_status === "pending") return { kind: "warn", label: "Awaiting approval" };
  return { kind: "ok", label: "Verified" };
}

export const RECORD_LABELS: Record<string, string> = {
  verification: "Domain verification",
  spf: "SPF",
  dkim1: "DKIM (selector pr1)",
  dkim2: "DKIM (selector pr2)",
  dkim_ed25519: "DKIM Ed25519",
  dmarc: "DMARC",
  return_path: "Return path (bounces)",
  link_verification: "Click tracking link",
};
