"""Data parallelism with ``jax.jit`` over a 1-D device mesh (axis ``data``), one host or many; no pmap.

The train state is replicated on every device; the training set is split by rows over the ``data``
axis (``put_rows``: device i of n holds rows [i N'/n, (i + 1) N'/n), N' = N rounded up to a multiple of
n with zero rows that no index reaches), so a device holds 1/n of it. The step draws its minibatch
indices from the (replicated) state, identical everywhere; XLA gathers the rows from their owners (each
device gathers the indices that fall in its rows, zeros elsewhere, and one all-reduce of the [batch, D]
minibatch sums them: exact, since the other terms are zeros), and ``make_step``'s ``batch_sharding``
constrains the minibatch and its noise to ``P('data')``: each device computes only its shard of the
batch, and XLA's SPMD partitioner all-reduces the gradients. The math is the single-device step's; only
the order of the gradient sums differs (float tolerance).

Multi-host (one process per host, every process running the same program):

- ``maybe_initialize_distributed()`` first, before any other JAX call;
- ``make_mesh()`` spans ``jax.devices()``, the devices of all hosts;
- each host reads the rows of its own devices (``process_rows``; ``run_data.reads_own_rows``: the TFDS
  colour sets, any model but the paper MLP) or the whole (small) set (MNIST: the paper model's G
  output bias is the data mean's logit, the same on every host), and ``put_rows`` copies only its
  devices' rows onto them; no data crosses hosts but the minibatch rows, in the step's all-reduces
  (minibatch gather, gradients, batch means);
- orbax's ``CheckpointManager`` coordinates the hosts: EVERY process calls ``save``/``restore`` (on a
  directory all hosts see) and each replicated array is written once (orbax may split that one copy's
  writing among the hosts); restore into a ``put_replicated`` target to get the mesh placement back;
- logging, sample grids and other files: only where ``is_main_process()``.
"""

import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from gan_jax.errors import ConfigError

AXIS = "data"
ENV_FLAG = "GAN_JAX_DISTRIBUTED"
_TRUE = ("1", "true", "yes", "on")


def maybe_initialize_distributed(enabled: bool | None = None) -> tuple[int, int]:
    """``jax.distributed.initialize()`` if ``enabled`` (None: env ``GAN_JAX_DISTRIBUTED`` is 1/true/yes/on).

    Call it first, before any other JAX call. Cloud TPU VMs, Slurm and Open MPI need nothing else (JAX
    detects the cluster). Elsewhere (e.g. a GPU cluster started by hand) set on every host
    ``JAX_COORDINATOR_ADDRESS=host0:port`` (read by JAX), ``GAN_JAX_NUM_PROCESSES`` and
    ``GAN_JAX_PROCESS_ID`` (0 .. N-1; read here). Idempotent. Returns ``(process_index, process_count)``.
    """
    if enabled is None:
        enabled = os.environ.get(ENV_FLAG, "").strip().lower() in _TRUE
    if enabled and not jax.distributed.is_initialized():
        num, pid = os.environ.get("GAN_JAX_NUM_PROCESSES"), os.environ.get("GAN_JAX_PROCESS_ID")
        jax.distributed.initialize(
            num_processes=None if num is None else int(num), process_id=None if pid is None else int(pid)
        )
    return jax.process_index(), jax.process_count()


def is_main_process() -> bool:
    """True on host 0 only: the one that logs and writes metrics and samples."""
    return jax.process_index() == 0


def any_process(flag: bool) -> bool:
    """Whether ``flag`` holds on any process; every process must call it at the same point of the
    program (one small all-gather across hosts; none with one process). The training loop asks it
    whether a host caught SIGTERM, so that all hosts save the same step together: a host that saved
    alone would wait in orbax's save for hosts gone on to the next step's all-reduce."""
    if jax.process_count() == 1:
        return bool(flag)
    from jax.experimental import multihost_utils

    return bool(np.any(multihost_utils.process_allgather(np.asarray(flag, np.int32))))


def sync(name: str) -> None:
    """Every process waits here for the others (nothing with one process)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def make_mesh(num_devices: int | None = None) -> Mesh:
    """A 1-D mesh, axis ``data``, over the first ``num_devices`` of ``jax.devices()`` (all hosts').

    None: every device, the only sensible choice with several hosts (each must own some of the mesh).
    """
    devices = jax.devices()
    n = len(devices) if num_devices is None else num_devices
    if not 1 <= n <= len(devices):
        raise ValueError(f"num_devices={n}, but there are {len(devices)} devices")
    return Mesh(np.asarray(devices[:n]), (AXIS,))


def check_batch(batch_size: int, mesh: Mesh) -> None:
    """A ``ConfigError`` (one line) unless the batch splits evenly over the mesh's ``data`` axis."""
    n = mesh.shape[AXIS]
    if batch_size % n:
        raise ConfigError(
            f"batch_size={batch_size} is not divisible by the {n} devices of the data axis "
            f"(config.data_parallel): set config.batch_size to a multiple of {n}"
        )


def shardings(mesh: Mesh) -> tuple[NamedSharding, NamedSharding]:
    """``(replicated, batch)``: ``P()`` (a full copy on every device) and ``P('data')`` (rows split)."""
    return NamedSharding(mesh, P()), NamedSharding(mesh, P(AXIS))


def put_replicated(tree, mesh: Mesh):
    """A full copy of every leaf of ``tree`` (the train state) on every mesh device.

    One process: ``jax.device_put``. Several: every process must pass the same values (the state comes
    from the same seed); each builds its local devices' copies from its own host memory
    (``jax.make_array_from_callback``), so nothing crosses hosts.
    """
    replicated, _ = shardings(mesh)
    if jax.process_count() == 1:
        return jax.device_put(tree, replicated)

    def put(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, replicated, lambda index: x[index])

    return jax.tree.map(put, tree)


def padded_rows(num_rows: int, mesh: Mesh) -> int:
    """N rounded up to a multiple of the ``data`` axis: the row count ``put_rows`` places."""
    n = mesh.shape[AXIS]
    return -(-num_rows // n) * n


def put_rows(tree, mesh: Mesh, num_rows: int | None = None, first: int = 0):
    """Every leaf of ``tree`` (the training images, and labels) split by rows over the ``data`` axis:
    ``P('data')``, padded with zero rows to ``padded_rows`` (the step never indexes them).

    The leaves hold rows [first, first + len) of a set of ``num_rows`` (default: all of it, from 0);
    each process copies only its own devices' rows (``jax.make_array_from_callback``), so a device
    holds 1/n of the set and nothing crosses hosts. A process may hold only its ``process_rows``
    (clipped to ``num_rows``); rows its devices need that it lacks are a one-line ValueError.
    """
    _, rows = shardings(mesh)

    def put(x):
        x = np.asarray(x)
        n = len(x) if num_rows is None else num_rows
        shape = (padded_rows(n, mesh), *x.shape[1:])

        def block(index):
            start, stop, _ = index[0].indices(shape[0])
            end = min(stop, n)
            if start < n and (start < first or end > first + len(x)):
                raise ValueError(
                    f"this process holds rows [{first}, {first + len(x)}) of {n}; its devices need "
                    f"[{start}, {end})"
                )
            part = x[max(start, first) - first : max(end, first) - first]
            pad = (stop - start) - len(part)
            return np.concatenate([part, np.zeros((pad, *x.shape[1:]), x.dtype)]) if pad else part

        return jax.make_array_from_callback(shape, rows, block)

    return jax.tree.map(put, tree)


def process_rows(num_rows: int, mesh: Mesh) -> tuple[int, int]:
    """[first, end) of the rows of a ``num_rows`` set that ``put_rows`` places on this process's
    devices (end may pass ``num_rows``: padding): one contiguous block, as ``make_mesh`` orders
    the devices host by host. With one process, (0, padded_rows)."""
    _, rows = shardings(mesh)
    padded = padded_rows(num_rows, mesh)
    spans = [i[0].indices(padded)[:2] for i in rows.addressable_devices_indices_map((padded,)).values()]
    first, end = min(a for a, _ in spans), max(b for _, b in spans)
    if sum(b - a for a, b in spans) != end - first:
        raise ValueError(f"this process's devices hold rows that are not one block of [{first}, {end})")
    return first, end
