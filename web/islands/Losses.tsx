/**
 * Island: squared error and cross-entropy, and their gradients, against the probability of the true class.
 * @module
 */
import type { LossesFrame, LossesSettings } from "../lessons/losses.ts";
import { Figure, linesOf } from "./plots.tsx";
import { NumberField, Toolbar, useReady } from "./ui.tsx";
import { type LessonProps, useLesson } from "./use_lesson.ts";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import Losses from "./Losses.tsx";
 * const first = { p: [0.5], squared: [0.3], crossEntropy: [0.7], dSquared: [-0.2], dCrossEntropy: [-0.5] };
 * if (!render(<Losses slug="losses" defaults={{ classes: 4, points: 5 }} limits={{}} first={first} />).includes("classes")) throw new Error();
 * ```
 */
export default function Losses(props: LessonProps<LossesSettings, LossesFrame>) {
  const l = useLesson(props);
  const ref = useReady();
  const f = l.frame;
  const zip = (ys: number[]) => f.p.map((p, i) => [p, ys[i]] as [number, number]);
  return (
    <div ref={ref}>
      <Toolbar lesson={l} status={`${l.settings.classes} classes`}>
        <NumberField
          label="classes"
          value={l.settings.classes}
          onChange={(classes) => l.set({ classes })}
          step={1}
        />
      </Toolbar>
      <div class="figures">
        <Figure
          label="both losses"
          options={linesOf(
            { "squared error": zip(f.squared), "cross-entropy": zip(f.crossEntropy) },
            "p(true class)",
            "loss",
          )}
        />
        <Figure
          label="their gradients"
          options={linesOf(
            { "squared error": zip(f.dSquared), "cross-entropy": zip(f.dCrossEntropy) },
            "p(true class)",
            "d loss / d true logit",
          )}
        />
      </div>
    </div>
  );
}
