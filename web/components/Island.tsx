/**
 * Server side of an island: renders the component into a root that carries its name and props, which the
 * browser's client (`islands/client.ts`) hydrates.
 * @module
 */
import type { FunctionComponent } from "preact";

/**
 * An island root: `<div data-island="Name" data-props="{...}">` around the server-rendered component.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import { Island } from "./Island.tsx";
 * const Hello = (p: { who: string }) => <p>hello {p.who}</p>;
 * const html = render(<Island name="Hello" component={Hello} props={{ who: "you" }} />);
 * if (!html.includes('data-island="Hello"') || !html.includes("hello you")) throw new Error();
 * ```
 */
export function Island<P extends Record<string, unknown>>(
  props: { name: string; component: FunctionComponent<P>; props: P },
) {
  const Component = props.component;
  return (
    <div class="island" data-island={props.name} data-props={JSON.stringify(props.props)}>
      <Component {...props.props} />
    </div>
  );
}
