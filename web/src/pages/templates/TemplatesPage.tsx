// Email templates: the list ("#/templates"), a new one ("#/templates/new") and the editor ("#/templates/:id").
import { useRef, useState } from "preact/hooks";
import { api } from "../../lib/api";
import { useAsync, useShortcuts } from "../../lib/hooks";
import { match, navigate } from "../../lib/router";
import { formatDate } from "../../lib/format";
import { CopyButton, Empty, ErrorBanner, Loading, PageHeader } from "../../components/ui";
import { TemplateEditor } from "./TemplateEditor";
import { templatesPath, type EmailTemplate } from "./model";
import "./templates.css";

export function TemplatesPage({ path }: { path: string }) {
  if (match("/templates/new", path)) return <TemplateEditor key="new" id={null} />;
  const edit = match("/templates/:id", path);
  if (edit) return <TemplateEditor key={edit.id} id={Number(edit.id)} />;
  return <TemplatesList />;
}

function TemplatesList() {
  const list = useAsync(() => api.get<EmailTemplate[]>(templatesPath()), []);
  const [filter, setFilter] = useState("");
  const filterRef = useRef<HTMLInputElement>(null);
  useShortcuts(
    {
      n: () => navigate("/templates/new"),
      "/": () => filterRef.current?.focus(),
      r: () => list.reload(),
    },
    [list.reload],
  );
  const needle = filter.trim().toLowerCase();
  const shown = (list.data ?? []).filter(
    (t) => !needle || [t.name, t.category, t.subject, t.uuid].some((v) => (v ?? "").toLowerCase().includes(needle)),
  );
  return (
    <section class="tpl-templates">
      <PageHeader title="Email Templates">
        <label for="template-filter" class="visually-hidden">
          Filter templates
        </label>
        <input
          id="template-filter"
          ref={filterRef}
          type="search"
          placeholder="Filter (press /)"
          aria-keyshortcuts="/"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
        />
        <a class="button tpl-primary-link" href="#/templates/new" aria-keyshortcuts="n">
          New template
        </a>
      </PageHeader>
      <ErrorBanner error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data && list.data.length === 0 ? (
        <Empty>
          No templates yet. <a href="#/templates/new">Create one</a>, then send with its UUID as{" "}
          <code>template_uuid</code>.
        </Empty>
      ) : (
        list.data && (
          <>
            <table class="tpl-templates-table" aria-label="Email templates">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Category</th>
                  <th scope="col">Subject</th>
                  <th scope="col">UUID</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((t) => (
                  <tr key={t.id}>
                    <td>
                      <a href={`#/templates/${t.id}`} class="tpl-template-link">
                        {t.name}
                      </a>
                    </td>
                    <td>{t.category}</td>
                    <td class="tpl-template-subject">{t.subject}</td>
                    <td class="tpl-template-uuid">
                      <code>{t.uuid}</code> <CopyButton value={t.uuid} label={`Copy UUID of ${t.name}`} />
                    </td>
                    <td>{formatDate(t.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {shown.length === 0 && <Empty>No template matches “{filter}”.</Empty>}
          </>
        )
      )}
      <p class="hint">
        Shortcuts: <kbd>n</kbd> new template, <kbd>/</kbd> filter, <kbd>r</kbd> refresh; in the editor <kbd>Ctrl</kbd>+
        <kbd>S</kbd> saves.
      </p>
    </section>
  );
}
