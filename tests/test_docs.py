"""The docs cannot drift from the code: the config reference matches the configs, the library example
runs, and README's first-use commands run exactly as written (at tiny size)."""

import concurrent.futures
import importlib.util
import os
import re
import shlex
import subprocess
import sys

import pytest

from gan_jax import config as cfg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
MARKER = "<!-- first-use commands:"
# Appended to a training command (absl keeps a repeated flag's last value): a few steps, no evaluation.
TINY_TRAIN = [
    "--config.num_steps=4",
    "--config.log_every=2",
    "--config.sample_every=4",
    "--config.ckpt_every=4",
    "--config.eval_every=0",
]
TINY_SAMPLE = ["--num_samples=100"]


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_config_reference", f"{ROOT}/docs/gen_config_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sections(page: str) -> dict[str, str]:
    parts = re.split(r"^## ", page, flags=re.M)
    return {p.splitlines()[0]: p for p in parts[1:]}


def _rows(conf, prefix: str) -> list[str]:
    gen = _generator()
    return [f"| `{prefix}{k}` | {gen.show(v)} |" for k, v in conf.items() if not hasattr(v, "items")]


def test_config_reference_lists_every_field_with_its_default():
    page = open(f"{ROOT}/docs/configuration.md").read()
    sections = _sections(page)

    def section(title_part: str) -> str:
        (title,) = [t for t in sections if title_part in t]
        return sections[title]

    c = cfg.get_config()
    families = [(section("Run (`get_config()`)"), c, ""), (section("`reg`"), c.reg, "reg.")]
    families.append((section("`g_optim`"), c.g_optim, "g_optim."))
    families.append((section("`final_eval`"), c.final_eval, "final_eval."))
    families += [(section(f"Optimizer `{n}`"), cfg.optim_config(n), "optim.") for n in cfg.OPTIMIZERS]
    families += [(section(f"Data `{n}`"), cfg.data_config(n), "data.") for n in cfg.DATASETS]
    for text, conf, prefix in families:
        for row in _rows(conf, prefix):
            assert row in text, (
                f"docs/configuration.md lacks {row!r}: run python docs/gen_config_reference.py"
            )
    shared = section("Model fields every family has")
    for name in cfg.MODELS:
        own = section(f"Model `{name}`")
        for row in _rows(cfg.model_config(name), "model."):
            assert row in own or row in shared, (
                f"{name}: lacks {row!r}: run python docs/gen_config_reference.py"
            )


def test_config_reference_is_generated_from_the_current_code():
    gen = _generator()
    fields = set(gen._flat(cfg.get_config().to_dict()))
    assert set(gen.APPLIES) <= fields, "APPLIES names a field the config no longer has"
    with open(f"{ROOT}/docs/configuration.md") as f:
        assert f.read() == gen.render(), (
            "docs/configuration.md is stale: run python docs/gen_config_reference.py"
        )


def test_library_example_runs(tmp_path):
    out = tmp_path / "samples.png"
    result = subprocess.run(
        [sys.executable, "examples/train_from_python.py", "--num_steps=3", f"--out={out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "step 3:" in result.stdout and out.exists()


def readme_commands() -> list[str]:
    """The commands of README's fenced block after MARKER, comments dropped."""
    text = open(README).read()
    block = text[text.index(MARKER) :].split("```")[1]
    lines = [line.split("#")[0].strip() for line in block.splitlines()[1:]]
    return [line for line in lines if line]


def tiny(command: str, root: str) -> list[str]:
    """``command`` as README spells it, its /tmp/gan_jax paths moved under ``root``, tiny-size flags
    appended."""
    argv = shlex.split(command.replace("/tmp/gan_jax", root))
    assert argv[0] == "python"
    argv[0] = sys.executable
    if argv[1] == "launch.py":
        mode = next((a.split("=", 1)[1] for a in argv if a.startswith("--mode=")), "train")
        argv += {"train": TINY_TRAIN, "sample": TINY_SAMPLE, "evaluate": []}[mode]
    return argv


def test_readme_names_the_two_setup_commands():
    text = open(README).read()
    makefile = open(f"{ROOT}/Makefile").read()
    for target in ("run", "test"):
        assert f"make {target}" in text and f"\n{target}:" in makefile
    assert len(text.splitlines()) <= 200


def _run_in_turn(argvs: list[list[str]]) -> list[str]:
    failures = []
    for argv in argvs:
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=400)
        if result.returncode:
            failures.append(f"{shlex.join(argv)}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
            break
    return failures


def test_readme_first_use_commands_run(tmp_path):
    """Each command as README spells it; commands on one workdir run in README's order, different
    workdirs at the same time (the suite runs on 2 cores)."""
    commands = readme_commands()
    assert len(commands) == 5, commands
    groups = {}
    for command in commands:
        argv = tiny(command, str(tmp_path))
        where = next(a.split("=", 1)[1] for a in argv if a.startswith(("--workdir=", "--root=")))
        groups.setdefault(where, []).append(argv)
    with concurrent.futures.ThreadPoolExecutor(len(groups)) as pool:
        failures = sum(pool.map(_run_in_turn, groups.values()), [])
    assert not failures, "\n\n".join(failures)
    smoke = tmp_path / "smoke"
    assert (smoke / "eval.json").exists() and (smoke / "samples.npy").exists()
    assert (tmp_path / "paper_mnist" / "metrics.jsonl").exists()
    assert len([p for p in (tmp_path / "sweep").iterdir() if p.is_dir()]) == 2


DOCS = ["README.md", "CONTRIBUTING.md"]
DOCS += [
    *(f"docs/{f}" for f in sorted(os.listdir(f"{ROOT}/docs")) if f.endswith(".md")),
    *(
        f"experiments/reports/{f}"
        for f in sorted(os.listdir(f"{ROOT}/experiments/reports"))
        if f.endswith(".md")
    ),
]


@pytest.mark.parametrize("name", DOCS)
def test_local_links_resolve(name):
    path = os.path.join(ROOT, name)
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", open(path).read()):
        assert os.path.exists(os.path.join(os.path.dirname(path), target)), f"{name}: broken link {target}"
