"""The run's training set: read (each host its own rows where it can), checked against the config and
placed on the devices for the step."""

from typing import NamedTuple

import jax
import numpy as np

from gan_jax import config as config_lib
from gan_jax.data import datasets
from gan_jax.networks import models
from gan_jax.training import parallel, validation


class RunData(NamedTuple):
    splits: dict  # {'train': (x, y), ...} as read (a host reading its own rows holds those alone)
    num_train: int  # the whole training set's row count
    first: int  # the first training row this host holds
    on_device: object  # the step's data: images, or (images, labels) for a conditional model


def load_run_data(config, mesh) -> RunData:
    """The training set, checked against the config and placed for the step (split by rows over
    ``mesh``'s devices when data-parallel)."""
    first = 0
    if reads_own_rows(config, mesh):  # this host reads only the rows of its own devices
        num_train = datasets.train_size(config.data)
        first, end = parallel.process_rows(num_train, mesh)
        splits = datasets.load_dataset(config.data, rows=(first, end))
    else:
        splits = datasets.load_dataset(config.data)
        num_train = len(splits["train"][0])
    x_train, y_train = splits["train"]
    validation.check_data(config, x_train, y_train, num_train)
    dataset = (x_train, np.asarray(y_train, np.int32)) if models.num_classes(config.model) else x_train
    on_device = (
        jax.device_put(dataset) if mesh is None else parallel.put_rows(dataset, mesh, num_train, first)
    )
    return RunData(splits, num_train, first, on_device)


def reads_own_rows(config, mesh) -> bool:
    """Whether each process reads only its own devices' rows (``process_rows``): with several processes
    over a mesh, for the TFDS colour sets (read by index) and a model whose initial state does not read
    the data's mean (every model but the paper MLP). Otherwise every process reads the whole set."""
    return (
        mesh is not None
        and jax.process_count() > 1
        and config.data.name in config_lib.IMAGE_SETS
        and not models.init_reads_mean(config.model)
    )
