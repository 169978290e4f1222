/**
 * Island: each head's attention weights over a sentence the visitor types.
 * @module
 */
import type { AttentionFrame, AttentionSettings } from "../lessons/attention.ts";
import { Figure, heatmapOf, linesOf } from "./plots.tsx";
import { Choice, NumberField, TextField, Toolbar, useReady } from "./ui.tsx";
import { type LessonProps, useLesson } from "./use_lesson.ts";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import Attention from "./Attention.tsx";
 * import { attention } from "../lessons/attention.ts";
 * const first = { step: 0, losses: [], words: ["the"], heads: [[[1]]], done: false };
 * if (!render(<Attention slug="attention" defaults={attention.defaults} limits={{}} first={first} />).includes("sentence")) throw new Error();
 * ```
 */
export default function Attention(props: LessonProps<AttentionSettings, AttentionFrame>) {
  const l = useLesson(props);
  const ref = useReady();
  const f = l.frame;
  return (
    <div ref={ref} data-words={f.words.join(" ")}>
      <Toolbar
        lesson={l}
        status={`step ${f.step}` + (f.losses.length ? `, loss ${f.losses.at(-1)![1].toFixed(3)}` : "")}
      >
        <TextField
          label="sentence"
          value={l.settings.sentence}
          onChange={(sentence) => l.set({ sentence })}
          live
        />
        <NumberField label="heads" value={l.settings.heads} onChange={(heads) => l.set({ heads })} step={1} />
        <Choice
          label="positions"
          value={l.settings.positions}
          options={["sinusoidal", "none"]}
          onChange={(positions) => l.set({ positions })}
        />
      </Toolbar>
      <div class="figures">
        {f.heads.map((head, h) => (
          <figure key={h}>
            <figcaption>head {h + 1}: row = the word attending, column = the word attended to</figcaption>
            <Figure
              label={`attention of head ${h + 1}`}
              options={heatmapOf(head, f.words, f.words, { domain: [0, 1] })}
            />
          </figure>
        ))}
        {f.losses.length > 0 && (
          <Figure
            label="training loss"
            options={linesOf({ loss: f.losses }, "step", "cross-entropy", { xDomain: [0, l.settings.steps] })}
          />
        )}
      </div>
    </div>
  );
}
