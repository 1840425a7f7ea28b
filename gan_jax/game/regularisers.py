"""GAN regularisers and training tricks as pure functions, independent of Flax.

Penalties take ``critic(x) -> logits [B]``: a closure the caller makes over D's params (and its dropout key),
so that ``jax.grad`` of a penalty w.r.t. those params is double backprop through the input gradient.
The input gradient of example i is read off ``grad_x sum_i critic(x)_i``, which is per-example only if D
treats examples independently (no batch norm or minibatch features across the batch); that holds here.
Penalties are returned unweighted: the caller multiplies by its lambda / gamma.
"""

from collections.abc import Callable

import chex
import jax
import jax.numpy as jnp
import optax

Critic = Callable[[jax.Array], jax.Array]


def _input_grad_norms(critic: Critic, x: jax.Array) -> jax.Array:
    """||grad_x D(x_i)||_2 per example, [B]; the norm has a zero (not NaN) gradient at 0."""
    logits = critic(x)
    chex.assert_shape(logits, (x.shape[0],))
    grads = jax.grad(lambda v: jnp.sum(critic(v)))(x)
    return optax.safe_norm(grads.reshape(x.shape[0], -1), 0.0, axis=1)


def _input_grad_sq_norms(critic: Critic, x: jax.Array) -> jax.Array:
    """||grad_x D(x_i)||_2^2 per example, [B] (no square root, smooth everywhere)."""
    chex.assert_shape(critic(x), (x.shape[0],))
    grads = jax.grad(lambda v: jnp.sum(critic(v)))(x)
    return jnp.sum(jnp.square(grads.reshape(x.shape[0], -1)), axis=1)


def _norm_penalty(norms: jax.Array, target: float, one_sided: bool) -> jax.Array:
    gap = norms - target
    return jnp.mean(jnp.square(jax.nn.relu(gap) if one_sided else gap))


def _per_example(key: jax.Array, x: jax.Array) -> jax.Array:
    """u ~ U[0, 1], one per example, shaped [B, 1, ..., 1] to broadcast against x."""
    return jax.random.uniform(key, (x.shape[0],) + (1,) * (x.ndim - 1), x.dtype)


def gradient_penalty(
    critic: Critic,
    x_real: jax.Array,
    x_fake: jax.Array,
    key: jax.Array,
    target: float = 1.0,
    one_sided: bool = False,
) -> jax.Array:
    """WGAN-GP (Gulrajani et al. 2017, Eq. 3): E[(||grad D(x_hat)||_2 - target)^2] at
    x_hat = eps x + (1 - eps) x_fake, eps ~ U[0, 1] per example.
    ``one_sided``: E[max(0, ||grad|| - target)^2] (discussed in Gulrajani et al. Sec. 4; WGAN-LP,
    Petzka et al. 2018). The paper uses lambda = 10 with the Wasserstein game."""
    chex.assert_equal_shape([x_real, x_fake])
    eps = _per_example(key, x_real)
    x_hat = eps * x_real + (1.0 - eps) * x_fake
    return _norm_penalty(_input_grad_norms(critic, x_hat), target, one_sided)


def r1_penalty(critic: Critic, x_real: jax.Array) -> jax.Array:
    """R1 (Mescheder, Geiger & Nowozin 2018, "simplified gradient penalties"):
    E_{p_data}[||grad_x D(x)||_2^2] on real data.
    Mescheder et al.'s regulariser is (gamma / 2) * r1_penalty; the caller applies gamma / 2."""
    return jnp.mean(_input_grad_sq_norms(critic, x_real))


def r2_penalty(critic: Critic, x_fake: jax.Array) -> jax.Array:
    """R2 (Mescheder et al. 2018): E_{p_g}[||grad_x D(x)||_2^2] on G's samples.
    The caller applies gamma / 2."""
    return jnp.mean(_input_grad_sq_norms(critic, x_fake))


def dragan_penalty(
    critic: Critic, x_real: jax.Array, key: jax.Array, c: float = 0.5, target: float = 1.0
) -> jax.Array:
    """DRAGAN (Kodali et al. 2017): E[(||grad D(x_hat)||_2 - target)^2] near the data, the variant of the
    authors' code: delta = c * std(x) * u, u ~ U[0, 1] per element, std over the whole batch;
    x_hat = x + alpha * delta, alpha ~ U[0, 1] per example (the paper writes x + delta, delta ~ N(0, cI));
    the code uses lambda = 10, c = 0.5."""
    k_noise, k_alpha = jax.random.split(key)
    delta = c * jnp.std(x_real) * jax.random.uniform(k_noise, x_real.shape, x_real.dtype)
    x_hat = x_real + _per_example(k_alpha, x_real) * delta
    return _norm_penalty(_input_grad_norms(critic, x_hat), target, one_sided=False)


def clip_weights(params: chex.ArrayTree, c: float) -> chex.ArrayTree:
    """WGAN weight clipping (Arjovsky et al. 2017, Alg. 1): w <- clip(w, -c, c) for every leaf; c = 0.01."""
    return jax.tree.map(lambda w: jnp.clip(w, -c, c), params)


def label_smoothed_d_loss(*, real_logits: jax.Array, fake_logits: jax.Array, alpha: float = 0.0) -> jax.Array:
    """One-sided label smoothing (Salimans et al. 2016, Sec. 3.4) of the minimax D loss,
    real target 1 - alpha: -(1 - alpha) log D(x) - alpha log(1 - D(x)) - log(1 - D(G(z)))
    = E[(1 - alpha) softplus(-l_real) + alpha softplus(l_real)] + E[softplus(l_fake)].
    alpha = 0 is ``games.minimax_d_loss``; 0.1 is typical.
    For fixed G, D* = (1 - alpha) p_data / (p_data + p_g)."""
    real = (1.0 - alpha) * jax.nn.softplus(-real_logits) + alpha * jax.nn.softplus(real_logits)
    return jnp.mean(real) + jnp.mean(jax.nn.softplus(fake_logits))


def ema_update(
    ema_params: chex.ArrayTree,
    params: chex.ArrayTree,
    decay: float,
    step: jax.Array | int,
    start_step: int = 0,
) -> chex.ArrayTree:
    """EMA of G's params (Karras et al. 2018; Yazici et al. 2019): for step < start_step ema = params,
    from step >= start_step on ema <- decay * ema + (1 - decay) * params. jit-safe in ``step``."""
    averaged = optax.incremental_update(params, ema_params, 1.0 - decay)
    warm = jnp.asarray(step) < start_step
    return jax.tree.map(lambda p, a: jnp.where(warm, p, a).astype(a.dtype), params, averaged)


def lazy_scale(step: jax.Array | int, every: int) -> tuple[jax.Array, jax.Array]:
    """Lazy regularisation (StyleGAN2, Karras et al. 2020, Sec. 3.1): apply the penalty on steps with
    step % every == 0, multiplied by ``every`` so its average strength is unchanged.
    Returns (apply: bool [], scale: float [] = every if apply else 0): ``loss + scale * penalty`` is right
    as is; ``jax.lax.cond(apply, ...)`` skips computing the penalty on the other steps."""
    apply = jnp.asarray(step) % every == 0
    return apply, jnp.where(apply, jnp.float32(every), jnp.float32(0.0))
