"""Scores a nanoGPT checkpoint the way `deno task train --recipe nanogpt-shakespeare-char` scores Loom's model.

nanoGPT prints a validation loss estimated from `eval_iters` random batches (20 in its CPU configuration);
Loom reports the mean over the whole validation text cut into consecutive chunks of `block_size`. This prints
both for one checkpoint: the whole-text mean, and the spread of nanoGPT's own estimator over many seeds.

Usage (a nanoGPT checkout whose data/shakespeare_char/prepare.py has run, PyTorch installed):
    python tests/bench/nanogpt_full_eval.py NANOGPT_DIR OUT_DIR [SEEDS]
"""
import os
import sys

import numpy as np
import torch

nanogpt, out = sys.argv[1], sys.argv[2]
seeds = int(sys.argv[3]) if len(sys.argv) > 3 else 100
sys.path.insert(0, nanogpt)
from model import GPT, GPTConfig  # noqa: E402 (nanoGPT's own model file)

checkpoint = torch.load(os.path.join(nanogpt, out, "ckpt.pt"), map_location="cpu")
model = GPT(GPTConfig(**checkpoint["model_args"]))
model.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in checkpoint["model"].items()})
model.eval()
val_path = os.path.join(nanogpt, "data", "shakespeare_char", "val.bin")
val = np.memmap(val_path, dtype=np.uint16, mode="r").astype(np.int64)
block = checkpoint["model_args"]["block_size"]

with torch.no_grad():
    chunks = (len(val) - 1) // block
    x = torch.from_numpy(val[: chunks * block].reshape(chunks, block))
    y = torch.from_numpy(val[1 : chunks * block + 1].reshape(chunks, block))
    total = 0.0
    for i in range(0, chunks, 256):
        _, loss = model(x[i : i + 256], y[i : i + 256])
        total += loss.item() * len(x[i : i + 256])
    whole = total / chunks

    def estimate(seed: int, batches: int = 20, batch: int = 12) -> float:
        """nanoGPT's estimate_loss: the mean loss of `batches` batches of chunks starting anywhere."""
        generator = torch.Generator().manual_seed(seed)
        losses = []
        for _ in range(batches):
            starts = torch.randint(len(val) - block, (batch,), generator=generator)
            xb = torch.stack([torch.from_numpy(val[s : s + block]) for s in starts])
            yb = torch.stack([torch.from_numpy(val[s + 1 : s + 1 + block]) for s in starts])
            losses.append(model(xb, yb)[1].item())
        return sum(losses) / len(losses)

    estimates = np.array([estimate(seed) for seed in range(seeds)])

print(
    f"iter {checkpoint['iter_num']}: whole validation text {whole:.4f} ({chunks * block} characters); "
    f"nanoGPT's 20-batch estimate over {seeds} seeds: mean {estimates.mean():.4f}, sd {estimates.std():.4f}, "
    f"min {estimates.min():.4f}, max {estimates.max():.4f}, share <= 1.88: {(estimates <= 1.88).mean():.2f}"
)
