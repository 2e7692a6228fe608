// Test data for a template's variables, as the server lists them ("user.name", "items.[].name"): each leaf
// defaults to Test_<last segment>, as Mailtrap does, and the paths become the nested template_variables object.

// Containers ("user" when "user.name" is listed too) get their value from their leaves.
export function leafVariables(all: string[]): string[] {
  return all.filter((v) => !all.some((other) => other.startsWith(`${v}.`)));
}

export function defaultValue(path: string): string {
  const parts = path.split(".").filter((p) => p !== "[]");
  return `Test_${parts[parts.length - 1] ?? path}`;
}

export function buildData(values: Record<string, string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(values)) {
    const parts = path.split(".");
    let node: any = root;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const next = parts[i + 1];
      if (part === "[]") return; // handled when stepping into the array below
      const wantsArray = next === "[]";
      if (last || (wantsArray && i + 1 === parts.length - 1)) {
        node[part] = wantsArray ? [value] : value;
        return;
      }
      if (wantsArray) {
        if (!Array.isArray(node[part])) node[part] = [{}];
        if (typeof node[part][0] !== "object" || node[part][0] === null) node[part][0] = {};
        node = node[part][0];
      } else {
        if (typeof node[part] !== "object" || node[part] === null || Array.isArray(node[part])) node[part] = {};
        node = node[part];
      }
    });
  }
  return root;
}
