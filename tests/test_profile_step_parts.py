"""profile_step_parts models the step it profiles: its list of products is the compiled step's."""

import re

import numpy as np
import pytest

from benchmarks.profile_step_parts import LAYOUTS, matmul_shapes, product
from experiments.configs import paper_mnist
from gan_jax.game import steps
from gan_jax.game.state import create_train_state, make_setup
from gan_jax.training import jitting

_LAYOUT_OF_DIMS = {("1", "0"): "NN", ("1", "1"): "NT", ("0", "0"): "TN"}


def compiled_products(hlo: str) -> list[tuple[int, int, int, str]]:
    """(m, k, n, layout) of every 2-D dot in compiled HLO text, fused computations included."""
    shapes = dict(re.findall(r"(%[\w.-]+) = f32\[([\d,]*)\]", hlo))
    found = []
    pattern = (
        r"= f32\[\d+,\d+\]\S* dot\((%[\w.-]+), (%[\w.-]+)\), "
        r"lhs_contracting_dims=\{(\d)\}, rhs_contracting_dims=\{(\d)\}"
    )
    for lhs, rhs, lc, rc in re.findall(pattern, hlo):
        (a0, a1), (b0, b1) = (tuple(int(d) for d in shapes[x].split(",")) for x in (lhs, rhs))
        layout = _LAYOUT_OF_DIMS[(lc, rc)]
        m, k = (a1, a0) if layout == "TN" else (a0, a1)
        n = b0 if layout == "NT" else b1
        found.append((m, k, n, layout))
    return found


def test_matmul_shapes_are_the_compiled_steps_products():
    config = paper_mnist.get_config()
    m = config.model
    m.z_dim, m.g_hidden, m.data_dim, m.d_units, m.d_pieces = 9, (24, 16), 20, 8, 3
    config.batch_size = 10
    setup = make_setup(config, 50)
    state = create_train_state(config, setup, np.full(20, 0.3, np.float32), 50)
    images = np.random.default_rng(0).random((50, 20), dtype=np.float32)
    hlo = jitting.jit_step(steps.make_step(config, setup, 50)).lower(state, images).compile().as_text()
    # D's output layer (n = 1) and its gradients are the products the profile leaves out
    compiled = sorted(p for p in compiled_products(hlo) if min(p[0], p[2]) > 1)
    assert compiled == sorted(matmul_shapes(m, config.batch_size))
    assert {p[3] for p in compiled} == set(LAYOUTS)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_product_reads_each_layout(layout):
    rng = np.random.default_rng(1)
    a, b = (rng.normal(size=s) for s in LAYOUTS[layout](3, 5, 4))
    lhs = a.T if layout == "TN" else a
    rhs = b.T if layout == "NT" else b
    np.testing.assert_allclose(product(layout, a, b), np.einsum("mk,kn->mn", lhs, rhs), rtol=1e-12)
