// The template editor: subject, HTML and text with line numbers and the server's syntax errors at their line,
// the variables the template reads with editable test data (Test_<name> by default), a live preview, sending
// a test through the server, and delete.
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../lib/api";
import { messageOf, useAction, useAsync } from "../../lib/hooks";
import { navigate } from "../../lib/router";
import { formatDate } from "../../lib/format";
import { Badge, ConfirmButton, CopyButton, ErrorBanner, Loading, TabPanel, Tabs } from "../../components/ui";
import { CodeEditor, type LineError } from "./CodeEditor";
import { buildData, defaultValue, leafVariables } from "./testdata";
import { STARTER, fieldErrors, templatesPath, type EmailTemplate, type FieldName, type TemplateFields } from "./model";
import { SendTest, type ServerRender } from "./SendTest";

const FIELDS: FieldName[] = ["name", "category", "subject", "body_html", "body_text"];
const pick = (t: TemplateFields): TemplateFields => ({
  name: t.name ?? "",
  category: t.category ?? "",
  subject: t.subject ?? "",
  body_html: t.body_html ?? "",
  body_text: t.body_text ?? "",
});
// Where a template's test data is kept between visits (this browser only).
const dataKey = (id: number | null) => `postroom.template-data.${id ?? "new"}`;
const same = (a: TemplateFields, b: TemplateFields) => FIELDS.every((f) => a[f] === b[f]);

export function TemplateEditor({ id }: { id: number | null }) {
  const loaded = useAsync(
    () => (id === null ? Promise.resolve(null) : api.get<EmailTemplate>(templatesPath(`/${id}`))),
    [id],
  );
  const [template, setTemplate] = useState<EmailTemplate | null>(null);
  const [saved, setSaved] = useState<TemplateFields>(STARTER);
  const [draft, setDraft] = useState<TemplateFields | null>(id === null ? STARTER : null);
  const [saveErrors, setErrors] = useState<Partial<Record<FieldName, LineError[]>>>({});
  // Syntax errors the live preview found; a refused save's errors win until their field is edited.
  const [liveErrors, setLiveErrors] = useState<Partial<Record<FieldName, LineError[]>>>({});
  const errors: Partial<Record<FieldName, LineError[]>> = { ...liveErrors };
  for (const [field, list] of Object.entries(saveErrors)) if (list?.length) errors[field as FieldName] = list;
  const [savedNote, setSavedNote] = useState("");
  const [bodyTab, setBodyTab] = useState("html");
  const save = useAction();
  const remove = useAction();

  useEffect(() => {
    if (loaded.data) {
      setTemplate(loaded.data);
      setSaved(pick(loaded.data));
      setDraft(pick(loaded.data));
    }
  }, [loaded.data]);

  const dirty = draft !== null && (id === null || !same(draft, saved));
  const set = (field: FieldName, value: string) => {
    setSavedNote("");
    setErrors((old) => ({ ...old, [field]: undefined }));
    setDraft((d) => (d ? { ...d, [field]: value } : d));
  };

  // Saves the draft; the saved template, or null when the server refused it (its errors are then shown).
  const saveNow = async (): Promise<EmailTemplate | null> => {
    if (!draft) return null;
    setSavedNote("");
    let refusal: unknown = null;
    const result = await save.run(async () => {
      try {
        return id === null
          ? await api.post<EmailTemplate>(templatesPath(), { email_template: draft })
          : await api.patch<EmailTemplate>(templatesPath(`/${id}`), { email_template: draft });
      } catch (e) {
        refusal = e;
        throw e;
      }
    });
    const { byField } = fieldErrors(refusal);
    setErrors(byField);
    if (!result) {
      const first = FIELDS.find((f) => byField[f]?.length);
      if (first === "body_text") setBodyTab("text");
      if (first === "body_html") setBodyTab("html");
      return null;
    }
    setTemplate(result);
    setSaved(pick(result));
    setSavedNote(`Saved at ${new Date().toLocaleTimeString()}.`);
    if (id === null) {
      // The test data typed before the first save stays with the template.
      const typed = localStorage.getItem(dataKey(null));
      if (typed) localStorage.setItem(dataKey(result.id), typed);
      localStorage.removeItem(dataKey(null));
      navigate(`/templates/${result.id}`, { replace: true });
    }
    return result;
  };

  // Ctrl/Cmd+S saves from anywhere on the page.
  const saveRef = useRef(saveNow);
  saveRef.current = saveNow;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "s") {
        e.preventDefault();
        if (!save.busy) saveRef.current();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save.busy]);

  // Leaving the page (reload, closing the tab) with unsaved changes asks first.
  useEffect(() => {
    if (!dirty) return;
    const onUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", onUnload);
    return () => window.removeEventListener("beforeunload", onUnload);
  }, [dirty]);

  const duplicate = async () => {
    if (!template) return;
    const copy = await save.run(() =>
      api.post<EmailTemplate>(templatesPath(), { email_template: { ...pick(template), name: `${template.name} (copy)` } }),
    );
    if (copy) navigate(`/templates/${copy.id}`);
  };

  const destroy = async () => {
    const ok = await remove.run(() => api.del(templatesPath(`/${id}`)).then(() => true));
    if (ok) {
      localStorage.removeItem(dataKey(id));
      navigate("/templates");
    }
  };

  if (loaded.error && !draft) return <ErrorBanner error={loaded.error} />;
  if (!draft) return <Loading />;

  return (
    <section class="tpl-template-editor">
      <nav aria-label="Breadcrumb" class="tpl-breadcrumb">
        <a href="#/templates">Email Templates</a> <span aria-hidden="true">/</span>
      </nav>
      <header class="page-header">
        <h1>{id === null ? "New template" : template?.name || "Template"}</h1>
        {dirty && <Badge kind="warn">Unsaved changes</Badge>}
        <span role="status" class="tpl-ok-text">
          {savedNote}
        </span>
        <div class="page-actions">
          {template && (
            <span class="tpl-template-uuid-head">
              <span class="hint">UUID</span> <code data-testid="template-uuid">{template.uuid}</code>{" "}
              <CopyButton value={template.uuid} label="Copy UUID" />
            </span>
          )}
          <button
            type="button"
            class="primary"
            onClick={() => saveNow()}
            disabled={save.busy || !dirty}
            aria-keyshortcuts="Control+S"
          >
            {save.busy ? "Saving…" : id === null ? "Create template" : "Save"}
          </button>
          {id !== null && dirty && (
            <ConfirmButton
              label="Discard changes"
              confirmLabel="Discard"
              danger={false}
              onConfirm={() => {
                setDraft(saved);
                setErrors({});
                save.setError(null);
              }}
            />
          )}
          {template && (
            <button type="button" onClick={duplicate} disabled={save.busy || dirty} title={dirty ? "Save your changes first" : undefined}>
              Duplicate
            </button>
          )}
          {id !== null && <ConfirmButton label="Delete" confirmLabel="Delete template" onConfirm={destroy} disabled={remove.busy} />}
        </div>
      </header>
      <ErrorBanner error={save.error} onDismiss={() => save.setError(null)} />
      <ErrorBanner error={remove.error} onDismiss={() => remove.setError(null)} />

      <div class="tpl-template-columns">
        <div class="tpl-template-main">
          <div class="row tpl-template-meta">
            <div class="field grow">
              <label for="tpl-name">Name</label>
              <input id="tpl-name" value={draft.name} onInput={(e) => set("name", (e.target as HTMLInputElement).value)} aria-invalid={!!errors.name} />
              <InlineErrors list={errors.name} />
            </div>
            <div class="field grow">
              <label for="tpl-category">Category</label>
              <input
                id="tpl-category"
                value={draft.category}
                onInput={(e) => set("category", (e.target as HTMLInputElement).value)}
                aria-invalid={!!errors.category}
              />
              <InlineErrors list={errors.category} />
            </div>
          </div>
          <div class="field">
            <label for="tpl-subject">Subject</label>
            <input
              id="tpl-subject"
              class="mono"
              spellcheck={false}
              value={draft.subject}
              onInput={(e) => set("subject", (e.target as HTMLInputElement).value)}
              aria-invalid={!!errors.subject}
            />
            <InlineErrors list={errors.subject} />
          </div>
          <Tabs
            label="Template body"
            tabs={[
              { id: "html", label: errors.body_html ? "HTML ⚠" : "HTML" },
              { id: "text", label: errors.body_text ? "Text ⚠" : "Text" },
            ]}
            selected={bodyTab}
            onSelect={setBodyTab}
          />
          <TabPanel id={bodyTab}>
            {bodyTab === "html" ? (
              <CodeEditor id="tpl-body-html" label="HTML body" value={draft.body_html} onInput={(v) => set("body_html", v)} errors={errors.body_html} />
            ) : (
              <CodeEditor id="tpl-body-text" label="Text body" value={draft.body_text} onInput={(v) => set("body_text", v)} errors={errors.body_text} />
            )}
          </TabPanel>
          <p class="hint">
            Handlebars: <code>{"{{name}}"}</code>, <code>{"{{{raw_html}}}"}</code>, <code>{"{{#if x}}…{{else}}…{{/if}}"}</code>,{" "}
            <code>{"{{#each items}}{{name}}{{/each}}"}</code>, <code>{"{{> other_template}}"}</code>. Syntax errors are
            checked by the server as you type. {template && `Last saved ${formatDate(template.updated_at)}.`}
          </p>
        </div>
        <PreviewColumn
          key={id ?? "new"}
          storageKey={dataKey(id)}
          draft={draft}
          onSyntaxErrors={setLiveErrors}
          template={template}
          dirty={dirty}
          saveNow={saveNow}
        />
      </div>
    </section>
  );
}

function InlineErrors({ list }: { list?: LineError[] }) {
  if (!list?.length) return null;
  return (
    <ul class="tpl-code-errors">
      {list.map((e, i) => (
        <li key={i} role="alert" class="tpl-code-error-text">
          {e.message}
        </li>
      ))}
    </ul>
  );
}

// --- test data, preview and send ---------------------------------------------------------------------------

function useDebounced<T>(value: T, ms: number): T {
  const [current, setCurrent] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setCurrent(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return current;
}

function loadValues(key: string): Record<string, string> {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? "{}");
    return v && typeof v === "object" ? v : {};
  } catch {
    return {};
  }
}

interface ServerPreview {
  subject: string;
  html: string | null;
  text: string | null;
  variables: string[];
  html_url: string | null;
}

// The preview is the server's own render of the draft (the engine sends use, the account's templates as
// partials); its HTML is shown from its own URL, sandboxed, with the styles and images the email has.
function PreviewColumn({
  storageKey,
  draft,
  template,
  dirty,
  saveNow,
  onSyntaxErrors,
}: {
  storageKey: string;
  draft: TemplateFields;
  template: EmailTemplate | null;
  dirty: boolean;
  saveNow: () => Promise<EmailTemplate | null>;
  onSyntaxErrors: (byField: Partial<Record<FieldName, LineError[]>>) => void;
}) {
  const source = useDebounced(draft, 250);
  const [values, setValues] = useState<Record<string, string>>(() =>
    storageKey === dataKey(null) ? {} : loadValues(storageKey),
  ); // a new template starts from the defaults
  const [previewTab, setPreviewTab] = useState("preview-html");
  const [server, setServer] = useState<ServerRender | null>(null);
  const [rendered, setRendered] = useState<ServerPreview | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [vars, setVars] = useState<string[]>([]);
  useEffect(() => {
    if (Object.keys(values).length) localStorage.setItem(storageKey, JSON.stringify(values));
    else localStorage.removeItem(storageKey);
  }, [storageKey, values]);

  const leaves = leafVariables(vars);
  const effective = Object.fromEntries(leaves.map((v) => [v, values[v] ?? defaultValue(v)]));
  const data = buildData(effective);
  const dataJson = JSON.stringify(data);

  useEffect(() => {
    const controller = new AbortController();
    const draftBody = {
      name: source.name,
      subject: source.subject,
      body_html: source.body_html,
      body_text: source.body_text,
    };
    (async () => {
      try {
        let result = await api.post<ServerPreview>(
          templatesPath("/preview"),
          { email_template: draftBody, template_variables: JSON.parse(dataJson) },
          { signal: controller.signal },
        );
        // Variables the test data did not cover yet: render again with their defaults.
        const known = new Set(vars);
        if (result.variables.some((v) => !known.has(v))) {
          const leavesNow = leafVariables(result.variables);
          const filled = buildData(Object.fromEntries(leavesNow.map((v) => [v, values[v] ?? defaultValue(v)])));
          result = await api.post<ServerPreview>(
            templatesPath("/preview"),
            { email_template: draftBody, template_variables: filled },
            { signal: controller.signal },
          );
          setVars(result.variables);
        }
        setRendered(result);
        setProblem(null);
        onSyntaxErrors({});
      } catch (e) {
        if (controller.signal.aborted) return;
        const { byField, other } = fieldErrors(e);
        onSyntaxErrors(byField);
        const fieldMessages = Object.entries(byField).flatMap(([f, list]) => (list ?? []).map((l) => `${f} ${l.message}`));
        setProblem([...fieldMessages, ...other].join("; ") || messageOf(e));
      }
    })();
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [source.name, source.subject, source.body_html, source.body_text, dataJson]);

  return (
    <div class="tpl-template-side">
      <section class="panel" aria-labelledby="test-data-title">
        <div class="row">
          <h2 id="test-data-title" class="grow">
            Test data
          </h2>
          <CopyButton value={JSON.stringify(data, null, 2)} label="Copy as template_variables" />
          <button type="button" class="small" onClick={() => setValues({})} disabled={Object.keys(values).length === 0}>
            Reset
          </button>
        </div>
        {leaves.length === 0 ? (
          <p class="hint">The template reads no variables.</p>
        ) : (
          <div class="tpl-test-data" data-testid="test-data">
            {leaves.map((v) => (
              <div class="tpl-test-data-row" key={v}>
                <label for={`var-${v}`} class="mono">
                  {v}
                </label>
                <input
                  id={`var-${v}`}
                  value={effective[v]}
                  onInput={(e) => setValues((old) => ({ ...old, [v]: (e.target as HTMLInputElement).value }))}
                />
              </div>
            ))}
          </div>
        )}
        <p class="hint">
          Detected in the subject and bodies; sent as <code>template_variables</code> by “Send test”. An empty value is
          falsy in <code>{"{{#if}}"}</code>. <code>{"{{x}}"}</code> escapes HTML in every field, the subject and text
          too (as Handlebars does); <code>{"{{{x}}}"}</code> does not.
        </p>
      </section>

      <section class="panel tpl-preview" aria-labelledby="preview-title">
        <h2 id="preview-title">Preview</h2>
        <div class="tpl-preview-subject">
          <span class="hint">Subject</span>{" "}
          <strong data-testid="preview-subject">{rendered && !problem ? rendered.subject : "—"}</strong>
        </div>
        {problem && (
          <p class="tpl-preview-error" role="status" data-testid="preview-problem">
            Can't preview: {problem}
          </p>
        )}
        <Tabs
          label="Preview"
          tabs={[
            { id: "preview-html", label: "HTML" },
            { id: "preview-text", label: "Text" },
            ...(server ? [{ id: "preview-server", label: "Sent test" }] : []),
          ]}
          selected={previewTab}
          onSelect={setPreviewTab}
        />
        <TabPanel id={previewTab}>
          {previewTab === "preview-html" &&
            (!rendered ? (
              <Loading label="Rendering…" />
            ) : rendered.html_url ? (
              <iframe class="tpl-preview-frame" title="HTML preview" sandbox="" src={rendered.html_url} />
            ) : (
              <p class="hint">No HTML body.</p>
            ))}
          {previewTab === "preview-text" && (
            <pre class="tpl-preview-text" data-testid="preview-text" tabIndex={0}>
              {rendered?.text ?? "No text body."}
            </pre>
          )}
          {previewTab === "preview-server" && server && (
            <>
              <p class="hint">
                Rendered by Postroom and captured as <a href={server.link}>message {server.messageId}</a> in{" "}
                {server.inboxName}.
              </p>
              {server.htmlUrl ? (
                <iframe class="tpl-preview-frame" title="Server-rendered HTML" sandbox="" src={server.htmlUrl} />
              ) : (
                <p class="hint">The message has no HTML part.</p>
              )}
            </>
          )}
        </TabPanel>
        <p class="hint">
          Rendered by Postroom's template engine as you type, exactly as a send would render it (other templates work
          as partials). The HTML is shown sandboxed: no script in it runs.
        </p>
      </section>

      <SendTest
        template={template}
        dirty={dirty}
        saveNow={saveNow}
        variables={data}
        hasHtml={!!draft.body_html.trim()}
        onServerRender={(r) => {
          setServer(r);
          if (r) setPreviewTab("preview-server");
        }}
      />
    </div>
  );
}
