/**
 * Island: a bigram model, Bengio's neural LM and a GRU LM on the same text: perplexity and samples.
 * @module
 */
import type { LmFrame, LmSettings } from "../lessons/language_models.ts";
import { Figure, linesOf } from "./plots.tsx";
import { NumberField, Toolbar, useReady } from "./ui.tsx";
import { type LessonProps, useLesson } from "./use_lesson.ts";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import LanguageModels from "./LanguageModels.tsx";
 * import { languageModels } from "../lessons/language_models.ts";
 * const first = { step: 0, perplexity: { bigram: 9, neural: [], rnn: [] }, samples: { bigram: "a", neural: "b", rnn: "c" }, done: false };
 * if (!render(<LanguageModels slug="language-models" defaults={languageModels.defaults} limits={{}} first={first} />).includes("bigram")) throw new Error();
 * ```
 */
export default function LanguageModels(props: LessonProps<LmSettings, LmFrame>) {
  const l = useLesson(props);
  const ref = useReady();
  const f = l.frame;
  const steps = f.perplexity.neural.map(([s]) => s);
  const bigram = (steps.length ? steps : [0]).map((s) => [s, f.perplexity.bigram] as [number, number]);
  return (
    <div ref={ref}>
      <Toolbar lesson={l} status={`step ${f.step}`}>
        <NumberField
          label="context"
          value={l.settings.context}
          onChange={(context) => l.set({ context })}
          step={1}
        />
        <NumberField
          label="hidden"
          value={l.settings.hidden}
          onChange={(hidden) => l.set({ hidden })}
          step={1}
        />
        <NumberField
          label="steps"
          value={l.settings.steps}
          onChange={(steps) => l.set({ steps })}
          step={10}
        />
      </Toolbar>
      <div class="figures">
        <Figure
          label="held-out perplexity"
          options={linesOf(
            { bigram, "neural LM": f.perplexity.neural, "GRU LM": f.perplexity.rnn },
            "step",
            "perplexity",
            { logY: true, xDomain: [0, l.settings.steps] },
          )}
        />
        <table class="samples">
          <thead>
            <tr>
              <th>model</th>
              <th>perplexity</th>
              <th>a sample</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td>bigram</td>
              <td>{f.perplexity.bigram.toFixed(2)}</td>
              <td>{f.samples.bigram}</td>
            </tr>
            <tr>
              <td>neural LM</td>
              <td>{f.perplexity.neural.at(-1)?.[1].toFixed(2)}</td>
              <td>{f.samples.neural}</td>
            </tr>
            <tr>
              <td>GRU LM</td>
              <td>{f.perplexity.rnn.at(-1)?.[1].toFixed(2)}</td>
              <td>{f.samples.rnn}</td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}
