"""Sweeps as data: each module here names a CONFIG file and returns its trials from get_sweep().

A trial is a dict of overrides keyed by launch.py flag names: 'config' (another config file), 'game',
'update', 'd_steps', 'seed', or 'config.<field>' (e.g. 'config.model.g_hidden': (64, 64)).
Run one with experiments/scripts/sweep.py and tabulate it with experiments/reports/collect.py.
"""

import itertools


def product(*fixed: dict, **ranges) -> list[dict]:
    """Every combination of the values, as override dicts; the last key varies fastest.

    A list or range value is a range to sweep; any other value (a tuple included) is one fixed
    value. Dicts passed positionally take keys that are not identifiers, e.g. 'config.num_steps'.
    """
    merged = {k: v for d in fixed for k, v in d.items()} | ranges
    axes = [list(v) if isinstance(v, list | range) else [v] for v in merged.values()]
    return [dict(zip(merged, values, strict=True)) for values in itertools.product(*axes)]
