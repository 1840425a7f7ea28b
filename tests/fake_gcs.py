"""A local stand-in for Google Cloud Storage: fsspec's local file system registered for ``gs://`` and
``gcs://``, the bucket ``gs://B/P`` kept in ``$GAN_JAX_FAKE_GCS/B/P``. etils.epath reaches ``gs://``
through fsspec's "gcs" file system when TensorFlow is absent (gcsfs on a real machine), so the
project's code runs as it would against a bucket; exclusive creation (``open(path, "xb")``) fails on an
existing object as gcsfs's ``ifGenerationMatch=0`` does.

In a process: ``register()``. A launch.py run on the stand-in: ``python -c LAUNCH ARGS...``.
"""

import os

import fsspec
from fsspec.implementations.local import LocalFileSystem

ENV = "GAN_JAX_FAKE_GCS"

# launch.py's main with the stand-in registered: python -c LAUNCH ARGS (in the repository's root)
LAUNCH = 'import sys; sys.path.insert(0, "tests"); import fake_gcs; fake_gcs.launch_main()'


class FakeGCS(LocalFileSystem):
    protocol = ("gs", "gcs")

    def __init__(self, *args, **kwargs):  # (epath passes gcsfs's options: finalize_on_close=True)
        super().__init__(auto_mkdir=True)

    @classmethod
    def _strip_protocol(cls, path):
        path = os.fspath(path)
        root = os.environ[ENV]
        for prefix in ("gs://", "gcs://"):
            if path.startswith(prefix):
                return os.path.join(root, path[len(prefix) :]).rstrip("/")
        return super()._strip_protocol(path)


def register() -> None:
    for protocol in FakeGCS.protocol:
        fsspec.register_implementation(protocol, FakeGCS, clobber=True)


def launch_main() -> None:
    """launch.py's main on the stand-in (its flags from sys.argv)."""
    from absl import app

    import launch

    register()
    app.run(launch.main, flags_parser=launch.parse_flags)


def local(url: str) -> str:
    """Where the stand-in keeps ``gs://...``."""
    return os.path.join(os.environ[ENV], url.removeprefix("gs://"))
