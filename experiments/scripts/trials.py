"""A sweep's trials: the sweep file read and checked, each trial's name and launch.py command lines,
and commands run with their output appended to a log (experiments/scripts/sweep.py runs them)."""

import importlib.util
import os
import re
import shlex
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLAG_KEYS = ("config", "game", "update", "d_steps", "seed")  # launch.py flags a trial may set


class SweepError(ValueError):
    """A bad sweep file or override; the message is one line."""


def _load_module(path: str, what: str):
    """The Python file ``path`` as a module; its own error (or its absence) in one line."""
    if not os.path.isfile(path):
        raise SweepError(f"no {what} file {path}")
    spec = importlib.util.spec_from_file_location("_" + what, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise SweepError(f"cannot load {what} {path}: {type(e).__name__}: {e}") from None
    return module


def load_sweep(path: str) -> tuple[str, list[dict]]:
    """(CONFIG, trials) of a sweep file, checked."""
    module = _load_module(path, "sweep")
    config, get_sweep = getattr(module, "CONFIG", None), getattr(module, "get_sweep", None)
    if not isinstance(config, str) or not callable(get_sweep):
        raise SweepError(f"{path} needs CONFIG (a config file path) and get_sweep()")
    try:
        trials = get_sweep()
    except Exception as e:
        raise SweepError(f"{path}: get_sweep() failed: {type(e).__name__}: {e}") from None
    if not trials or not isinstance(trials, list) or not all(isinstance(t, dict) for t in trials):
        raise SweepError(f"{path}: get_sweep() must return a non-empty list of override dicts")
    check_overrides(config, trials)
    return config, trials


def _load_config(path: str):
    module = _load_module(path if os.path.isabs(path) else os.path.join(ROOT, path), "config")
    try:
        return module.get_config()
    except Exception as e:  # the file's own error, in one line
        raise SweepError(f"cannot load config {path}: {type(e).__name__}: {e}") from None


def check_overrides(config: str, trials: list[dict]) -> None:
    """Every key is a launch.py flag or an existing field of the trial's config file."""
    configs = {}
    for trial in trials:
        path = trial.get("config", config)
        if not isinstance(path, str):
            raise SweepError(f"override 'config' must be a config file path, not {path!r}")
        if path not in configs:
            configs[path] = _load_config(path)
        for key in trial:
            if key in FLAG_KEYS:
                continue
            if not key.startswith("config."):
                raise SweepError(
                    f"unknown override {key!r} (use one of {', '.join(FLAG_KEYS)} or config.<field>)"
                )
            node = configs[path]
            for part in key.split(".")[1:]:
                if not hasattr(node, "keys") or part not in node:
                    raise SweepError(f"unknown override {key!r}: no such field in {path}")
                node = node[part]


def flag_value(value) -> str:
    """A value as absl/ml_collections parse it: (64, 64) -> '(64,64)'."""
    if isinstance(value, tuple | list):
        inner = ",".join(flag_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return str(value)


def trial_name(overrides: dict, keys=None) -> str:
    """A readable, path- and shell-safe name from the overrides in ``keys`` (default all).

    {'config.model.g_hidden': (64, 64), 'seed': 0} -> 'model.g_hidden=64x64,seed=0'.
    """
    parts = []
    for key, value in overrides.items():
        if keys is not None and key not in keys:
            continue
        text = os.path.splitext(os.path.basename(value))[0] if key == "config" else flag_value(value)
        text = re.sub(r"[()\[\] '\"]", "", text).strip(",").replace(",", "x")
        text = re.sub(r"[^\w.+-]", "_", text)
        parts.append(f"{key.removeprefix('config.')}={text}")
    return ",".join(parts) or "default"


def named_trials(trials: list[dict]) -> list[tuple[str, dict]]:
    """(name, overrides) pairs; names show the overrides that vary across the sweep (all if none do)."""
    keys = {k for t in trials for k in t}
    varying = {k for k in keys if len({repr(t.get(k)) for t in trials}) > 1} or None
    names = [trial_name(t, varying) for t in trials]
    for name in names:
        if names.count(name) > 1:
            raise SweepError(f"two trials are both named {name}; make their overrides differ")
    return list(zip(names, trials, strict=True))


def launch_args(config: str, overrides: dict, workdir: str) -> list[str]:
    """launch.py's arguments for one trial: --config first, then the overrides in order."""
    args = [f"--config={overrides.get('config', config)}"]
    for key, value in overrides.items():
        if key != "config":
            args.append(f"--{key}={flag_value(value)}")
    return [*args, f"--workdir={workdir}"]


def trial_argvs(python: str, config: str, overrides: dict, workdir: str, evaluate: bool) -> list[list[str]]:
    """The launch.py command lines of one trial: train, then (optionally) evaluate."""
    argvs = [[python, "launch.py", *launch_args(config, overrides, workdir)]]
    if evaluate:
        argvs.append([python, "launch.py", "--mode=evaluate", f"--workdir={workdir}"])
    return argvs


def join_path(root: str, name: str) -> str:
    return f"{root.rstrip('/')}/{name}"


def quote(text: str) -> str:
    """shlex.quote, but "..." (with \\ before " $ ` \\) for text holding a single quote."""
    if "'" in text and "!" not in text:
        return '"' + re.sub(r'(["$`\\])', r"\\\1", text) + '"'
    return shlex.quote(text)


def display(argv: list[str]) -> str:
    """A command line to read and paste (bash reads back argv): --flag=VALUE quotes VALUE only."""
    out = []
    for arg in argv:
        flag = re.match(r"--[\w.-]+=", arg)
        out.append(flag[0] + quote(arg[flag.end() :]) if flag else quote(arg))
    return " ".join(out)


def last_line(path: str, offset: int = 0) -> str:
    """The log's last 'error:' line after ``offset``, else its last non-empty line."""
    try:
        with open(path, errors="replace") as f:
            f.seek(offset)
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return "(no log)"
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["(empty log)"])[-1]


def run_logged(argvs: list[list[str]], log_path: str, cwd: str = ROOT) -> str | None:
    """Runs the commands in turn, output appended to log_path; None, or a one-line failure."""
    with open(log_path, "a") as log:
        for argv in argvs:
            log.write(f"$ {display(argv)}\n")
            log.flush()
            offset = log.tell()
            rc = subprocess.run(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT).returncode
            if rc:
                return f"exit {rc}: {last_line(log_path, offset)}"
    return None
