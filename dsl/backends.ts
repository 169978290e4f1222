/**
 * The backend registry: which backends exist and which one eager ops and `jit` use. Backends register
 * themselves here from `mod.ts`; `dsl/` reaches them only through the `Backend` interface of `dsl/ir/`.
 * @module
 */
import type { Backend } from "./ir/backend.ts";

const factories = new Map<string, () => Backend | Promise<Backend>>();
const instances = new Map<string, Backend>();
let current: Backend | undefined;
let defaultName: string | undefined;

/**
 * Makes a backend available under `name`. The first registered backend becomes the default.
 *
 * @example
 * ```ts
 * import { listBackends, registerBackend } from "./backends.ts";
 * registerBackend("reference", () => { throw new Error("not needed here"); });
 * if (!listBackends().includes("reference")) throw new Error();
 * ```
 */
export function registerBackend(name: string, factory: () => Backend | Promise<Backend>, options?: {
  /** Make this the backend used until `setBackend` is called. */
  isDefault?: boolean;
}): void {
  factories.set(name, factory);
  instances.delete(name);
  if (defaultName === undefined || options?.isDefault) defaultName = name;
}

/**
 * Names of the registered backends.
 *
 * @example
 * ```ts
 * import { listBackends } from "../mod.ts";
 * if (!listBackends().includes("reference")) throw new Error();
 * ```
 */
export function listBackends(): string[] {
  return [...factories.keys()];
}

/**
 * Selects the backend that eager ops and `jit` use from now on (initialising it on first use).
 *
 * @example
 * ```ts
 * import { getBackend, setBackend } from "../mod.ts";
 * await setBackend("reference");
 * if (getBackend().name !== "reference") throw new Error();
 * ```
 */
export async function setBackend(name: string): Promise<void> {
  current = await initBackend(name);
}

async function initBackend(name: string): Promise<Backend> {
  const existing = instances.get(name);
  if (existing) return existing;
  const factory = factories.get(name);
  if (!factory) {
    throw new Error(
      `setBackend: no backend named "${name}"; registered: ${listBackends().join(", ") || "none"}`,
    );
  }
  const backend = await factory();
  instances.set(name, backend);
  return backend;
}

/**
 * The current backend. Before any `setBackend`, the default one (its factory must be synchronous).
 *
 * @example
 * ```ts
 * import { getBackend } from "../mod.ts";
 * if (typeof getBackend().name !== "string") throw new Error();
 * ```
 */
export function getBackend(): Backend {
  if (current) return current;
  if (defaultName === undefined) {
    throw new Error("Loom: no backend is registered; import mod.ts, not its parts");
  }
  const cached = instances.get(defaultName);
  if (cached) return (current = cached);
  const made = factories.get(defaultName)!();
  if (made instanceof Promise) {
    throw new Error(
      `Loom: the default backend "${defaultName}" initialises asynchronously; await setBackend() first`,
    );
  }
  instances.set(defaultName, made);
  return (current = made);
}
