/**
 * Island: gradient descent fitting a curve, with its loss curve.
 * @module
 */
import type { DescentFrame, DescentSettings } from "../lessons/descent.ts";
import { Figure, linesOf } from "./plots.tsx";
import { NumberField, Toolbar, useReady } from "./ui.tsx";
import * as Plot from "@observablehq/plot";
import { type LessonProps, useLesson } from "./use_lesson.ts";

/**
 * The island.
 *
 * @example
 * ```tsx
 * import { render } from "preact-render-to-string";
 * import Descent from "./Descent.tsx";
 * const first = { step: 0, losses: [[0, 1]] as [number, number][], xs: [0], target: [0], fit: [0] };
 * const html = render(<Descent slug="networks" defaults={{ hidden: 4, lr: 0.1, steps: 10, seed: 0 }} limits={{}} first={first} />);
 * if (!html.includes("Run live")) throw new Error();
 * ```
 */
export default function Descent(props: LessonProps<DescentSettings, DescentFrame>) {
  const l = useLesson(props);
  const ref = useReady();
  const f = l.frame;
  const fit = f.xs.map((x, i) => ({ x, target: f.target[i], fit: f.fit[i] }));
  return (
    <div ref={ref}>
      <Toolbar lesson={l} status={`step ${f.step}, loss ${f.losses.at(-1)?.[1].toFixed(4)}`}>
        <NumberField
          label="hidden"
          value={l.settings.hidden}
          onChange={(hidden) => l.set({ hidden })}
          step={1}
        />
        <NumberField label="lr" value={l.settings.lr} onChange={(lr) => l.set({ lr })} />
        <NumberField
          label="steps"
          value={l.settings.steps}
          onChange={(steps) => l.set({ steps })}
          step={10}
        />
      </Toolbar>
      <div class="figures">
        <Figure
          label="loss by step"
          options={linesOf({ loss: f.losses }, "step", "mean squared error", {
            logY: true,
            xDomain: [0, l.settings.steps],
          })}
        />
        <Figure
          label="the target and the network's fit"
          options={{
            x: { label: "x" },
            y: { label: "y", grid: true },
            marks: [
              Plot.dot(fit, { x: "x", y: "target", r: 2, fill: "#888" }),
              Plot.line(fit, { x: "x", y: "fit", stroke: "#d62728" }),
            ],
          }}
        />
      </div>
    </div>
  );
}
