"""GAN games as pure functions of discriminator logits (log-space, nothing saturates to log 0).

With D(x) = sigmoid(l(x)): log D = -softplus(-l) and log(1 - D) = -softplus(l).
Each game pairs a D loss (minimised by D) with a G loss (minimised by G).
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp


def minimax_d_loss(*, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """-V(D, G) of Eq. 1: E[softplus(-l_real)] + E[softplus(l_fake)]."""
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def minimax_g_loss(*, fake_logits: jax.Array) -> jax.Array:
    """The G side of Eq. 1: E[log(1 - D(G(z)))] = -E[softplus(l_fake)]; d/dl = -sigmoid(l).

    Saturates when D rejects G's samples (l_fake << 0), as Sec. 3 of the paper warns.
    """
    return -jnp.mean(jax.nn.softplus(fake_logits))


def nonsaturating_g_loss(*, fake_logits: jax.Array) -> jax.Array:
    """Sec. 3's alternative: maximise log D(G(z)), i.e. E[softplus(-l_fake)]; d/dl = sigmoid(l) - 1.

    Same fixed point as the minimax game, strong gradients early in training.
    """
    return jnp.mean(jax.nn.softplus(-fake_logits))


class Game(NamedTuple):
    d_loss: Callable[..., jax.Array]
    g_loss: Callable[..., jax.Array]


GAMES = {
    "minimax": Game(d_loss=minimax_d_loss, g_loss=minimax_g_loss),
    "nonsaturating": Game(d_loss=minimax_d_loss, g_loss=nonsaturating_g_loss),
}


def get_game(name: str) -> Game:
    if name not in GAMES:
        raise ValueError(f"unknown game {name!r}; choose one of: {', '.join(GAMES)}")
    return GAMES[name]
