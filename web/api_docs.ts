/**
 * The API reference's data: every export of `mod.ts` (and of its namespaces, `nn.dense` and the like) read from
 * `deno doc --json`, with its signature as written in the source, its doc, its examples and where it is.
 * @module
 */

/** One documented export. */
export interface ApiEntry {
  /** As a user writes it: `tensor`, `nn.dense`. */
  name: string;
  /** function, class, interface, typeAlias, variable, namespace. */
  kind: string;
  /** The declaration's first lines in the source, up to its body. */
  signature: string;
  /** The JSDoc text without tags. */
  doc: string;
  /** The code of each `@example`. */
  examples: string[];
  /** Repository-relative file and line. */
  file: string;
  line: number;
}

interface DocSymbol {
  name: string;
  declarations: {
    location: { filename: string; line: number };
    kind: string;
    jsDoc?: { doc?: string; tags?: { kind: string; doc?: string }[] };
  }[];
}

const ROOT = new URL("../", import.meta.url);

/** `deno doc --json` of one module: its exported symbols. */
async function docOf(path: string): Promise<DocSymbol[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", path],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`deno doc ${path} failed: ${new TextDecoder().decode(stderr)}`);
  const json = JSON.parse(new TextDecoder().decode(stdout));
  return (Object.values(json.nodes)[0] as { symbols: DocSymbol[] }).symbols;
}

/** The declaration's text from its first line (0-based `line`) until its body opens or it ends, in at most 12 lines. */
function signatureAt(lines: string[], line: number): string {
  const out: string[] = [];
  for (let i = line; i < lines.length && out.length < 12; i++) {
    const text = lines[i];
    out.push(text);
    if (/[{;]\s*$/.test(text) || /=>\s*$/.test(text)) break;
  }
  return out.join("\n").replace(/\s*\{\s*$/, "").replace(/^export (declare )?/, "");
}

/**
 * Every export of `mod.ts`, namespaces expanded, sorted by name.
 *
 * @example
 * ```ts
 * import { loadApi } from "./api_docs.ts";
 * const api = await loadApi();
 * const tensor = api.find((e) => e.name === "tensor")!;
 * if (tensor.kind !== "function" || tensor.examples.length === 0 || !tensor.file.endsWith(".ts")) throw new Error();
 * if (!api.some((e) => e.name === "nn.dense")) throw new Error();
 * ```
 */
export async function loadApi(): Promise<ApiEntry[]> {
  const modText = await Deno.readTextFile(new URL("mod.ts", ROOT));
  const namespaces = [...modText.matchAll(/export \* as (\w+) from "\.\/(.+?)"/g)].map(([, name, path]) => ({
    name,
    path,
  }));
  const sources = new Map<string, string[]>();
  const entries: ApiEntry[] = [];
  const add = async (symbols: DocSymbol[], prefix: string) => {
    for (const symbol of symbols) {
      const d = symbol.declarations[0];
      if (!d || (d.kind === "namespace" && namespaces.some((n) => n.name === symbol.name))) continue;
      const file = decodeURIComponent(new URL(d.location.filename).pathname).slice(
        decodeURIComponent(ROOT.pathname).length,
      );
      if (!sources.has(file)) sources.set(file, (await Deno.readTextFile(new URL(file, ROOT))).split("\n"));
      const tags = d.jsDoc?.tags ?? [];
      entries.push({
        name: prefix + symbol.name,
        kind: d.kind,
        signature: signatureAt(sources.get(file)!, d.location.line),
        doc: d.jsDoc?.doc ?? "",
        examples: tags.filter((t) => t.kind === "example").map((t) =>
          (t.doc ?? "").replace(/^```\w*\n|```\s*$/g, "")
        ),
        file,
        line: d.location.line + 1, // deno doc counts lines from 0
      });
    }
  };
  await add(await docOf("mod.ts"), "");
  for (const n of namespaces) await add(await docOf(n.path), `${n.name}.`);
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}
