/**
 * Code in a share link: the playground's code as `#code=<base64 of its UTF-8>`, which the playground and the
 * graph viewer both read.
 * @module
 */

/**
 * The hash that carries `code`.
 *
 * @example
 * ```ts
 * import { codeFromHash, codeToHash } from "./share.ts";
 * if (codeFromHash(codeToHash("print('é')")) !== "print('é')") throw new Error();
 * ```
 */
export function codeToHash(code: string): string {
  const bytes = new TextEncoder().encode(code);
  return `#code=${encodeURIComponent(btoa(String.fromCharCode(...bytes)))}`;
}

/**
 * The code a hash carries, or null.
 *
 * @example
 * ```ts
 * import { codeFromHash } from "./share.ts";
 * if (codeFromHash("#model=mlp") !== null || codeFromHash("#code=%%%") !== null) throw new Error();
 * ```
 */
export function codeFromHash(hash: string): string | null {
  const match = hash.match(/^#code=(.+)$/);
  if (!match) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(decodeURIComponent(match[1])), (c) => c.charCodeAt(0)),
    );
  } catch {
    return null;
  }
}
