r"""Trains the shipped MNIST classifier (gan_jax/metrics/classifier.py) and writes its weights.

python experiments/scripts/train_classifier.py [--dataset=fashion_mnist] [--source=tfds --data_dir=DIR]

Seeded and deterministic: Adam on the 50k training images only (the 10k validation images are
for monitoring), batch 128, lr 1e-3 cosine-decayed to 0, random shifts of up to ±2 pixels, dropout
0.25 on the features. Prints the test accuracy on the 10k test images, then writes
gan_jax/metrics/assets/mnist_classifier.msgpack and prints its SHA-256, to paste into
``classifier.WEIGHTS_SHA256[dataset]``.

Result (2 shared CPU cores, jax 0.10.2 / flax 0.12.8; 225,034 parameters, ~50 s an epoch, 11 min in
all): validation accuracy 99.27 % after epoch 12 (99.30 % at best, epoch 9), test accuracy 99.42 %
(9,942 / 10,000); a 900,380-byte file with SHA-256
c41258a1d0c920230f433a250a0cd08b819456fadf9e4fbc8c370d3cb9f61076, bit-identical over two runs.

Fashion-MNIST (``--dataset=fashion_mnist``, the same recipe; jax 0.10.1, 2 CPU cores shared with other
jobs, 548 s): validation accuracy 90.47 % after epoch 12, test accuracy 90.21 % (9,021 / 10,000); SHA-256
bd6622aae28c7ad74bd6a3dbb636085d33581d27ffa2fc381fac43fa51f0f2b5. Its log is
experiments/results/classifiers/fashion_mnist_train.log.
"""

import hashlib
import os
import sys
import time

import flax.serialization
import jax
import jax.numpy as jnp
import optax
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from gan_jax import config as config_lib  # noqa: E402
from gan_jax.data import datasets  # noqa: E402
from gan_jax.metrics import classifier  # noqa: E402

_EPOCHS = flags.DEFINE_integer("epochs", 12, "Passes over the 50k training images.")
_BATCH = flags.DEFINE_integer("batch_size", 128, "Minibatch size (the tail of each epoch is dropped).")
_LR = flags.DEFINE_float("lr", 1e-3, "Peak Adam learning rate, cosine-decayed to 0 over training.")
_SHIFT = flags.DEFINE_integer("max_shift", 2, "Random shifts of up to this many pixels (0: none).")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the initialisation, shuffles, shifts and dropout.")
_DATASET = flags.DEFINE_enum(
    "dataset", "mnist", list(classifier.WEIGHTS_SHA256), "Which dataset's classifier to train."
)
_SOURCE = flags.DEFINE_string("source", None, "config.data.source (default: the dataset's default).")
_DATA_DIR = flags.DEFINE_string("data_dir", "", "config.data.dir ('': the source's default).")
_OUT = flags.DEFINE_string("out", None, "Where the msgpack weights go (default: the shipped file's path).")


def _valid_conv(h: jax.Array, k: jax.Array) -> jax.Array:
    return jax.lax.conv_general_dilated(h, k, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))


@jax.custom_vjp
def _conv_fast_grad(h, k):
    return _valid_conv(h, k)


def _conv_fwd(h, k):
    return _valid_conv(h, k), (h, k)


def _conv_bwd(res, g):
    """XLA's input gradient; the kernel gradient as one im2col matmul (about 3× faster on CPU)."""
    h, k = res
    kh, kw, c, o = k.shape
    height, width = g.shape[1], g.shape[2]
    cols = jnp.concatenate([h[:, i : i + height, j : j + width] for i in range(kh) for j in range(kw)], -1)
    dk = cols.reshape(-1, kh * kw * c).T @ g.reshape(-1, o)
    return jax.vjp(lambda h: _valid_conv(h, k), h)[1](g)[0], dk.reshape(k.shape)


_conv_fast_grad.defvjp(_conv_fwd, _conv_bwd)


def cpu_conv(
    lhs, rhs, window_strides, padding, *, lhs_dilation=None, rhs_dilation=None, feature_group_count=1, **_
):
    """``lax.conv_general_dilated`` as ``nn.Conv`` calls it, for the stride-1 'VALID' convolutions only."""
    plain = all(d in (None, (1, 1)) for d in (lhs_dilation, rhs_dilation)) and feature_group_count == 1
    if tuple(window_strides) != (1, 1) or padding != "VALID" or not plain:
        raise ValueError("cpu_conv supports only stride-1, undilated, ungrouped 'VALID' convolutions")
    return _conv_fast_grad(lhs, rhs)


def random_shift(key: jax.Array, x: jax.Array, max_shift: int) -> jax.Array:
    """Each flat image moved by its own (dy, dx) in [-max_shift, max_shift]², zero-filled."""
    if max_shift == 0:
        return x
    n = x.shape[0]
    padded = jnp.pad(x.reshape(n, 28, 28), ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    offsets = jax.random.randint(key, (n, 2), 0, 2 * max_shift + 1)
    crop = jax.vmap(lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1]), (28, 28)))
    return crop(padded, offsets).reshape(n, 784)


def make_epoch(model, tx, x_train, y_train, batch_size: int, max_shift: int):
    """A jitted epoch: (params, opt_state, key, epoch) -> (params, opt_state, mean loss)."""
    steps = x_train.shape[0] // batch_size

    def loss_fn(params, x, y, key):
        _, logits = model.apply({"params": params}, x, train=True, rngs={"dropout": key})
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def step(carry, inputs):
        params, opt_state = carry
        idx, key = inputs
        shift_key, dropout_key = jax.random.split(key)
        x = random_shift(shift_key, x_train[idx], max_shift)
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y_train[idx], dropout_key)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    @jax.jit
    def epoch_fn(params, opt_state, key, epoch):
        key = jax.random.fold_in(key, epoch)
        perm_key, steps_key = jax.random.split(key)
        perm = jax.random.permutation(perm_key, x_train.shape[0])[: steps * batch_size]
        inputs = (perm.reshape(steps, batch_size), jax.random.split(steps_key, steps))
        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), inputs)
        return params, opt_state, losses.mean()

    return epoch_fn


def accuracy(params, x, y) -> float:
    _, probs = classifier.features_and_probs(params, x)
    return float((probs.argmax(-1) == y).mean())


def main(argv):
    del argv
    data_config = config_lib.data_config(_DATASET.value)
    data_config.source = _SOURCE.value or data_config.source
    data_config.dir = _DATA_DIR.value
    splits = datasets.load_dataset(data_config)
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = (splits[k] for k in ("train", "valid", "test"))
    model = classifier.Classifier(conv=cpu_conv)
    init_key, train_key = jax.random.split(jax.random.PRNGKey(_SEED.value))
    params = model.init(init_key, jnp.zeros((1, 784), jnp.float32))["params"]
    num_params = sum(p.size for p in jax.tree.leaves(params))
    steps = x_train.shape[0] // _BATCH.value
    tx = optax.adam(optax.cosine_decay_schedule(_LR.value, _EPOCHS.value * steps))
    opt_state = tx.init(params)
    epoch_fn = make_epoch(model, tx, jnp.asarray(x_train), jnp.asarray(y_train), _BATCH.value, _SHIFT.value)
    print(f"{num_params:,} parameters; {_EPOCHS.value} epochs of {steps} steps", flush=True)
    start = time.time()
    for epoch in range(_EPOCHS.value):
        params, opt_state, loss = epoch_fn(params, opt_state, train_key, epoch)
        valid = accuracy(params, x_valid, y_valid)
        print(
            f"epoch {epoch + 1}: train loss {float(loss):.4f}, valid acc {valid:.4%}, "
            f"{time.time() - start:.0f} s",
            flush=True,
        )
    params = jax.device_get(params)
    print(f"test accuracy {accuracy(params, x_test, y_test):.4%} (10k test images)")
    payload = flax.serialization.msgpack_serialize(params)
    out = _OUT.value or classifier.weights_path(_DATASET.value)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "wb") as f:
        f.write(payload)
    print(f"wrote {out} ({len(payload):,} bytes) in {time.time() - start:.0f} s")
    print(f"SHA-256 {hashlib.sha256(payload).hexdigest()}")


if __name__ == "__main__":
    app.run(main)
