r"""The saturation-trap tables (DYNAMICS.md, REPRODUCTION.md) from the committed runs of
experiments/sweeps/trap.py under experiments/results/trap/: each seed's last logged row of its
replica_<r>/metrics.jsonl, and the step of the collapse warning its log.txt shows
(gan_jax/training/collapse.py).

  python experiments/reports/trap_report.py            # print the tables
  python experiments/reports/trap_report.py --write    # put them into DYNAMICS.md and REPRODUCTION.md
"""

import json
import os
import re
import sys

from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import tables  # noqa: E402

ROOT = os.path.join(tables.RESULTS, "trap")
SCHEMES = {  # trial directory -> its row's name, in the table's order
    "update=alternating": "alternating (Algorithm 1)",
    "update=simultaneous": "simultaneous (the 2014 code)",
    "update=optimistic": "optimistic",
    "update=alternating,optim.momentum_init=-0.3,optim.momentum_final=-0.3": "alternating, heavy ball −0.3",
    "update=extragradient": "extragradient",
    "update=extragradient,optim.learning_rate=0.02": "extragradient, lr 0.02 (a fifth)",
}
SEEDS = 3
WARNING = re.compile(r"warning: \[replica (\d+)\] step (\d+): the run looks collapsed")


def g2(x: float) -> str:
    return format(x, "#.2g")


def seeds(trial: str) -> list[dict]:
    """Each seed's last logged row, with 'warning': the step its collapse warning fired at, or None."""
    with open(os.path.join(ROOT, trial, "log.txt")) as f:
        warned = {int(r): int(s) for r, s in WARNING.findall(f.read())}
    out = []
    for r in range(SEEDS):
        with open(os.path.join(ROOT, trial, f"replica_{r}", "metrics.jsonl")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        out.append([row for row in rows if "d_fake" in row][-1] | {"warning": warned.get(r)})
    return out


def warning(step) -> str:
    return "no" if step is None else f"step {step:,}"


def dynamics_table() -> str:
    rows = []
    for trial, name in SCHEMES.items():
        s = seeds(trial)
        if any(x["warning"] is not None for x in s):  # a row per seed
            for r, x in enumerate(s):
                label = name if r == 0 else name.split(" (")[0]
                rows.append(
                    [
                        label,
                        r,
                        warning(x["warning"]),
                        g2(x["d_fake"]),
                        g2(x["g_grad_norm"]),
                        g2(x["sample_diversity"]),
                    ]
                )
        else:
            rows.append(
                [
                    name,
                    " / ".join(str(r) for r in range(SEEDS)),
                    "no",
                    *(" / ".join(g2(x[k]) for x in s) for k in ("d_fake", "g_grad_norm", "sample_diversity")),
                ]
            )
    header = ["scheme", "seed", "collapse warning at", "D(G(z))", "G grad norm", "sample diversity"]
    return tables.markdown(header, rows)


def reproduction_table() -> str:
    rows = []
    for trial, name in (("update=simultaneous", "simultaneous"), ("update=alternating", "alternating")):
        s = seeds(trial)
        warned = [x["warning"] for x in s if x["warning"] is not None]
        count = f"{len(warned)} of {SEEDS}" + (
            f" (steps {' and '.join(f'{w:,}' for w in warned)})" if warned else ""
        )
        rows.append(
            [
                name,
                count,
                *(" / ".join(g2(x[k]) for x in s) for k in ("d_fake", "g_grad_norm", "sample_diversity")),
            ]
        )
    header = ["scheme", "collapse warning", "D(G(z)), seeds 0 / 1 / 2", "G grad norm", "sample diversity"]
    return tables.markdown(header, rows)


def get_tables() -> dict:
    return {
        ("experiments/reports/DYNAMICS.md", "trap"): dynamics_table(),
        ("experiments/reports/REPRODUCTION.md", "trap"): reproduction_table(),
    }


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
