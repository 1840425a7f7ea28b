"""The precision of float32 matrix products and convolutions, ``config.matmul_precision``.

JAX computes float32 dots and convolutions in bfloat16 passes on TPUs and in TF32 on recent NVIDIA GPUs
unless told otherwise; the CPU always computes them in float32. ``highest`` (the default) asks for full
float32 on every backend, so the paper's model trains at the paper's precision wherever it runs;
``high`` allows TF32 / three bfloat16 passes, ``default`` takes the backend's own choice. The run's
steps, samples and evaluations are traced inside ``scope(config)``.
"""

import jax

from gan_jax.errors import ConfigError

PRECISIONS = ("highest", "high", "default")


def check(config) -> None:
    if config.matmul_precision not in PRECISIONS:
        raise ConfigError(
            f"unknown config.matmul_precision {config.matmul_precision!r}; "
            f"choose one of: {', '.join(PRECISIONS)}"
        )


def scope(config):
    """A context in which everything traced computes float32 products at ``config.matmul_precision``."""
    check(config)
    name = config.matmul_precision
    return jax.default_matmul_precision(None if name == "default" else name)
