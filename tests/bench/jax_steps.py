"""JAX's time for the training-step rows of `deno task bench`: the same models, sizes and Adam (optax) as
Loom's rows, one jitted step (forward, backward, update), timed as the median of the calls after warm-up.
Prints one JSON object: workload name -> milliseconds. Run by tests/bench/jax.ts with a python that imports
jax (a venv with jax, jaxlib and optax)."""
import json
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import optax


def glorot(key, shape):
    limit = (6 / (shape[0] + shape[1])) ** 0.5
    return jax.random.uniform(key, shape, minval=-limit, maxval=limit)


def dense(key, n_in, n_out):
    return {"w": glorot(key, (n_in, n_out)), "b": jnp.zeros((n_out,))}


def apply_dense(p, x):
    return x @ p["w"] + p["b"]


def cross_entropy(logits, labels):
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[..., None], axis=-1))


def mlp():
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    params = [dense(keys[0], 784, 512), dense(keys[1], 512, 512), dense(keys[2], 512, 10)]
    x = jax.random.normal(keys[3], (128, 784))
    y = jax.random.randint(keys[3], (128,), 0, 10)

    def loss(p):
        h = jax.nn.relu(apply_dense(p[0], x))
        h = jax.nn.relu(apply_dense(p[1], h))
        return cross_entropy(apply_dense(p[2], h), y)

    return params, loss


def lstm_layer(p, x):
    batch = x.shape[0]
    units = p["wh"].shape[0]
    projected = jnp.einsum("btf,fg->tbg", x, p["wi"]) + p["b"]

    def step(carry, z_x):
        h, c = carry
        z = z_x + h @ p["wh"]
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    zeros = jnp.zeros((batch, units))
    _, hs = jax.lax.scan(step, (zeros, zeros), projected)
    return jnp.transpose(hs, (1, 0, 2))


def lstm():
    vocab, dim, batch, steps = 10_000, 200, 20, 35
    keys = jax.random.split(jax.random.PRNGKey(0), 8)

    def cell(k):
        a, b = jax.random.split(k)
        return {"wi": glorot(a, (dim, 4 * dim)), "wh": glorot(b, (dim, 4 * dim)), "b": jnp.zeros((4 * dim,))}

    params = {
        "embed": jax.random.normal(keys[0], (vocab, dim)) * 0.05,
        "l1": cell(keys[1]),
        "l2": cell(keys[2]),
        "out": dense(keys[3], dim, vocab),
    }
    x = jax.random.randint(keys[4], (batch, steps), 0, vocab)
    y = jax.random.randint(keys[5], (batch, steps), 0, vocab)

    def loss(p):
        h = p["embed"][x]
        h = lstm_layer(p["l2"], lstm_layer(p["l1"], h))
        return cross_entropy(apply_dense(p["out"], h), y)

    return params, loss


def layer_norm(p, x):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + 1e-5) * p["g"] + p["b"]


def transformer():
    layers, heads, dim, block, batch, vocab = 4, 4, 128, 64, 12, 65
    keys = iter(jax.random.split(jax.random.PRNGKey(0), 64))
    norm = lambda: {"g": jnp.ones((dim,)), "b": jnp.zeros((dim,))}
    params = {
        "embed": jax.random.normal(next(keys), (vocab, dim)) * 0.05,
        "pos": jax.random.normal(next(keys), (block, dim)) * 0.02,
        "blocks": [
            {
                "n1": norm(),
                "q": dense(next(keys), dim, dim),
                "k": dense(next(keys), dim, dim),
                "v": dense(next(keys), dim, dim),
                "o": dense(next(keys), dim, dim),
                "n2": norm(),
                "up": dense(next(keys), dim, 4 * dim),
                "down": dense(next(keys), 4 * dim, dim),
            }
            for _ in range(layers)
        ],
        "norm": norm(),
        "out": dense(next(keys), dim, vocab),
    }
    x = jax.random.randint(next(keys), (batch, block), 0, vocab)
    y = jax.random.randint(next(keys), (batch, block), 0, vocab)
    mask = jnp.tril(jnp.ones((block, block), bool))

    def attention(b, h):
        split = lambda t: t.reshape(batch, block, heads, dim // heads).transpose(0, 2, 1, 3)
        q, k, v = (split(apply_dense(b[n], h)) for n in "qkv")
        scores = jnp.where(mask, q @ k.transpose(0, 1, 3, 2) / (dim // heads) ** 0.5, -1e9)
        merged = (jax.nn.softmax(scores, -1) @ v).transpose(0, 2, 1, 3).reshape(batch, block, dim)
        return apply_dense(b["o"], merged)

    def loss(p):
        h = p["embed"][x] + p["pos"]
        for b in p["blocks"]:
            h = h + attention(b, layer_norm(b["n1"], h))
            h = h + apply_dense(b["down"], jax.nn.gelu(apply_dense(b["up"], layer_norm(b["n2"], h)), approximate=False))
        return cross_entropy(apply_dense(p["out"], layer_norm(p["norm"], h)), y)

    return params, loss


def timed(make, calls):
    params, loss = make()
    opt = optax.adam(1e-3, eps=1e-8)
    state = opt.init(params)

    @jax.jit
    def step(p, s):
        value, grads = jax.value_and_grad(loss)(p)
        updates, s = opt.update(grads, s, p)
        return value, optax.apply_updates(p, updates), s

    for _ in range(2):
        value, params, state = step(params, state)
    jax.block_until_ready(params)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        value, params, state = step(params, state)
        jax.block_until_ready((value, params))
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    makers = {"mlp": mlp, "lstm": lstm, "transformer": transformer}
    wanted = [a for a in sys.argv[1:] if a in makers] or list(makers)
    print(json.dumps({name: timed(makers[name], 5 if quick else 15) for name in wanted}))
