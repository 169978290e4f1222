/**
 * Island: the sinusoidal position table, and attention with and without positions.
 * @module
 */
import type { PositionalFrame, PositionalSettings } from "../lessons/positional.ts";
import { Figure, heatmapOf, linesOf } from "./plots.tsx";
import { TextField, Toolbar, useReady } from "./ui.tsx";
import { type LessonProps, useLesson } from "./use_lesson.ts";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import Positional from "./Positional.tsx";
 * import { positional } from "../lessons/positional.ts";
 * const first = { table: [[0, 1]], step: 0, losses: { with: [], without: [] }, words: ["a"], maps: { with: [[1]], without: [[1]] }, done: false };
 * if (!render(<Positional slug="positional" defaults={positional.defaults} limits={{}} first={first} />).includes("sentence")) throw new Error();
 * ```
 */
export default function Positional(props: LessonProps<PositionalSettings, PositionalFrame>) {
  const l = useLesson(props);
  const ref = useReady();
  const f = l.frame;
  const positions = f.table.map((_, i) => String(i));
  const dims = (f.table[0] ?? []).map((_, j) => String(j));
  return (
    <div ref={ref}>
      <Toolbar lesson={l} status={`step ${f.step}`}>
        <TextField
          label="sentence"
          value={l.settings.sentence}
          onChange={(sentence) => l.set({ sentence })}
        />
      </Toolbar>
      <div class="figures">
        <figure>
          <figcaption>Sinusoidal table: position (rows) by feature (columns)</figcaption>
          <Figure
            label="sinusoidal positions"
            options={heatmapOf(f.table, positions, dims, { domain: [-1, 1], scheme: "rdbu" })}
          />
        </figure>
        <figure>
          <figcaption>Attention with positions (mean over heads)</figcaption>
          <Figure
            label="attention with positions"
            options={heatmapOf(f.maps.with, f.words, f.words, { domain: [0, 1] })}
          />
        </figure>
        <figure>
          <figcaption>Attention without positions</figcaption>
          <Figure
            label="attention without positions"
            options={heatmapOf(f.maps.without, f.words, f.words, { domain: [0, 1] })}
          />
        </figure>
        {f.losses.with.length > 0 && (
          <Figure
            label="training loss"
            options={linesOf(
              { "with positions": f.losses.with, "without": f.losses.without },
              "step",
              "cross-entropy",
            )}
          />
        )}
      </div>
    </div>
  );
}
