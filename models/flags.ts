/**
 * Command-line flags for the `deno task` commands: `--name value`, `--name=value`, bare `--name` for yes/no
 * flags and `--no-name` for no. A model's config fields are flags by their kebab-case names (`minCount` is
 * `--min-count`), typed by the spec, so a wrong value is a one-line error naming the flag, what it takes and
 * what it got.
 * @module
 */
import type { ConfigOf, Field, Fields } from "./spec.ts";

/**
 * A field's flag name: `minCount` → `min-count`.
 *
 * @example
 * ```ts
 * import { kebab } from "./flags.ts";
 * if (kebab("minCount") !== "min-count" || kebab("dim") !== "dim") throw new Error();
 * ```
 */
export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * A flag name's field name: `min-count` → `minCount`.
 *
 * @example
 * ```ts
 * import { camel } from "./flags.ts";
 * if (camel("min-count") !== "minCount") throw new Error();
 * ```
 */
export const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Flags as given: name (without the dashes) → values in order.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * const flags = parseFlags(["--dim", "50", "--fresh", "--lr=0.1", "--no-carry-state"], new Set(["fresh", "carry-state"]));
 * if (flags.get("dim")![0] !== "50" || flags.get("fresh")![0] !== "true" || flags.get("carry-state")![0] !== "false") throw new Error();
 * ```
 */
export function parseFlags(argv: readonly string[], yesNo: ReadonlySet<string>): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  const push = (name: string, value: string) => flags.set(name, [...(flags.get(name) ?? []), value]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--") || arg.length === 2) {
      throw new Error(`unexpected argument ${JSON.stringify(arg)}; flags are --name value (see --help)`);
    }
    const body = arg.slice(2);
    const eq = body.indexOf("=");
    if (eq > 0) {
      push(body.slice(0, eq), body.slice(eq + 1));
      continue;
    }
    if (body.startsWith("no-") && yesNo.has(body.slice(3))) {
      push(body.slice(3), "false");
      continue;
    }
    const next = argv[i + 1];
    if (
      yesNo.has(body) && (next === undefined || next.startsWith("--"))
    ) {
      push(body, "true");
      continue;
    }
    if (next === undefined || (next.startsWith("--") && next.length > 2)) {
      throw new Error(`--${body} needs a value (see --help)`);
    }
    push(body, next);
    i++;
  }
  return flags;
}

/**
 * What a field takes, in words.
 *
 * @example
 * ```ts
 * import { describeField } from "./flags.ts";
 * import { int } from "./spec.ts";
 * if (describeField(int(5, "w")) !== "a whole number >= 1") throw new Error();
 * ```
 */
export function describeField(field: Field): string {
  switch (field.kind) {
    case "int":
      return `a whole number >= ${field.min}`;
    case "number":
      return `a number >= ${field.min}${field.below === undefined ? "" : ` and < ${field.below}`}`;
    case "choice":
      return `one of ${field.options.join(", ")}`;
    case "boolean":
      return "true or false";
    case "text":
      return "text";
  }
}

/**
 * A field's value from a flag's text or a recipe's JSON value, or an error naming `where`, what the field
 * takes and what it got.
 *
 * @example
 * ```ts
 * import { fieldValue } from "./flags.ts";
 * import { int, num } from "./spec.ts";
 * if (fieldValue("--dim", int(100, "size"), "50") !== 50) throw new Error();
 * let message = "";
 * try { fieldValue("--dim", int(100, "size"), "fifty"); } catch (e) { message = (e as Error).message; }
 * if (message !== '--dim takes a whole number >= 1, got "fifty"') throw new Error(message);
 * try { fieldValue("--dropout", num(0, "rate", 0, 1), "1"); } catch (e) { message = (e as Error).message; }
 * if (message !== '--dropout takes a number >= 0 and < 1, got "1"') throw new Error(message);
 * ```
 */
export function fieldValue(where: string, field: Field, raw: unknown): number | string | boolean {
  const fail = (): never => {
    throw new Error(`${where} takes ${describeField(field)}, got ${JSON.stringify(raw)}`);
  };
  const text = typeof raw === "string" ? raw.trim() : undefined;
  switch (field.kind) {
    case "int": {
      const n = typeof raw === "number"
        ? raw
        : text !== undefined && /^-?\d+$/.test(text)
        ? Number(text)
        : NaN;
      return Number.isInteger(n) && n >= field.min ? n : fail();
    }
    case "number": {
      const n = typeof raw === "number" ? raw : text !== undefined && text !== "" ? Number(text) : NaN;
      return Number.isFinite(n) && n >= field.min && !(n >= (field.below ?? Infinity)) ? n : fail();
    }
    case "choice":
      return typeof raw === "string" && field.options.includes(raw) ? raw : fail();
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (text === "true" || text === "yes") return true;
      if (text === "false" || text === "no") return false;
      return fail();
    case "text":
      return typeof raw === "string" ? raw : fail();
  }
}

/**
 * The config fields a set of flags gives (only those given), or an error for an unknown flag that lists the
 * model's flags.
 *
 * @example
 * ```ts
 * import { configFlags } from "./flags.ts";
 * import { int } from "./spec.ts";
 * const given = configFlags("toy", { dim: int(100, "size") }, new Map([["dim", ["7"]]]), new Set());
 * if (given.dim !== 7) throw new Error();
 * ```
 */
export function configFlags<F extends Fields>(
  model: string,
  fields: F,
  flags: ReadonlyMap<string, string[]>,
  commandFlags: ReadonlySet<string>,
): Partial<ConfigOf<F>> {
  const out: Record<string, unknown> = {};
  for (const [flag, values] of flags) {
    if (commandFlags.has(flag)) continue;
    const name = camel(flag);
    const field = fields[name];
    if (!field) {
      const known = Object.keys(fields).map((k) => `--${kebab(k)}`).join(" ");
      throw new Error(`unknown flag --${flag} for model ${model}; its flags: ${known} (and see --help)`);
    }
    out[name] = fieldValue(`--${flag}`, field, values[values.length - 1]);
  }
  return out as Partial<ConfigOf<F>>;
}

/**
 * The value of a command flag given once, or undefined.
 *
 * @example
 * ```ts
 * import { single } from "./flags.ts";
 * if (single(new Map([["run", ["a"]]]), "run") !== "a") throw new Error();
 * ```
 */
export function single(flags: ReadonlyMap<string, string[]>, name: string): string | undefined {
  const values = flags.get(name);
  if (values && values.length > 1) throw new Error(`--${name} is given ${values.length} times; give it once`);
  return values?.[0];
}

/**
 * A path as the user meant it: relative paths are taken from the directory `deno task` was started in
 * (`INIT_CWD`), which may differ from the repository root the task runs in.
 *
 * @example
 * ```ts
 * import { userPath } from "./flags.ts";
 * if (userPath("/abs/x") !== "/abs/x") throw new Error();
 * ```
 */
export function userPath(path: string): string {
  if (path.startsWith("/")) return path;
  let base = Deno.cwd();
  try {
    base = Deno.env.get("INIT_CWD") ?? base;
  } catch {
    // No --allow-env: the current directory.
  }
  return `${base.replace(/\/$/, "")}/${path}`.replace(/\/\.\//g, "/");
}
