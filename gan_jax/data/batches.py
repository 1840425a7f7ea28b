"""Batches drawn on device: ``next_batch_indices`` maps a global batch counter to a deterministic
per-epoch permutation; the counter and the epoch's permutation live in the train state."""

import jax
import jax.numpy as jnp


def epoch_permutation(data_key: jax.Array, epoch, num_examples: int) -> jax.Array:
    """The shuffle of epoch ``epoch``: permutation(fold_in(data_key, epoch))."""
    return jax.random.permutation(jax.random.fold_in(data_key, epoch), num_examples).astype(jnp.int32)


def next_batch_indices(data_key, perm, batch_counter, num_examples: int, batch_size: int):
    """Indices of minibatch number ``batch_counter`` (0, 1, ...) and the epoch's permutation.

    Epoch e = counter // (N // B) reads ``epoch_permutation(data_key, e)`` in order; the tail
    that does not fill a batch is dropped, as in pylearn2's iterator. The permutation (costly:
    a sort of N keys) is carried in the train state and redrawn only at an epoch's first batch.
    Returns ``(perm, indices)``.
    """
    per_epoch = num_examples // batch_size
    epoch, pos = jnp.divmod(batch_counter, per_epoch)
    perm = jax.lax.cond(pos == 0, lambda: epoch_permutation(data_key, epoch, num_examples), lambda: perm)
    return perm, jax.lax.dynamic_slice_in_dim(perm, pos * batch_size, batch_size)
