r"""Writes docs/configuration.md from gan_jax/config.py: every field of every family, its default and the
comment beside it in the source. tests/test_docs.py checks the page against the configs, so rerun this
after changing a default or adding a field:

  python docs/gen_config_reference.py
"""

import ast
import importlib
import io
import os
import sys
import tokenize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from gan_jax import config as cfg  # noqa: E402

PAGE = os.path.join(ROOT, "docs", "configuration.md")
EXPERIMENT_CONFIGS = (
    "paper_mnist",
    "paper_mnist_adam",
    "smoke",
    "dcgan_mnist",
    "dcgan_cifar10",
    "dcgan_celeba",
    "ring",
    "grid",
    "mixture1d",
    "nonneural_mnist",
    "nonneural_ring",
)

# Where a field applies beyond "every run" (what validation.py refuses otherwise). Keys must be fields
# of get_config(); the test checks that they are.
APPLIES = {
    "d_steps": "`update_scheme=alternating`",
    "g_steps": "`update_scheme=alternating`",
    "order": "`update_scheme=alternating`",
    "ema_start": "`ema_decay` > 0",
    "replica_mode": "`num_replicas` > 1",
    "replica_hparams": "`num_replicas` > 1, Adam",
    "on_nonfinite": "`freeze`: `num_replicas` > 1",
    "reg.gp_weight": "any game; not a batch-norm D (`model.d_norm=layer` or `none`)",
    "reg.gp_target": "`gp_weight` > 0",
    "reg.gp_one_sided": "`gp_weight` > 0",
    "reg.r1_gamma": "any game; not a batch-norm D",
    "reg.r2_gamma": "any game; not a batch-norm D",
    "reg.reg_every": "`r1_gamma` or `r2_gamma` > 0",
    "reg.dragan_weight": "any game; not a batch-norm D",
    "reg.clip": "`game=wasserstein`",
    "reg.label_smoothing": "`game=minimax`, `nonsaturating`",
    "instance_noise_steps": "`instance_noise` > 0",
    "g_grad_target": "not with `reg.consensus`",
    "model.discriminator": "unconditional float32 models without spectral norm; `random_conv`: images",
    "model.rff_features": "`model.discriminator=random_fourier`",
    "model.rff_bandwidth": "`model.discriminator=random_fourier`",
    "model.rconv_channels": "`model.discriminator=random_conv`",
    "model.rconv_kernel": "`model.discriminator=random_conv`",
    "model.rconv_stride": "`model.discriminator=random_conv`",
}

# Meanings of fields that have no comment in config.py (the source's comment wins where there is one).
# Keys are "<family>.<field>" with the family as in the page's tables; the test checks each exists.
MEANINGS = {
    "batch_size": "real (and fake) examples per D update; the data are shuffled once per epoch",
    "ckpt_every": "steps between orbax checkpoints (one is always written at the end)",
    "keep_checkpoints": "the newest checkpoints kept in `workdir/checkpoints/`",
    "log_every": "steps between rows of `metrics.jsonl` / TensorBoard and console progress lines",
    "num_epochs": "training length in passes over the training set; sets `num_steps`",
    "sample_every": "steps between 10x10 sample grids from one fixed z (`samples/`)",
    "seed": "the run key: initial parameters, data order and every step's noise (fold_in streams)",
    "reg.gp_target": "the gradient norm the penalty pulls towards (1 for WGAN-GP)",
    "g_optim.name": "G's optimizer, when not D's (`paper_sgd` or `adam`)",
    "g_optim.learning_rate": "G's learning rate (else D's, or required when `name` differs)",
    "g_optim.b1": "G's Adam beta1",
    "g_optim.b2": "G's Adam beta2",
    "g_optim.momentum_init": "G's initial momentum (paper SGD)",
    "g_optim.momentum_final": "G's final momentum (paper SGD)",
    "paper_sgd.name": "SGD with classical momentum and the 2014 code's schedules (mnist.yaml)",
    "paper_sgd.learning_rate": "initial learning rate (mnist.yaml)",
    "paper_sgd.min_lr": "floor of the decayed learning rate",
    "paper_sgd.momentum_init": "momentum before `momentum_start_epoch`",
    "paper_sgd.momentum_final": "momentum from `momentum_saturate_epoch` on (linear in between)",
    "paper_sgd.momentum_start_epoch": "epoch where the momentum ramp starts",
    "paper_sgd.momentum_saturate_epoch": "epoch where the momentum ramp ends",
    "adam.name": "Adam (Kingma & Ba 2015), through optax with injectable hyper-parameters",
    "adam.learning_rate": "Adam's step size",
    "adam.b1": "Adam's first-moment decay (DCGAN uses 0.5, WGAN-GP 0.0)",
    "adam.b2": "Adam's second-moment decay (WGAN-GP uses 0.9)",
    "model.name": (
        "the G/D pair (gan_jax/networks/models.py): `paper_mlp`, `mlp`, `dcgan28`, `dcgan32`, `dcgan64`"
    ),
    "model.z_dim": "dimension of z; z ~ U(-sqrt(3), sqrt(3)) per coordinate (unit variance)",
    "model.data_dim": "flattened size of an example (set by the family; must match the data)",
    "paper_mlp.g_hidden": "G's ReLU hidden layers (mnist.yaml: 1200, 1200; sigmoid output)",
    "paper_mlp.g_init_scale": "G's weights U(-s, s)",
    "paper_mlp.d_units": "maxout units per D layer",
    "paper_mlp.d_pieces": "linear pieces per maxout unit",
    "paper_mlp.d_layers": "maxout layers of D (then a linear logit)",
    "paper_mlp.d_init_scale": "D's weights U(-s, s)",
    "paper_mlp.d_input_keep": "dropout keep probability of D's input pixels",
    "paper_mlp.d_hidden_keep": "dropout keep probability of D's hidden layers' inputs",
    "mlp.g_hidden": "G's ReLU hidden layers (linear output)",
    "mlp.d_hidden": "D's ReLU hidden layers",
    "mnist.name": "MNIST: 50,000 train, 10,000 validation, 10,000 test images in [0, 1)",
    "cifar10.name": "CIFAR-10 train split from a prepared TFDS data_dir, scaled to [-1, 1]",
    "celeb_a.name": "CelebA, center-cropped to 108 and resized to 64, scaled to [-1, 1] (TFDS)",
    "ring.name": "PacGAN/VEEGAN's ring of 8 Gaussians (2-D)",
    "grid.name": "PacGAN/VEEGAN's 5x5 grid of Gaussians (2-D)",
    "gauss1d.name": "one 1-D Gaussian",
    "mixture1d.name": "a 1-D mixture of Gaussians",
    "toy.num_train": "size of the fixed training set drawn once from the mixture",
    "ring.num_modes": "Gaussians on the circle",
    "ring.radius": "the circle's radius",
    "ring.std": "each Gaussian's standard deviation",
    "grid.side": "Gaussians per side of the square grid",
    "grid.spacing": "distance between neighbouring means",
    "grid.std": "each Gaussian's standard deviation",
    "toy.means": "the components' means",
    "toy.stds": "the components' standard deviations",
}


def field_comments() -> dict[tuple[str, str], list[tuple[int, str]]]:
    """{(function, field): [(line, comment), ...]} from config.py, one entry per assignment of the field:
    the comment on the assignment's line, after the comment lines right above it."""
    source = open(cfg.__file__).read()
    comments = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    lines = source.splitlines()
    found = {}
    for fn in ast.parse(source).body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        for node in ast.walk(fn):
            if not isinstance(node, ast.Assign):
                continue
            targets = node.targets[0].elts if isinstance(node.targets[0], ast.Tuple) else node.targets
            text = []
            line = node.lineno - 1
            while line >= 1 and lines[line - 1].strip().startswith("#"):
                text.insert(0, comments.get(line, ""))
                line -= 1
            if node.lineno in comments:
                text.append(comments[node.lineno])
            for t in targets:
                if isinstance(t, ast.Attribute):
                    found.setdefault((fn.name, t.attr), []).append((node.lineno, " ".join(text)))
    return found


def executed_lines(fn, *args) -> tuple[object, set[int]]:
    """``fn(*args)`` and the line numbers of config.py it ran (to pick the branch a family took)."""
    ran = set()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == cfg.__file__:
            if event == "line":
                ran.add(frame.f_lineno)
            return tracer
        return None

    sys.settrace(tracer)
    try:
        return fn(*args), ran
    finally:
        sys.settrace(None)


def comment_for(comments: dict, function: str, name: str, ran: set[int] | None) -> str:
    entries = comments.get((function, name), [])
    if ran is not None:
        entries = [e for e in entries if e[0] in ran] or entries
    return next((text for _, text in entries if text), "")


def meaning(prefix: str, name: str, family: str | None) -> str:
    keys = [f"{prefix}{name}"]
    if family:
        keys = [f"{family}.{name}", *([f"toy.{name}"] if family in cfg.TOYS else []), *keys]
    return next((MEANINGS[k] for k in keys if k in MEANINGS), "")


def show(value) -> str:
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, tuple | list):
        return "`" + repr(tuple(value)) + "`"
    return f"`{value!r}`"


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows(prefix, conf, function, comments, applies=None, ran=None, family=None) -> list[str]:
    """One table row per (non-dict) field; ``family`` names the MEANINGS key's prefix."""
    out = []
    for name, value in conf.items():
        if hasattr(value, "items"):
            continue
        key = f"{prefix}{name}"
        note = comment_for(comments, function, name, ran) or meaning(prefix, name, family)
        where = applies or APPLIES.get(key, "all")
        out.append(f"| `{key}` | {show(value)} | {where} | {cell(note)} |")
    return out


def table(title: str, lines: list[str], intro: str = "") -> list[str]:
    head = ["| field | default | applies to | meaning |", "|---|---|---|---|"]
    return [f"## {title}", "", *([intro, ""] if intro else []), *head, *lines, ""]


def family_defaults(conf) -> dict:
    """get_config() with ``conf``'s model, data and optimizer families: what a config file starts from."""
    return cfg.upgrade({part: {"name": conf[part].name} for part in ("model", "data", "optim")}).to_dict()


def experiment_changes() -> list[str]:
    """What each experiments/configs file changes from the defaults of its families."""
    out = ["| config file | families | fields it changes |", "|---|---|---|"]
    for name in EXPERIMENT_CONFIGS:
        conf = importlib.import_module(f"experiments.configs.{name}").get_config()
        base, flat = _flat(family_defaults(conf)), _flat(conf.to_dict())
        changed = [f"`{k}={_plain(v)}`" for k, v in flat.items() if base.get(k, object()) != v]
        families = f"{conf.model.name}, {conf.data.name}, {conf.optim.name}"
        out.append(
            f"| `experiments/configs/{name}.py` | {families} | {cell(', '.join(changed)) or '(none)'} |"
        )
    return out


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in tree.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def _plain(value) -> str:
    return repr(tuple(value)) if isinstance(value, list) else str(value)


def render() -> str:
    comments = field_comments()
    c = cfg.get_config()
    out = [
        "# Configuration reference",
        "",
        "Generated from `gan_jax/config.py` by `python docs/gen_config_reference.py`; `tests/test_docs.py`",
        "fails when a field or default here differs from the code. Set any field on the command line with",
        "`--config.<field>=value` (a mistyped field is an error). `get_config()` is the complete default",
        "config (the 2014 paper's MNIST model); the `model`, `data` and `optim` sub-configs differ by",
        "family: `--config=FILE` picks a file whose `get_config()` starts from these and changes fields,",
        "and an old run's `config.json` is merged into today's defaults (`config.upgrade`).",
        "The checks that refuse a combination are in `gan_jax/training/validation.py`.",
        "",
    ]
    out += table("Run (`get_config()`)", rows("", c, "get_config", comments))
    out += table(
        "Regularisers and tricks (`reg`, `reg_config()`)",
        rows("reg.", c.reg, "reg_config", comments),
        "Options of D's loss, all off; each cites its paper (equations in [games.md](games.md)).",
    )
    out += table(
        "G's optimizer (`g_optim`, `g_optim_config()`)",
        rows("g_optim.", c.g_optim, "g_optim_config", comments),
        "A field left `None` takes D's value (`optim`); a different `name` starts from that optimizer's "
        "defaults and needs a `learning_rate`. G's learning rate is then multiplied by `g_lr_multiplier`.",
    )
    out += table(
        "Two-set metrics at the end of a run (`final_eval`, `final_eval_config()`)",
        rows(
            "final_eval.", c.final_eval, "final_eval_config", comments, "`data.name=mnist`, `fashion_mnist`"
        ),
        'Off while `reference` is `""`; see [evaluation.md](evaluation.md).',
    )
    for name in cfg.OPTIMIZERS:
        out += table(
            f"Optimizer `{name}` (`optim_config('{name}')`)",
            rows(
                "optim.",
                cfg.optim_config(name),
                "optim_config",
                comments,
                f"`optim.name={name}`",
                family=name,
            ),
        )
    families = {name: executed_lines(cfg.model_config, name) for name in cfg.MODELS}
    shared = set.intersection(*(set(m.keys()) for m, _ in families.values()))
    base, base_ran = families["paper_mlp"]
    out += table(
        "Model fields every family has (`model_config(name)`)",
        rows(
            "model.", {k: base[k] for k in sorted(shared)}, "model_config", comments, "every model", base_ran
        ),
        "The default shown is `paper_mlp`'s; a family's own table gives its value where it differs.",
    )
    for name, (m, ran) in families.items():
        own = {k: v for k, v in m.items() if k not in shared or v != base[k]}
        out += table(
            f"Model `{name}`",
            rows("model.", own, "model_config", comments, f"`model.name={name}`", ran, name),
        )
    for name in cfg.DATASETS:
        d, ran = executed_lines(cfg.data_config, name)
        out += table(
            f"Data `{name}` (`data_config('{name}')`)",
            rows("data.", d, "data_config", comments, f"`data.name={name}`", ran, name),
        )
    out += [
        "## Experiment configs",
        "",
        "Each file in `experiments/configs/` starts from `get_config()` and one family's defaults; what it",
        "changes:",
        "",
        *experiment_changes(),
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    with open(PAGE, "w") as f:
        f.write(render())
    print(f"wrote {PAGE}")
