"""gan_jax/networks/convolution.py: the canonical-layout convolution gradients (first and second order)
against lax's autodiff in float64, the transposed convolution written as an input-dilated one, the compiled
WGAN-GP DCGAN step's convolutions (all in the layout XLA's CPU backend runs with its library kernels),
and replicas looped or vmapped."""

import re

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import tiny_dcgan_config
from jax import lax

from experiments.configs import dcgan_mnist, paper_mnist
from gan_jax.game import replicas, steps
from gan_jax.game.state import create_state, create_train_state, make_setup
from gan_jax.networks import convolution, models
from gan_jax.training import jitting, validation

NHWC = ("NHWC", "HWIO", "NHWC")

# (input side, kernel, stride, input dilation, kernel dilation, padding, in, out channels), an int
# for both spatial dimensions or an (H, W) pair: DCGAN's D convolutions and G's transposed ones
# (stride-2 'SAME' as input dilation 2), and odd cases: H and W unlike (a rule that mixed them up
# fails), padding beyond the kernel (negative padding in the input gradient), asymmetric padding of
# a transposed convolution
CASES = [
    (28, 4, 2, 1, 1, "SAME", 1, 4),
    (7, 4, 1, 2, 1, ((2, 2), (2, 2)), 6, 4),
    ((9, 7), (3, 2), (2, 1), 1, 1, "VALID", 3, 5),
    (5, 3, 3, 2, 1, ((1, 0), (2, 1)), 2, 2),
    (10, 2, 1, 1, 1, ((3, 0), (0, 2)), 2, 2),
    (4, 4, 1, 2, 1, ((3, 2), (2, 3)), 3, 2),
    (12, 3, 1, 1, 2, "SAME", 2, 3),
    (13, 3, 2, 1, 2, ((1, 2), (0, 1)), 2, 2),
    ((7, 6), 3, 1, (2, 3), (2, 1), ((2, 2), (1, 3)), 2, 2),
    (11, 2, (3, 2), 1, (3, 1), "VALID", 2, 2),
]


def _pair(v) -> tuple[int, int]:
    return tuple(v) if isinstance(v, tuple) else (v, v)


@pytest.fixture
def float64():
    with jax.enable_x64(True):
        yield


@pytest.mark.parametrize("side,kernel,stride,dilation,kernel_dilation,padding,cin,cout", CASES)
def test_value_and_gradients_match_lax_autodiff(
    float64, side, kernel, stride, dilation, kernel_dilation, padding, cin, cout
):
    """The value, both gradients, and the second-order gradients of a gradient penalty
    |d/dx sum tanh(conv(x, w))|^2 (the rule's own convolutions differentiated by the same rule)."""
    rng = np.random.default_rng(_pair(side)[0] * 100 + _pair(kernel)[0])
    x, w = rng.normal(size=(2, *_pair(side), cin)), rng.normal(size=(*_pair(kernel), cin, cout))
    args = dict(
        window_strides=_pair(stride),
        padding=padding,
        lhs_dilation=_pair(dilation),
        rhs_dilation=_pair(kernel_dilation),
        dimension_numbers=NHWC,
    )

    def lax_conv(x, w):
        return lax.conv_general_dilated(x, w, **args)

    def ours(x, w):
        return convolution.conv_general_dilated(x, w, **args)

    want, want_vjp = jax.vjp(lax_conv, x, w)
    got, got_vjp = jax.vjp(ours, x, w)
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    dy = rng.normal(size=want.shape)
    for g, r in zip(got_vjp(dy), want_vjp(dy), strict=True):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-11)

    def penalty(conv, x, w):
        grad_x = jax.grad(lambda x: jnp.sum(jnp.tanh(conv(x, w))))(x)
        return jnp.sum(grad_x**2)

    for g, r in zip(
        jax.grad(penalty, (1, 2))(ours, x, w), jax.grad(penalty, (1, 2))(lax_conv, x, w), strict=True
    ):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-10)
    assert "custom_vjp_call" in str(jax.make_jaxpr(ours)(x, w))


@pytest.mark.parametrize(
    "layout,kwargs",
    [
        ("NCHW", dict()),  # lax's default layout
        ("NHWC", dict(feature_group_count=2)),
        ("NHWC", dict(batch_group_count=2)),
        ("NHWC", dict(preferred_element_type=jnp.float32)),
    ],
)
def test_other_calls_go_to_lax_unchanged(layout, kwargs):
    """Another layout, feature or batch groups, a preferred element type: lax's own convolution (same
    shape, dtype and values), no custom rule."""
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(4, 9, 9, 4)).astype(np.float32), rng.normal(size=(3, 3, 4, 6)).astype(np.float32)
    if "feature_group_count" in kwargs:
        w = w[:, :, :2]
    dims = dict(dimension_numbers=NHWC) if layout == "NHWC" else {}
    if layout == "NCHW":
        x, w = x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1)

    def fn(x, w):
        return convolution.conv_general_dilated(x, w, (1, 1), "SAME", **dims, **kwargs)

    want = lax.conv_general_dilated(x, w, (1, 1), "SAME", **dims, **kwargs)
    got = fn(x, w)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert "custom_vjp_call" not in str(jax.make_jaxpr(fn)(x, w))


def test_padding_string_with_input_dilation_is_refused_as_lax_refuses_it():
    x, w = jnp.zeros((1, 7, 7, 2)), jnp.zeros((4, 4, 2, 3))
    args = ((1, 1), "SAME")
    with pytest.raises(ValueError) as want:
        lax.conv_general_dilated(x, w, *args, lhs_dilation=(2, 2), dimension_numbers=NHWC)
    with pytest.raises(ValueError) as got:
        convolution.conv_general_dilated(x, w, *args, lhs_dilation=(2, 2), dimension_numbers=NHWC)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("kernel,stride", [(4, 2), (3, 2), (3, 1), (2, 3)])
def test_transpose_same_padding_is_conv_transpose(kernel, stride):
    """nn.ConvTranspose(padding='SAME') == nn.Conv of the input dilated by the stride, so padded."""
    x = jnp.asarray(np.random.default_rng(3).normal(size=(2, 5, 5, 3)), jnp.float32)
    transpose = nn.ConvTranspose(4, (kernel, kernel), strides=(stride, stride), padding="SAME")
    variables = transpose.init(jax.random.key(0), x)
    pad = convolution.transpose_same_padding(kernel, stride)
    dilated = nn.Conv(4, (kernel, kernel), padding=(pad, pad), input_dilation=(stride, stride))
    got = dilated.apply(variables, x)
    assert got.shape == (2, 5 * stride, 5 * stride, 4)
    np.testing.assert_allclose(got, transpose.apply(variables, x), rtol=1e-6, atol=1e-6)


def _conv_lines(compiled_text: str) -> list[str]:
    return [line for line in compiled_text.splitlines() if re.search(r"= \S+ convolution\(", line)]


@pytest.fixture(scope="module")
def dcgan():
    images = np.random.default_rng(0).uniform(size=(16, 784)).astype(np.float32)
    # simultaneous updates: the smallest program with every convolution's forward and both gradients
    return images, tiny_dcgan_config(dcgan_mnist, update_scheme="simultaneous")


@pytest.mark.slow  # (the default suite stays under 15 min on 2 cores; `pytest -m slow`)
def test_fused_wgan_gp_dcgan_steps_are_canonical_on_cpu_and_train_as_with_lax(dcgan):
    """In the compiled scan of two WGAN-GP DCGAN-28 steps (the penalty's second-order gradients included)
    every convolution is NHWC/HWIO -> NHWC without a window reversal: the form XLA's CPU backend runs with its
    library kernels (others are naive loops; experiments/reports/BENCHMARKS.md). With lax's autodiff some are
    not. Both give the same parameters and gradient norms (the norms catch a gradient off by a scale, which
    Adam's first updates, ~ -lr sign(g), would hide)."""
    images, config = dcgan
    params, norms = {}, {}
    for impl in ("canonical", "lax"):
        c = config.copy_and_resolve_references()
        c.model.conv_impl, c.game, c.reg.gp_weight = impl, "wasserstein", 10.0
        setup = make_setup(c, len(images))
        state = create_train_state(c, setup, images.mean(0), len(images))
        multi = jax.jit(steps.make_multi_step(steps.make_step(c, setup, len(images)), 2)).lower(state, images)
        compiled = multi.compile()
        lines = _conv_lines(compiled.as_text())
        assert len(lines) >= 20  # forward, both gradients and the penalty's second order, G and D
        canonical = ["dim_labels=b01f_01io->b01f" in line and "rhs_reversal" not in line for line in lines]
        assert all(canonical) if impl == "canonical" else not all(canonical)
        state, metrics = compiled(state, images)
        assert np.isfinite(float(metrics["d_loss"]))
        params[impl] = (state.g_params, state.d_params)
        norms[impl] = np.asarray([metrics["g_grad_norm"], metrics["d_grad_norm"]])
    chex.assert_trees_all_close(params["canonical"], params["lax"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(norms["canonical"], norms["lax"], rtol=1e-4)


def test_auto_modes_on_cpu_and_unknown_values_are_refused():
    dcgan, mlp = dcgan_mnist.get_config(), paper_mnist.get_config()
    assert jax.default_backend() == "cpu"
    assert replicas.mode(dcgan) == "loop" and replicas.mode(mlp) == "vmap"
    assert models.conv_impl(dcgan.model) == "canonical"
    dcgan.replica_mode = "vmap"
    assert replicas.mode(dcgan) == "vmap"
    mlp.replica_mode = "batched"
    with pytest.raises(
        ValueError, match="unknown config.replica_mode 'batched'; choose one of: auto, vmap, loop"
    ):
        validation.validate(mlp)
    dcgan.model.conv_impl = "cudnn"
    with pytest.raises(
        ValueError, match="unknown config.model.conv_impl 'cudnn'; choose one of: auto, canonical, lax"
    ):
        validation.validate(dcgan)


@pytest.mark.slow  # (the default suite stays under 15 min on 2 cores; `pytest -m slow`)
def test_looped_replicas_equal_vmapped_replicas(dcgan):
    """Two DCGAN-28 replicas stepped once in turn or under vmap: the same stacked state (float rounding),
    and the looped program's convolutions are unbatched (no feature groups)."""
    images, config = dcgan
    out = {}
    for mode in ("loop", "vmap"):
        c = config.copy_and_resolve_references()
        c.num_replicas, c.replica_mode = 2, mode
        setup = make_setup(c, len(images))
        state = create_state(c, setup, images.mean(0), len(images))
        train_step = jitting.make_train_step(c, setup, len(images))
        out[mode] = train_step(state, jnp.asarray(images), 1)
        step = steps.make_step(c, setup, len(images))
        replicated = replicas.replicated_step(step, c)
        groups = re.findall(r"feature_group_count=(\d+)", str(jax.make_jaxpr(replicated)(state, images)))
        assert groups and set(groups) == ({"1"} if mode == "loop" else {"2"})
    (loop_state, loop_metrics), (vmap_state, vmap_metrics) = out["loop"], out["vmap"]
    assert int(loop_state.data_index) == int(vmap_state.data_index) == 1
    assert loop_metrics["d_loss"].shape == vmap_metrics["d_loss"].shape == (2,)
    np.testing.assert_allclose(loop_metrics["d_loss"], vmap_metrics["d_loss"], rtol=1e-4)
    # every part of the state: parameters, optimizer moments, both batch-norm states, the counters,
    # the shuffles and the keys (exact), the parameters within float rounding
    for field in ("step", "data_perm", "nonfinite_step"):
        np.testing.assert_array_equal(getattr(loop_state, field), getattr(vmap_state, field))
    np.testing.assert_array_equal(jax.random.key_data(loop_state.rng), jax.random.key_data(vmap_state.rng))
    floats = ("g_params", "d_params", "g_opt_state", "d_opt_state", "g_state", "d_state")
    chex.assert_trees_all_close(
        *[tuple(getattr(s, f) for f in floats) for s in (loop_state, vmap_state)], rtol=1e-4, atol=1e-6
    )
    assert not np.allclose(loop_metrics["d_loss"][0], loop_metrics["d_loss"][1])
