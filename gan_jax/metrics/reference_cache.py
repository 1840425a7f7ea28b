"""A dataset's reference features on disk, keyed by the protocol that made them, so a second
``--mode=evaluate`` against the same split does not run the network over it again.

The key is the SHA-256 of the protocol as canonical JSON: the features' name and weights digest, the
resize, the dataset, its split and image count. A file holds the features [N, d] float32 and that JSON;
one whose JSON or shape does not match (a hash collision, a damaged or foreign file) is recomputed and
replaced. Files are written to a temporary name and renamed, so a killed run leaves no half file.
"""

import hashlib
import json
import os
import tempfile
from collections.abc import Callable

import numpy as np

from gan_jax.data.mnist import default_cache_dir

SUBDIR = "reference_features"


def key(protocol: dict) -> str:
    return hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()


def path(protocol: dict, cache_dir: str | None = None) -> str:
    """``<cache>/reference_features/<dataset>_<split>_<count>_<key[:16]>.npz``."""
    name = f"{protocol['dataset']}_{protocol['split']}_{protocol['count']}_{key(protocol)[:16]}.npz"
    return os.path.join(cache_dir or default_cache_dir(), SUBDIR, name)


def _read(file: str, protocol: dict) -> np.ndarray | None:
    try:
        with np.load(file, allow_pickle=False) as npz:
            saved, feats = str(npz["protocol"]), npz["features"]
    except (OSError, ValueError, KeyError, EOFError):
        return None
    if json.loads(saved) != protocol or feats.ndim != 2 or len(feats) != protocol["count"]:
        return None
    return feats


def cached_features(protocol: dict, compute: Callable[[], np.ndarray], cache_dir: str | None = None):
    """(features, hit): the features cached under ``protocol``, or ``compute()``'s, then cached."""
    file = path(protocol, cache_dir)
    feats = _read(file, protocol) if os.path.exists(file) else None
    if feats is not None:
        return feats, True
    feats = np.asarray(compute(), np.float32)
    os.makedirs(os.path.dirname(file), exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=os.path.dirname(file))
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, features=feats, protocol=np.asarray(json.dumps(protocol, sort_keys=True)))
        os.replace(tmp, file)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return feats, False
