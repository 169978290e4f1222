/**
 * `/guide/` and one page per concept of the course: prose, the code that runs, and the live island.
 * @module
 */
import type { VNode } from "preact";
import { Code } from "../components/Code.tsx";
import { Island } from "../components/Island.tsx";
import { Layout } from "../components/Layout.tsx";
import { fixedControls } from "../lessons/lesson.ts";
import { GUIDE, type GuideEntry, lessonNamed } from "../lessons/mod.ts";
import { ISLANDS } from "./islands.ts";

/** What each page says before its island (the course's words, and what to look for). */
const PROSE: Record<string, string[]> = {
  networks: [
    "A neural network is layers of weighted sums and non-linearities. Training moves every parameter a small step against the gradient of the loss: w ← w − lr · ∂loss/∂w.",
    "Here a network with one hidden tanh layer fits a curve. Press “Run live” and watch the loss fall and the fit bend toward the points. Try a larger rate to see it overshoot.",
  ],
  losses: [
    "A loss says how far predictions are from the truth. Squared error is the Euclidean distance between the predicted distribution and the label's one-hot vector; cross-entropy is −log of the probability given to the true class.",
    "Both are plotted for the same predictions, with their gradients with respect to the true class's logit (Loom's grad). Where the model is confidently wrong (p near 0), cross-entropy's gradient stays near −1 while squared error's vanishes: cross-entropy guides learning more stably, which is why classifiers and language models use it.",
  ],
  onehot: [
    "One-hot vectors are fixed by hand: each word is its own axis, so every two distinct words have cosine similarity 0 (exact match only). They are still a useful baseline, and common in recommendation.",
    "Word vectors are learned, and similar words get nearby vectors. Both similarity matrices are over the same words; “Run live” trains word2vec on the sample text and the right-hand matrix grows blocks of related words.",
  ],
  word2vec: [
    "word2vec learns vectors from the company words keep. Skip-gram predicts each context word from the centre word; CBOW predicts the centre word from the mean of its context. Both score the true word against a few negative words drawn from the unigram distribution to the 3/4, and update only the table rows a batch touches.",
    "Train on the bundled sample (sentences from a small grammar of animals, foods, royals, colours, numbers and places), or paste your own text. The map is a 2-D PCA projection of the vectors, rotated each frame to match the last so it does not spin.",
  ],
  "language-models": [
    "A language model gives the probability of the next word. An n-gram model makes the Markov assumption: only the last n−1 words matter, and probabilities are counted (a smoothed bigram here). Bengio's neural LM learns word vectors and the conditional distribution together; an RNN drops the Markov assumption, its hidden state carrying the whole history.",
    "All three learn from the same sentences and are scored by perplexity on held-out ones (lower is better); a sample from each shows what it learned.",
  ],
  attention: [
    "Self-attention matches each word against every word it may see; the softmax of the match scores weights a sum of the words' values, which becomes the word's new representation. It is the core module of the Transformer.",
    "Type a sentence: each head's weights are drawn as a heat map (row: the word attending, column: the word attended to; causal, so only earlier words). The model is a one-layer Transformer LM trained in your browser on the sample text.",
  ],
  positional: [
    "Self-attention ignores word order: permute the words and each word's weights permute with them. A position signal added to each input fixes that. The sinusoidal table gives each position a pattern of sines and cosines at geometrically spaced frequencies.",
    "The same model is trained with and without positions. Without them, repeated words attend identically, wherever they are.",
  ],
  residual: [
    "A residual connection adds an identity path around a block: output = x + f(x). In a deep stack without it, the gradient is multiplied by each layer's Jacobian on its way down and shrinks (it vanishes); with it, each layer gets a gradient of the same order.",
    "Two stacks of tanh layers start from the same weights; the plot shows the norm of each layer's weight gradient, first layer on the left.",
  ],
};

/**
 * The guide's index.
 *
 * @example
 * ```ts
 * import { renderToString } from "preact-render-to-string";
 * import { guideIndex } from "./guide.tsx";
 * if (!renderToString(guideIndex()).includes("/guide/word2vec/")) throw new Error();
 * ```
 */
export function guideIndex(): VNode {
  return (
    <Layout title="Guide" path="/guide/">
      <h1>The guide</h1>
      <p>
        The course Loom is built to teach, concept by concept, in order. Each page explains one idea, shows
        the Loom code behind it, and runs that code live in your browser: a Web Worker trains and streams what
        it sees.
      </p>
      <ol class="lessons">
        {GUIDE.map((g) => (
          <li key={g.lesson.slug}>
            <a href={`/guide/${g.lesson.slug}/`}>{g.title}</a>
            <p>{PROSE[g.lesson.slug][0]}</p>
          </li>
        ))}
      </ol>
    </Layout>
  );
}

const firstFrames = new Map<string, Promise<unknown>>();

/**
 * The lesson's first frame at its default settings, computed once per process (it is cheap by design).
 *
 * @example
 * ```ts
 * import { firstFrame } from "./guide.tsx";
 * import { lessonNamed } from "../lessons/mod.ts";
 * const frame = await firstFrame(lessonNamed("losses")!) as { p: number[] };
 * if (frame.p.length === 0) throw new Error();
 * ```
 */
export function firstFrame(entry: GuideEntry): Promise<unknown> {
  const slug = entry.lesson.slug;
  if (!firstFrames.has(slug)) {
    firstFrames.set(
      slug,
      entry.lesson.run(fixedControls({ ...entry.lesson.defaults }), false).next().then((r) => r.value),
    );
  }
  return firstFrames.get(slug)!;
}

/**
 * A lesson's page, or null for an unknown slug.
 *
 * @example
 * ```ts
 * import { renderToString } from "preact-render-to-string";
 * import { guidePage } from "./guide.tsx";
 * const html = renderToString((await guidePage("networks"))!);
 * if (!html.includes('data-island="Descent"') || !html.includes("export const descent")) throw new Error();
 * if (await guidePage("nope") !== null) throw new Error();
 * ```
 */
export async function guidePage(slug: string): Promise<VNode | null> {
  const entry = lessonNamed(slug);
  if (!entry) return null;
  const index = GUIDE.indexOf(entry);
  const code = await Deno.readTextFile(new URL(`../lessons/${entry.file}`, import.meta.url));
  const { slug: name, defaults, limits, choices } = entry.lesson;
  const props = { slug: name, defaults, limits, choices: choices ?? {}, first: await firstFrame(entry) };
  const [previous, next] = [GUIDE[index - 1], GUIDE[index + 1]];
  return (
    <Layout title={entry.title} path="/guide/" description={PROSE[slug][0]}>
      <p class="crumb">
        <a href="/guide/">Guide</a> · {index + 1} of {GUIDE.length}
      </p>
      <h1>{entry.title}</h1>
      {PROSE[slug].map((p) => <p key={p}>{p}</p>)}
      <Island name={entry.island} component={ISLANDS[entry.island]} props={props} />
      <h2>The code</h2>
      <p>
        This is the file the page runs (in a Web Worker), type-checked and doc-tested with the rest of Loom.
      </p>
      <Code file={`web/lessons/${entry.file}`} code={code} />
      <nav class="pager">
        {previous && <a href={`/guide/${previous.lesson.slug}/`}>← {previous.title}</a>}
        {next && <a href={`/guide/${next.lesson.slug}/`}>{next.title} →</a>}
      </nav>
    </Layout>
  );
}
