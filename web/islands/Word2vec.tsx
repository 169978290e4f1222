/**
 * Island: word2vec training on a text in the page, with the loss, nearest neighbours and a PCA map.
 * @module
 */
import * as Plot from "@observablehq/plot";
import { useState } from "preact/hooks";
import type { Word2vecFrame, Word2vecSettings } from "../lessons/word2vec.ts";
import { Figure, linesOf } from "./plots.tsx";
import { Choice, NumberField, Toolbar, useReady } from "./ui.tsx";
import { type LessonProps, useLesson } from "./use_lesson.ts";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import Word2vec from "./Word2vec.tsx";
 * import { word2vec } from "../lessons/word2vec.ts";
 * const first = { step: 0, losses: [], rate: 0, neighbours: [], map: [], done: false };
 * if (!render(<Word2vec slug="word2vec" defaults={word2vec.defaults} limits={{}} first={first} />).includes("skipgram")) throw new Error();
 * ```
 */
export default function Word2vec(props: LessonProps<Word2vecSettings, Word2vecFrame>) {
  const l = useLesson(props);
  const ref = useReady();
  const [draft, setDraft] = useState(l.settings.text);
  const f = l.frame;
  const loss = f.losses.length > 1
    ? `, loss ${f.losses[0][1].toFixed(3)} → ${f.losses.at(-1)![1].toFixed(3)}`
    : f.losses.length
    ? `, loss ${f.losses[0][1].toFixed(3)}`
    : "";
  const status = `step ${f.step}${loss}` +
    (f.rate ? `, ${Math.round(f.rate).toLocaleString("en")} examples/s` : "");
  return (
    <div ref={ref} data-rate={f.done ? String(f.rate) : undefined}>
      <Toolbar lesson={l} status={status}>
        <Choice
          label="model"
          value={l.settings.model}
          options={["skipgram", "cbow"]}
          onChange={(model) => l.set({ model })}
        />
        <NumberField label="dim" value={l.settings.dim} onChange={(dim) => l.set({ dim })} step={1} />
        <NumberField
          label="window"
          value={l.settings.window}
          onChange={(window) => l.set({ window })}
          step={1}
        />
        <NumberField
          label="epochs"
          value={l.settings.epochs}
          onChange={(epochs) => l.set({ epochs })}
          step={1}
        />
        <NumberField label="lr" value={l.settings.lr} onChange={(lr) => l.set({ lr })} />
      </Toolbar>
      <details class="text">
        <summary>Train on your own text</summary>
        <textarea
          name="text"
          rows={6}
          value={draft}
          placeholder="Paste a few thousand words; empty uses the sample."
          onInput={(e) => setDraft((e.target as HTMLTextAreaElement).value)}
        />
        <button type="button" onClick={() => l.set({ text: draft })}>Use this text</button>
      </details>
      <div class="figures">
        <Figure label="loss by step" options={linesOf({ loss: f.losses }, "step", "loss per example")} />
        <Figure
          label="PCA map of the word vectors"
          options={{
            x: { label: "PC 1" },
            y: { label: "PC 2" },
            color: { legend: true },
            marks: [
              Plot.dot(f.map, { x: "x", y: "y", fill: "kind", r: 3 }),
              Plot.text(f.map, { x: "x", y: "y", text: "word", dy: -7, fontSize: 10 }),
            ],
          }}
        />
      </div>
      <table class="neighbours">
        <thead>
          <tr>
            <th>word</th>
            <th>nearest neighbours (cosine)</th>
          </tr>
        </thead>
        <tbody>
          {f.neighbours.map((n) => (
            <tr key={n.word}>
              <td>{n.word}</td>
              <td>{n.near.map(([w, s]) => `${w} ${s.toFixed(2)}`).join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
