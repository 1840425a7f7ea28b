"""JAX's persistent compilation cache for command-line runs: a second run of the same program loads the
compiled step from disk instead of compiling it (``launch.py --compilation_cache=DIR``).

The directory is, in order: the flag; ``$JAX_COMPILATION_CACHE_DIR`` (JAX's own variable);
``$GAN_JAX_DATA_DIR`` or ``~/.cache/gan_jax``, then ``/xla``. An empty flag turns the cache off. Programs that
compile in under ``MIN_COMPILE_S`` seconds (or ``$JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS``) are not
stored. A cache entry is keyed by the program, the jax and jaxlib versions and the backend, so a stale entry
is never loaded.

jaxlib 0.10.0 and 0.10.1 log an error line for each entry they load on a CPU whose LLVM tuning flags are
not host features (openxla/xla#44565), although the load works; ``launch.py`` therefore hides C++ log
lines below FATAL (``TF_CPP_MIN_LOG_LEVEL=3`` unless set), which every other failure reaches Python as an
exception anyway.
"""

import os

import jax

MIN_COMPILE_S = 1.0


def default_dir() -> str:
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return os.environ["JAX_COMPILATION_CACHE_DIR"]
    base = os.environ.get("GAN_JAX_DATA_DIR", os.path.expanduser("~/.cache/gan_jax"))
    return os.path.join(base, "xla")


def enable(directory: str | None) -> str | None:
    """Turns the cache on in ``directory`` (None: ``default_dir()``; '': off). Returns the directory used."""
    directory = default_dir() if directory is None else directory
    if not directory:
        jax.config.update("jax_enable_compilation_cache", False)
        return None
    jax.config.update("jax_compilation_cache_dir", os.path.expanduser(directory))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:  # JAX's own variable wins
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_S)
    return directory
