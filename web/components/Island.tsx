/**
 * Server side of an island: renders the component into a root that carries its name and props, which the
 * browser's client (`islands/client.ts`) hydrates.
 * @module
 */
import type { FunctionComponent } from "preact";

/**
 * An island root: `<div data-island="Name" data-props="{...}">` around the server-rendered component, and the
 * island's module as a module script beside it: the page's load event waits for it (and its chunks), so a
 * loaded page has everything it hydrates with, and the client's import of it finds it loaded.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { Island } from "./Island.tsx";
 * const Hello = (p: { who: string }) => <p>hello {p.who}</p>;
 * const html = render(<Island name="Hello" component={Hello} props={{ who: "you" }} />);
 * if (!html.includes('data-island="Hello"') || !html.includes("hello you")) throw new Error();
 * if (!html.includes('<script type="module" src="/islands/Hello.js">')) throw new Error();
 * ```
 */
export function Island<P extends Record<string, unknown>>(
  props: { name: string; component: FunctionComponent<P>; props: P },
) {
  const Component = props.component;
  return (
    <>
      <div class="island" data-island={props.name} data-props={JSON.stringify(props.props)}>
        <Component {...props.props} />
      </div>
      <script type="module" src={`/islands/${props.name}.js`} />
    </>
  );
}
