// Projects and their sandboxes, with unread counts; create, rename and delete projects, create sandboxes.
import { useState } from "preact/hooks";
import { api, accountPath } from "../../lib/api";
import { useAction } from "../../lib/hooks";
import { navigate } from "../../lib/router";
import { ConfirmButton, ErrorBanner, Field, Modal } from "../../components/ui";
import type { Inbox, Project } from "./types";

type Dialog =
  | { kind: "new-project" }
  | { kind: "rename-project"; project: Project }
  | { kind: "delete-project"; project: Project }
  | { kind: "new-inbox"; project: Project };

export function Sidebar({
  projects,
  currentInbox,
  canAdmin,
  onChanged,
}: {
  projects: Project[];
  currentInbox: number | null;
  canAdmin: boolean;
  onChanged: () => Promise<void>;
}) {
  const [dialog, setDialog] = useState<Dialog | null>(null);
  return (
    <nav class="sbx-sidebar" aria-label="Projects and sandboxes">
      <div class="sbx-sidebar-head">
        <h2>Projects</h2>
        {canAdmin && (
          <button type="button" class="small" onClick={() => setDialog({ kind: "new-project" })}>
            New project
          </button>
        )}
      </div>
      {projects.length === 0 && <p class="hint">No projects yet.</p>}
      <ul class="sbx-projects">
        {projects.map((project) => (
          <li key={project.id} class="sbx-project">
            <div class="sbx-project-head">
              <span class="sbx-project-name" title={project.name}>
                {project.name}
              </span>
              {project.permissions.can_update && (
                <span class="sbx-project-actions">
                  <button
                    type="button"
                    class="small"
                    aria-label={`Add a sandbox to ${project.name}`}
                    title="Add sandbox"
                    onClick={() => setDialog({ kind: "new-inbox", project })}
                  >
                    <Icon name="plus" />
                  </button>
                  <button
                    type="button"
                    class="small"
                    aria-label={`Rename project ${project.name}`}
                    title="Rename project"
                    onClick={() => setDialog({ kind: "rename-project", project })}
                  >
                    <Icon name="edit" />
                  </button>
                  {project.permissions.can_destroy && (
                    <button
                      type="button"
                      class="small danger"
                      aria-label={`Delete project ${project.name}`}
                      title="Delete project"
                      onClick={() => setDialog({ kind: "delete-project", project })}
                    >
                      <Icon name="trash" />
                    </button>
                  )}
                </span>
              )}
            </div>
            <ul class="sbx-inboxes">
              {project.inboxes.map((inbox) => (
                <InboxLink key={inbox.id} inbox={inbox} current={inbox.id === currentInbox} />
              ))}
              {project.inboxes.length === 0 && <li class="hint sbx-none">No sandboxes</li>}
            </ul>
          </li>
        ))}
      </ul>
      <ProjectDialog dialog={dialog} onClose={() => setDialog(null)} onChanged={onChanged} />
    </nav>
  );
}

function InboxLink({ inbox, current }: { inbox: Inbox; current: boolean }) {
  const unread = inbox.emails_unread_count;
  return (
    <li>
      <a
        href={`#/sandbox/${inbox.id}`}
        class={current ? "sbx-inbox current" : "sbx-inbox"}
        aria-current={current ? "page" : undefined}
        data-inbox={inbox.id}
      >
        <span class="sbx-inbox-name">{inbox.name}</span>
        {unread > 0 ? (
          <>
            <span class="sbx-unread" aria-hidden="true">
              {unread}
            </span>
            <span class="visually-hidden">, {unread} unread</span>
          </>
        ) : (
          <>
            <span class="sbx-count" aria-hidden="true">
              {inbox.emails_count}
            </span>
            <span class="visually-hidden">, {inbox.emails_count} messages</span>
          </>
        )}
      </a>
    </li>
  );
}

function ProjectDialog({
  dialog,
  onClose,
  onChanged,
}: {
  dialog: Dialog | null;
  onClose: () => void;
  onChanged: () => Promise<void>;
}) {
  const title =
    dialog?.kind === "new-project"
      ? "New project"
      : dialog?.kind === "rename-project"
        ? "Rename project"
        : dialog?.kind === "delete-project"
          ? "Delete project"
          : dialog?.kind === "new-inbox"
            ? `New sandbox in ${dialog.project.name}`
            : "";
  return (
    <Modal title={title} open={dialog !== null} onClose={onClose}>
      {dialog && <DialogBody key={`${dialog.kind}`} dialog={dialog} onClose={onClose} onChanged={onChanged} />}
    </Modal>
  );
}

function DialogBody({ dialog, onClose, onChanged }: { dialog: Dialog; onClose: () => void; onChanged: () => Promise<void> }) {
  const initial = dialog.kind === "rename-project" ? dialog.project.name : "";
  const [name, setName] = useState(initial);
  const action = useAction();

  if (dialog.kind === "delete-project") {
    const { project } = dialog;
    const count = project.inboxes.length;
    return (
      <div>
        <p>
          Delete <strong>{project.name}</strong> with its {count === 1 ? "sandbox" : `${count} sandboxes`} and every
          message in them? This cannot be undone.
        </p>
        <ErrorBanner error={action.error} />
        <div class="row">
          <ConfirmButton
            label="Delete project"
            confirmLabel="Yes, delete it"
            disabled={action.busy}
            onConfirm={() =>
              action.run(async () => {
                await api.del(accountPath(`/projects/${project.id}`));
                await onChanged();
                onClose();
                navigate("/sandbox");
              })
            }
          />
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </div>
    );
  }

  const submit = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      if (dialog.kind === "new-project") {
        await api.post(accountPath("/projects"), { project: { name } });
      } else if (dialog.kind === "rename-project") {
        await api.patch(accountPath(`/projects/${dialog.project.id}`), { project: { name } });
      } else {
        const inbox = await api.post<Inbox>(accountPath(`/projects/${dialog.project.id}/inboxes`), { inbox: { name } });
        await onChanged();
        onClose();
        navigate(`/sandbox/${inbox.id}`);
        return;
      }
      await onChanged();
      onClose();
    });
  };
  const label = dialog.kind === "new-inbox" ? "Sandbox name" : "Project name";
  return (
    <form onSubmit={submit}>
      <Field label={label}>
        {(id) => (
          <input
            id={id}
            value={name}
            autoFocus
            required
            maxLength={100}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        )}
      </Field>
      <ErrorBanner error={action.error} />
      <div class="row">
        <button type="submit" class="primary" disabled={action.busy}>
          {dialog.kind === "rename-project" ? "Rename" : "Create"}
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// Small line icons (inline SVG: no icon font, nothing for the CSP to block).
function Icon({ name }: { name: "plus" | "edit" | "trash" }) {
  const paths = {
    plus: "M8 3v10M3 8h10",
    edit: "M3 13l1-3 7-7 2 2-7 7-3 1zM10 4l2 2",
    trash: "M3 4h10M6 4V2.5h4V4M4.5 4l.7 9.5h5.6l.7-9.5M7 6.5v5M9 6.5v5",
  };
  return (
    <svg class="sbx-icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
      <path d={paths[name]} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}
