// The Email Sandbox: projects and sandboxes on the left, the selected sandbox's messages, and the open message
// (or the sandbox's settings). Routes:
//   /sandbox                                   → the first sandbox
//   /sandbox/:inbox                            → its messages
//   /sandbox/:inbox/messages/:message[/:tab]   → a message (tabs: html, source, text, raw, spam, check, tech)
//   /sandbox/:inbox/settings[/:section]        → settings (smtp, address, forwarding, limits, general)
import { useEffect, useMemo, useRef } from "preact/hooks";
import { api, accountPath } from "../../lib/api";
import { useAsync } from "../../lib/hooks";
import { match, navigate } from "../../lib/router";
import { isAdmin, useSession } from "../../lib/session";
import { Empty, ErrorBanner, Loading } from "../../components/ui";
import { Sidebar } from "./Sidebar";
import { MessageList, type ListHandle } from "./MessageList";
import { MessageView } from "./MessageView";
import { InboxSettings } from "./InboxSettings";
import { LiveContext, useLiveStream } from "./live";
import type { Inbox, Project } from "./types";
import "./sandbox.css";

export function SandboxPage({ path }: { path: string }) {
  const { account } = useSession();
  const projects = useAsync(() => api.get<Project[]>(accountPath("/projects")), [account.id]);
  const { hub, status } = useLiveStream();
  const listHandle = useRef<ListHandle | null>(null);

  const [pathOnly] = path.split("?");
  const route =
    match("/sandbox/:inbox/messages/:message/:tab", pathOnly) ??
    match("/sandbox/:inbox/messages/:message", pathOnly) ??
    match("/sandbox/:inbox/settings/:section", pathOnly) ??
    match("/sandbox/:inbox/settings", pathOnly) ??
    match("/sandbox/:inbox", pathOnly) ??
    {};
  const inboxId = route.inbox ? Number(route.inbox) : null;
  const settings = pathOnly.includes("/settings");

  const inboxes = useMemo(() => (projects.data ?? []).flatMap((p) => p.inboxes), [projects.data]);
  const inbox = inboxes.find((i) => i.id === inboxId) ?? null;

  // "/sandbox" opens the first sandbox.
  useEffect(() => {
    if (inboxId === null && inboxes.length > 0) navigate(`/sandbox/${inboxes[0].id}`, { replace: true });
  }, [inboxId, inboxes]);

  // Unread counts follow live events (coalesced: a burst of mail is one reload).
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(
    () =>
      hub.subscribe(() => {
        if (pending.current) return;
        pending.current = setTimeout(() => {
          pending.current = undefined;
          projects.reload();
        }, 400);
      }),
    [hub, projects.reload],
  );
  useEffect(() => () => clearTimeout(pending.current), []);

  const updateInbox = (updated: Inbox) => {
    if (!projects.data) return;
    projects.setData(
      projects.data.map((p) => ({ ...p, inboxes: p.inboxes.map((i) => (i.id === updated.id ? { ...i, ...updated } : i)) })),
    );
  };

  if (projects.data === undefined) return projects.error ? <ErrorBanner error={projects.error} /> : <Loading />;

  return (
    <LiveContext.Provider value={hub}>
      <div class={settings ? "sbx sbx-settings-layout" : "sbx"}>
        <Sidebar
          projects={projects.data}
          currentInbox={inboxId}
          canAdmin={isAdmin(account)}
          onChanged={projects.reload}
        />
        {projects.error && <ErrorBanner error={projects.error} />}
        {inboxId === null ? (
          <section class="sbx-main">
            <Empty>
              {inboxes.length === 0
                ? "No sandboxes yet. Create a project, then add a sandbox to it with “+”."
                : "Choose a sandbox."}
            </Empty>
          </section>
        ) : !inbox ? (
          <section class="sbx-main">
            <ErrorBanner error={`Sandbox ${inboxId} does not exist or you have no access to it.`} />
          </section>
        ) : settings ? (
          <section class="sbx-main" aria-label="Sandbox settings">
            <InboxSettings
              key={inbox.id}
              inbox={inbox}
              section={route.section ?? "smtp"}
              onUpdated={updateInbox}
              onDeleted={async () => {
                await projects.reload();
                navigate("/sandbox");
              }}
            />
          </section>
        ) : (
          <>
            <MessageList
              key={inbox.id}
              inbox={inbox}
              openId={route.message ? Number(route.message) : null}
              tab={route.tab}
              handle={listHandle}
              live={status}
              onInboxChanged={updateInbox}
            />
            <section class="sbx-view" aria-label="Message">
              {route.message ? (
                <MessageView
                  key={`${inbox.id}/${route.message}`}
                  inbox={inbox}
                  messageId={Number(route.message)}
                  tab={route.tab}
                  path={path}
                  list={listHandle}
                />
              ) : (
                <Empty>
                  Select a message. <kbd>j</kbd>/<kbd>k</kbd> move, <kbd>Enter</kbd> opens, <kbd>/</kbd> searches,{" "}
                  <kbd>Del</kbd> deletes.
                </Empty>
              )}
            </section>
          </>
        )}
      </div>
    </LiveContext.Provider>
  );
}
