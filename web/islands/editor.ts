/**
 * The playground's editor: CodeMirror 6 with JavaScript support, loaded on demand.
 * @module
 */
import { basicSetup, EditorView } from "codemirror";
import { javascript } from "@codemirror/lang-javascript";

/**
 * An editor in `parent` holding `code`, with a getter and a setter.
 *
 * @example
 * ```ts ignore
 * const editor = createEditor(document.body, "print(1)");
 * editor.get();
 * ```
 */
export function createEditor(parent: HTMLElement, code: string): { get(): string; set(code: string): void } {
  // Long lines wrap, so that a phone shows the whole line.
  const view = new EditorView({
    doc: code,
    extensions: [basicSetup, javascript(), EditorView.lineWrapping],
    parent,
  });
  return {
    get: () => view.state.doc.toString(),
    set: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
  };
}
