/**
 * Island: similarity matrices of one-hot and of learned word vectors, side by side.
 * @module
 */
import type { OneHotFrame, OneHotSettings } from "../lessons/onehot.ts";
import { Figure, heatmapOf } from "./plots.tsx";
import { TextField, Toolbar, useReady } from "./ui.tsx";
import { type LessonProps, useLesson } from "./use_lesson.ts";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import OneHot from "./OneHot.tsx";
 * const first = { words: ["a"], oneHot: [[1]], learned: [[1]], step: 0, done: false };
 * if (!render(<OneHot slug="onehot" defaults={{ words: "a", epochs: 1, seed: 0 }} limits={{}} first={first} />).includes("words")) throw new Error();
 * ```
 */
export default function OneHot(props: LessonProps<OneHotSettings, OneHotFrame>) {
  const l = useLesson(props);
  const ref = useReady();
  const f = l.frame;
  return (
    <div ref={ref}>
      <Toolbar lesson={l} status={`step ${f.step}`}>
        <TextField label="words" value={l.settings.words} onChange={(words) => l.set({ words })} />
      </Toolbar>
      <div class="figures">
        <figure>
          <figcaption>One-hot: cosine similarity</figcaption>
          <Figure
            label="one-hot similarity"
            options={heatmapOf(f.oneHot, f.words, f.words, { domain: [-1, 1], scheme: "rdbu" })}
          />
        </figure>
        <figure>
          <figcaption>Learned (word2vec): cosine similarity</figcaption>
          <Figure
            label="learned similarity"
            options={heatmapOf(f.learned, f.words, f.words, { domain: [-1, 1], scheme: "rdbu" })}
          />
        </figure>
      </div>
    </div>
  );
}
