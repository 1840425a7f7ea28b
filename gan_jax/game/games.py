"""GAN games as pure functions of discriminator logits (log-space, nothing saturates to log 0).

With D(x) = sigmoid(l(x)): log D = -softplus(-l) and log(1 - D) = -softplus(l).
Each game pairs a D loss (minimised by D) with a G loss (minimised by G). Calling convention:
``d_loss(real_logits=..., fake_logits=...)`` and ``g_loss(real_logits=..., fake_logits=...)``; games whose
``needs_real_for_g`` is False ignore ``real_logits`` (default None), so ``g_loss(fake_logits=...)`` works.
For games with ``critic=True`` the D output l is an unbounded score, not the logit of a probability.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gan_jax.game import mmd

# --- Goodfellow et al. (2014): the minimax game of Eq. 1 and the non-saturating G of Sec. 3 ---------


def minimax_d_loss(*, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """-V(D, G) of Eq. 1: E[softplus(-l_real)] + E[softplus(l_fake)]."""
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def minimax_g_loss(*, real_logits: jax.Array | None = None, fake_logits: jax.Array) -> jax.Array:
    """The G side of Eq. 1: E[log(1 - D(G(z)))] = -E[softplus(l_fake)]; d/dl = -sigmoid(l).

    Saturates when D rejects G's samples (l_fake << 0), as Sec. 3 of the paper warns.
    """
    del real_logits
    return -jnp.mean(jax.nn.softplus(fake_logits))


def nonsaturating_g_loss(*, real_logits: jax.Array | None = None, fake_logits: jax.Array) -> jax.Array:
    """Sec. 3's alternative: maximise log D(G(z)), i.e. E[softplus(-l_fake)]; d/dl = sigmoid(l) - 1.

    Same fixed point as the minimax game, strong gradients early in training.
    """
    del real_logits
    return jnp.mean(jax.nn.softplus(-fake_logits))


# --- Least squares (LSGAN; Mao et al. 2017, Eq. 2 with a-b-c = 0-1-1) ---------------------------


def least_squares_d_loss(*, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]  (b = 1 for real, a = 0 for fake; D is the raw output)."""
    return 0.5 * jnp.mean(jnp.square(real_logits - 1.0)) + 0.5 * jnp.mean(jnp.square(fake_logits))


def least_squares_g_loss(*, real_logits: jax.Array | None = None, fake_logits: jax.Array) -> jax.Array:
    """1/2 E[(D(G(z)) - 1)^2]  (c = 1: G wants its samples coded as real)."""
    del real_logits
    return 0.5 * jnp.mean(jnp.square(fake_logits - 1.0))


# --- Wasserstein (WGAN; Arjovsky et al. 2017) -----------------------------------------------------


def wasserstein_d_loss(*, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """Critic loss E[D(G(z))] - E[D(x)]; its minimum over 1-Lipschitz D is -W_1(p_data, p_g)."""
    return jnp.mean(fake_logits) - jnp.mean(real_logits)


def wasserstein_g_loss(*, real_logits: jax.Array | None = None, fake_logits: jax.Array) -> jax.Array:
    """-E[D(G(z))] (the G-dependent part of W_1's dual)."""
    del real_logits
    return -jnp.mean(fake_logits)


# --- Hinge (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018) ---------------------------------


def hinge_d_loss(*, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


def hinge_g_loss(*, real_logits: jax.Array | None = None, fake_logits: jax.Array) -> jax.Array:
    """-E[D(G(z))] (as in Miyato et al. 2018's SN-GAN)."""
    del real_logits
    return -jnp.mean(fake_logits)


# --- Relativistic average standard GAN (RaSGAN; Jolicoeur-Martineau 2018) -----------------------


def relativistic_average_d_loss(*, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """-E_x[log sigmoid(C(x) - E C(G(z)))] - E_z[log(1 - sigmoid(C(G(z)) - E C(x)))]
    = E[softplus(-(l_real - mean l_fake))] + E[softplus(l_fake - mean l_real)]."""
    return jnp.mean(jax.nn.softplus(jnp.mean(fake_logits) - real_logits)) + jnp.mean(
        jax.nn.softplus(fake_logits - jnp.mean(real_logits))
    )


def relativistic_average_g_loss(*, real_logits: jax.Array | None = None, fake_logits: jax.Array) -> jax.Array:
    """The D loss with real and fake swapped:
    -E_z[log sigmoid(C(G(z)) - E C(x))] - E_x[log(1 - sigmoid(C(x) - E C(G(z))))]
    = E[softplus(mean l_real - l_fake)] + E[softplus(l_real - mean l_fake)]. Needs ``real_logits``."""
    if real_logits is None:
        raise ValueError("the relativistic average G loss needs real_logits")
    return relativistic_average_d_loss(real_logits=fake_logits, fake_logits=real_logits)


# --- Relativistic pairing (RpGAN: Jolicoeur-Martineau 2018's RSGAN; Huang et al. 2024, R3GAN) ----------


def _paired(real_logits: jax.Array | None, fake_logits: jax.Array) -> jax.Array:
    """l_real - l_fake, element i against element i: each real paired with one fake."""
    if real_logits is None:
        raise ValueError("the relativistic pairing losses need real_logits")
    if real_logits.shape != fake_logits.shape:
        raise ValueError(
            f"relativistic pairing pairs each real with one fake: real logits {real_logits.shape} "
            f"and fake logits {fake_logits.shape} must have one shape"
        )
    return real_logits - fake_logits


def relativistic_pairing_d_loss(*, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """-E_{x,z}[log sigmoid(C(x) - C(G(z)))] = E_i[softplus(-(l_real_i - l_fake_i))], the i-th real against
    the i-th fake: R3GAN's RpGAN loss (softplus of the negated paired difference, R3GAN/Trainer.py); not
    the batch means of the relativistic average game."""
    return jnp.mean(jax.nn.softplus(-_paired(real_logits, fake_logits)))


def relativistic_pairing_g_loss(*, real_logits: jax.Array | None = None, fake_logits: jax.Array) -> jax.Array:
    """The D loss with the pair's roles swapped: E_i[softplus(-(l_fake_i - l_real_i))]. Needs
    ``real_logits``, one per fake."""
    return jnp.mean(jax.nn.softplus(_paired(real_logits, fake_logits)))


# --- The other formulations of the 2014 code (goodfeli/adversarial __init__.py) ---------------------
# Each masks or mixes the cross-entropy terms; with D = sigmoid(l), D(x) < 1/2 is l < 0. The masks carry no
# gradient: only the examples they keep move a player.


def thresholded_g_loss(*, real_logits: jax.Array | None = None, fake_logits: jax.Array) -> jax.Array:
    """``ThresholdedAdversaryCost``: the non-saturating loss on the fakes D still rejects (D(G(z)) < 1/2),
    averaged over the whole batch: E[softplus(-l_fake) [l_fake < 0]]."""
    del real_logits
    return jnp.mean(jax.nn.softplus(-fake_logits) * (fake_logits < 0))


def lazy_d_loss(*, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """``LazyAdversaryCost`` (d_eps = 0): D learns only from what it gets wrong, reals with D(x) < 1/2 and
    fakes with D(G(z)) > 1/2: E[softplus(-l_real) [l_real < 0]] + E[softplus(l_fake) [l_fake > 0]]."""
    real = jnp.mean(jax.nn.softplus(-real_logits) * (real_logits < 0))
    return real + jnp.mean(jax.nn.softplus(fake_logits) * (fake_logits > 0))


def blend_g_loss(*, real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """``AdversaryCost2(blend_obj=True)`` at its default coefficients 1 and 1: the mean of the
    non-saturating loss and minus the 2014 code's D objective, (NS - V_D) / 2, V_D = (E softplus(-l_real)
    + E softplus(l_fake)) / 2. Its gradient in the fakes mixes the non-saturating and minimax ones."""
    d_objective = 0.5 * minimax_d_loss(real_logits=real_logits, fake_logits=fake_logits)
    return 0.5 * (nonsaturating_g_loss(fake_logits=fake_logits) - d_objective)


# --- Moment matching (gan_jax/game/mmd.py): the MMD between the samples, or between D's features --------
# Here D's "logits" are what D outputs: the samples themselves for GMMN (no D: the identity), the learned
# features [B, k] for MMD-GAN. The kernel's fields come from ``config.mmd`` (steps bind them).


def gmmn_g_loss(*, real_logits: jax.Array, fake_logits: jax.Array, sigmas=mmd.GMMN_MNIST_SIGMAS) -> jax.Array:
    """GMMN (Li, Swersky & Zemel 2015): sqrt(MMD^2_b(G(z), x)) under the mixture of Gaussians ``sigmas``
    (variances), with GMMN's gradient grad MMD^2_b / (2 sqrt(MMD^2_b) + 1e-10) (``mmd.sqrt_mmd``)."""
    return mmd.sqrt_mmd(fake_logits, real_logits, sigmas)


def mmd_gan_g_loss(
    *,
    real_logits: jax.Array,
    fake_logits: jax.Array,
    sigmas=mmd.MMD_GAN_SIGMAS,
    hinge_weight=mmd.MMD_GAN_HINGE,
) -> jax.Array:
    """MMD-GAN (Li et al. 2017): ``mmd.mmd_gan_loss`` of D's features of the real and fake batches."""
    return mmd.mmd_gan_loss(real_logits, fake_logits, sigmas, hinge_weight)


def mmd_gan_d_loss(
    *,
    real_logits: jax.Array,
    fake_logits: jax.Array,
    sigmas=mmd.MMD_GAN_SIGMAS,
    hinge_weight=mmd.MMD_GAN_HINGE,
) -> jax.Array:
    """D maximises G's objective: -``mmd_gan_g_loss``."""
    return -mmd.mmd_gan_loss(real_logits, fake_logits, sigmas, hinge_weight)


class Game(NamedTuple):
    """A game: its two losses and what a train step must know about it.

    needs_real_for_g: g_loss reads real_logits (the G step must also run D on real data).
    critic: D's output is an unbounded score (Wasserstein-style), not the logit of a probability;
        sigmoid(l) and "D(x) = 1/2" diagnostics mean nothing for it.
    probability: D(x) = sigmoid(l(x)) is D's probability that x is real (the cross-entropy games);
        for the others the training log shows D's raw mean outputs instead.
    needs_lipschitz: the game is only well posed with a Lipschitz-constrained D (see ``constraint``).
    constraint: how to impose it (empty when none is needed).
    fixed_point: the documented equilibrium (optimal D for fixed G, the G optimum, losses there).
    reference: the paper.
    discriminator: the game has a D to train; False (GMMN): G alone, D's state entries None.
    """

    d_loss: Callable[..., jax.Array]
    g_loss: Callable[..., jax.Array]
    needs_real_for_g: bool = False
    critic: bool = False
    probability: bool = False
    needs_lipschitz: bool = False
    constraint: str = ""
    fixed_point: str = ""
    reference: str = ""
    discriminator: bool = True


_GOODFELLOW_FIXED_POINT = (
    "D*(x) = p_data/(p_data + p_g) (Prop. 1); C(G) = -log 4 + 2 JSD(p_data || p_g) is minimised iff "
    "p_g = p_data (Thm. 1), where D* = 1/2, V = -log 4 (D loss log 4)"
)

GAMES = {
    "minimax": Game(
        d_loss=minimax_d_loss,
        g_loss=minimax_g_loss,
        probability=True,
        fixed_point=_GOODFELLOW_FIXED_POINT,
        reference="Goodfellow et al. 2014, Eq. 1",
    ),
    "nonsaturating": Game(
        d_loss=minimax_d_loss,
        g_loss=nonsaturating_g_loss,
        probability=True,
        fixed_point=_GOODFELLOW_FIXED_POINT + "; same fixed point with -log D(G(z)) as G's loss",
        reference="Goodfellow et al. 2014, Sec. 3",
    ),
    "least_squares": Game(
        d_loss=least_squares_d_loss,
        g_loss=least_squares_g_loss,
        fixed_point=(
            "D*(x) = (b p_data + a p_g)/(p_data + p_g) = p_data/(p_data + p_g) for a-b-c = 0-1-1; "
            "p_g = p_data, where D* = 1/2, D loss 1/4, G loss 1/8 (the Pearson chi^2 reading of "
            "Mao et al.'s Thm. 1 needs b - c = 1, b - a = 2, e.g. -1-1-0 coding)"
        ),
        reference="Mao et al. 2017, Least Squares GANs, Eq. 2",
    ),
    "wasserstein": Game(
        d_loss=wasserstein_d_loss,
        g_loss=wasserstein_g_loss,
        critic=True,
        needs_lipschitz=True,
        constraint=(
            "1-Lipschitz critic: weight clipping (regularisers.clip_weights, c = 0.01; Arjovsky et al. 2017) "
            "or gradient penalty (regularisers.gradient_penalty, lambda = 10; Gulrajani et al. 2017)"
        ),
        fixed_point=(
            "D* = argmax over 1-Lipschitz f of E f(x) - E f(G(z)); -D loss at D* = W_1(p_data, p_g), "
            "minimised at p_g = p_data, where D* is constant and the D loss is 0"
        ),
        reference="Arjovsky, Chintala & Bottou 2017, Wasserstein GAN, Eq. 3",
    ),
    "hinge": Game(
        d_loss=hinge_d_loss,
        g_loss=hinge_g_loss,
        critic=True,
        fixed_point=(
            "D*(x) = sign(p_data - p_g) (any value in [-1, 1] where they are equal); the D loss at D* is "
            "2 - 2 TV(p_data, p_g), so p_g = p_data, where the D loss is 2"
        ),
        reference="Lim & Ye 2017, Geometric GAN; Miyato et al. 2018, SN-GAN",
    ),
    "relativistic_average": Game(
        d_loss=relativistic_average_d_loss,
        g_loss=relativistic_average_g_loss,
        needs_real_for_g=True,
        fixed_point=(
            "p_g = p_data (the relativistic divergence is 0 there); with C constant, "
            "sigmoid(C(x) - E C(G(z))) = 1/2 and both losses are 2 log 2"
        ),
        reference="Jolicoeur-Martineau 2018, The relativistic discriminator (RaSGAN)",
    ),
    "relativistic_pairing": Game(
        d_loss=relativistic_pairing_d_loss,
        g_loss=relativistic_pairing_g_loss,
        needs_real_for_g=True,
        fixed_point=(
            "p_g = p_data (Sun et al. 2020: RpGAN's landscape has no mode-dropping local minima; Huang et "
            "al. 2024: with R1 + R2 it converges locally); with C constant, sigmoid(C(x) - C(G(z))) = 1/2 "
            "and both losses are log 2"
        ),
        reference=(
            "Jolicoeur-Martineau 2018, The relativistic discriminator (RSGAN); Huang et al. 2024, "
            "The GAN is dead; long live the GAN! (R3GAN, RpGAN)"
        ),
    ),
    "thresholded": Game(
        d_loss=minimax_d_loss,
        g_loss=thresholded_g_loss,
        probability=True,
        fixed_point=_GOODFELLOW_FIXED_POINT + "; G's loss is 0 there (no fake is rejected at D = 1/2)",
        reference="goodfeli/adversarial, ThresholdedAdversaryCost (the 2014 code)",
    ),
    "lazy": Game(
        d_loss=lazy_d_loss,
        g_loss=thresholded_g_loss,
        probability=True,
        fixed_point=(
            "p_g = p_data with D = 1/2: nothing is misclassified, both losses are 0 (any D that classifies "
            "every example right stops learning: the mask, not the density ratio, decides D)"
        ),
        reference="goodfeli/adversarial, LazyAdversaryCost with d_eps = g_eps = 0 (the 2014 code)",
    ),
    "blend": Game(
        d_loss=minimax_d_loss,
        g_loss=blend_g_loss,
        needs_real_for_g=True,
        probability=True,
        fixed_point=_GOODFELLOW_FIXED_POINT + "; G's blended loss is (log 2 - log 2) / 2 = 0 there",
        reference="goodfeli/adversarial, AdversaryCost2 blend_obj (the 2014 code)",
    ),
    "gmmn": Game(
        d_loss=None,
        g_loss=gmmn_g_loss,
        needs_real_for_g=True,
        fixed_point=(
            "no D; MMD^2 with a characteristic kernel is 0 iff p_g = p_data (Gretton et al. 2012, Thm. 5), "
            "where G's loss is 0 (up to the minibatch estimate's bias)"
        ),
        reference="Li, Swersky & Zemel 2015, Generative moment matching networks",
        discriminator=False,
    ),
    "autoencoder": Game(
        d_loss=None,
        g_loss=None,
        fixed_point="no D: G is an autoencoder minimising its reconstructions' cross-entropy",
        reference="Li, Swersky & Zemel 2015, GMMN+AE's autoencoder",
        discriminator=False,
    ),
    "mmd_gan": Game(
        d_loss=mmd_gan_d_loss,
        g_loss=mmd_gan_g_loss,
        needs_real_for_g=True,
        critic=True,
        needs_lipschitz=True,
        constraint="weight clipping of D's feature map to [-0.01, 0.01] (Li et al. 2017, their code)",
        fixed_point=(
            "min over G of max over the features f of MMD^2(f(x), f(G(z))); p_g = p_data makes it 0 for "
            "every f, where both losses are 0"
        ),
        reference="Li, Chang, Cheng, Yang & Poczos 2017, MMD GAN",
    ),
}


def get_game(name: str) -> Game:
    if name not in GAMES:
        raise ValueError(f"unknown game {name!r}; choose one of: {', '.join(GAMES)}")
    return GAMES[name]
