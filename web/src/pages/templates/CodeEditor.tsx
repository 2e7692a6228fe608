// A code editor small enough to own: a textarea with line numbers beside it; lines with errors are marked in the
// gutter and listed below, each a button that puts the cursor at the error.
import { useEffect, useRef } from "preact/hooks";

export interface LineError {
  line: number | null; // 1-based; null when the message names no line
  column: number | null;
  message: string;
}

const LINE_HEIGHT = 18; // px; the same in templates.css for the gutter and the textarea

export function jumpTo(area: HTMLTextAreaElement, line: number, column = 1) {
  const lines = area.value.split("\n");
  const l = Math.min(Math.max(line, 1), lines.length);
  let offset = 0;
  for (let i = 0; i < l - 1; i++) offset += lines[i].length + 1;
  const start = offset + Math.min(Math.max(column - 1, 0), lines[l - 1].length);
  area.focus();
  area.setSelectionRange(start, offset + lines[l - 1].length);
  area.scrollTop = Math.max(0, (l - 1) * LINE_HEIGHT - area.clientHeight / 3);
}

export function CodeEditor({
  id,
  label,
  value,
  onInput,
  errors = [],
  readOnly,
  rows = 20,
}: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  errors?: LineError[];
  readOnly?: boolean;
  rows?: number;
}) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const count = value.split("\n").length;
  const errorLines = new Set(errors.map((e) => e.line).filter((l): l is number => l !== null));
  const sync = () => {
    if (gutter.current && area.current) gutter.current.scrollTop = area.current.scrollTop;
  };
  useEffect(sync, [value]);
  const errorsId = `${id}-errors`;
  return (
    <div class="tpl-code-editor-wrap">
      <div class={errors.length ? "tpl-code-editor tpl-has-error" : "tpl-code-editor"} style={{ height: `${rows * LINE_HEIGHT + 18}px` }}>
        <div class="tpl-code-gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: count }, (_, i) => (
            <div key={i} class={errorLines.has(i + 1) ? "tpl-ln tpl-ln-error" : "tpl-ln"} data-line={i + 1}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          id={id}
          ref={area}
          aria-label={label}
          aria-invalid={errors.length > 0}
          aria-describedby={errors.length ? errorsId : undefined}
          spellcheck={false}
          autoCapitalize="off"
          autoComplete="off"
          wrap="off"
          readOnly={readOnly}
          value={value}
          onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)}
          onScroll={sync}
          onKeyDown={(e) => {
            // Enter keeps the line's indentation; Tab stays a focus move (keyboard users must be able to leave).
            if (e.key === "Enter" && !e.ctrlKey && !e.metaKey && !e.altKey && !e.shiftKey) {
              const ta = e.currentTarget;
              const before = ta.value.slice(0, ta.selectionStart);
              const indent = /^[ \t]*/.exec(before.slice(before.lastIndexOf("\n") + 1))![0];
              if (!indent) return;
              e.preventDefault();
              ta.setRangeText("\n" + indent, ta.selectionStart, ta.selectionEnd, "end");
              onInput(ta.value);
            }
          }}
        />
      </div>
      {errors.length > 0 && (
        <ul class="tpl-code-errors" id={errorsId}>
          {errors.map((err, i) => (
            <li key={i} role="alert">
              {err.line !== null ? (
                <button
                  type="button"
                  class="link tpl-code-error-jump"
                  onClick={() => area.current && jumpTo(area.current, err.line!, err.column ?? 1)}
                >
                  Line {err.line}
                  {err.column !== null ? `, column ${err.column}` : ""}
                </button>
              ) : null}{" "}
              <span class="tpl-code-error-text">
                {err.line !== null ? err.message.replace(/^.*?line \d+(, column \d+)?: /i, "") : err.message}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
