/**
 * A block of source code, readable without JavaScript.
 * @module
 */

/**
 * The code in a `<pre>`, with a caption naming its file.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { Code } from "./Code.tsx";
 * if (!render(<Code file="a.ts" code="let a = 1 < 2;" />).includes("1 &lt; 2")) throw new Error();
 * ```
 */
export function Code(props: { code: string; file?: string; href?: string }) {
  return (
    <figure class="code">
      {props.file && (
        <figcaption>{props.href ? <a href={props.href}>{props.file}</a> : props.file}</figcaption>
      )}
      <pre><code>{props.code}</code></pre>
    </figure>
  );
}
