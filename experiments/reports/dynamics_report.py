r"""DYNAMICS.md's tables from the committed records: the Dirac-GAN table from
experiments/results/dirac_gan/{eigenvalues,convergence}.json (experiments/scripts/dirac_gan.py) and the
game-Jacobian tables from experiments/results/jacobian_study/spectrum.jsonl
(experiments/scripts/jacobian_study.py, which writes the same tables to its table.md). The trap table
is trap_report.py's.

  python experiments/reports/dynamics_report.py            # print the tables
  python experiments/reports/dynamics_report.py --write    # put them into DYNAMICS.md
"""

import json
import os
import sys

import numpy as np
from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import tables  # noqa: E402

DOC = "experiments/reports/DYNAMICS.md"
DIRAC = os.path.join(tables.RESULTS, "dirac_gan")
JACOBIAN = os.path.join(tables.RESULTS, "jacobian_study", "spectrum.jsonl")
SCHEMES = ("simultaneous", "alternating", "extragradient", "optimistic")
RUNS = ("simultaneous", "alternating")
# What Mescheder et al. 2018 report for a row (simultaneous, alternating GD), as the page
# discusses; rows it does not cover print '—'. Literature, not a measurement.
PAPER = {
    "minimax / none": "GAN: no, no (sim. diverges, alt. cycles; Sec. 2.2)",
    "minimax / r1": "yes, yes (zero-centred penalties; Sec. 3, Thm. 4.1)",
    "minimax / r2": "yes, yes (Sec. 3, Thm. 4.1)",
    "minimax / instance_noise": "yes, yes (Sec. 3; needs f''(0) < 0)",
    "minimax / consensus": "yes, yes for small h (Sec. 3)",
    "nonsaturating / none": "NS-GAN: same Jacobian as the GAN, not locally convergent (Sec. 2.2)",
    "nonsaturating / r1": "yes, yes (Sec. 3-4; the notebook's NSGAN_GradPenalty)",
    "nonsaturating / r2": "yes, yes (Sec. 3-4)",
    "nonsaturating / instance_noise": "yes, yes (Sec. 3)",
    "nonsaturating / consensus": "yes for small h (Sec. 3)",
    "wasserstein / none": "WGAN: no, no (Sec. 3.1; f'(0) = 1)",
    "wasserstein / r1": "Sec. 3 formula with f'(0) = 1: yes",
    "wasserstein / r2": "Sec. 3 formula with f'(0) = 1: yes",
    "wasserstein / gp": "WGAN-GP: no, no (abstract; Sec. 3)",
    "wasserstein / clip": "WGAN (the notebook's WGAN(clip=1)): no, no (abstract, Sec. 3.1)",
    "wasserstein / instance_noise": "Sec. 3 formula with f''(0) = 0: +- i, no",
    "wasserstein / consensus": "Sec. 3 formula with f'(0) = 1: yes",
}


def g(x: float, digits: int) -> str:
    s = f"{x:.{digits}g}"
    return "0" if s == "-0" else s


def eigenvalues(pair) -> str:
    """'a ± bi' for a complex pair, 'a, b' for two real eigenvalues."""
    (re1, im1), (re2, im2) = pair
    if abs(im1) > 1e-9:
        return f"{g(re1, 3)} ± {g(abs(im1), 3)}i"
    return f"{g(re1, 3)}, {g(re2, 3)}"


def dirac_table() -> str:
    with open(os.path.join(DIRAC, "eigenvalues.json")) as f:
        eig = json.load(f)
    with open(os.path.join(DIRAC, "convergence.json")) as f:
        runs = json.load(f)["runs"]
    rows = []
    for key, e in eig.items():
        game, reg = key.split("/")
        cells = [f"{game} / {reg}", g(e["weight"], 3), eigenvalues(e["eigenvalues"])]
        for scheme in SCHEMES:
            run = runs[f"{key}/{scheme}"]
            cells.append(("**yes**" if run["converged"] else "no") + f" ({g(run['final_distance'], 2)})")
        rows.append([*cells, PAPER.get(f"{game} / {reg}", "—")])
    header = ["game / regulariser", "weight", "eigenvalues of J at (0, 0)", *SCHEMES, "Mescheder et al. 2018"]
    return tables.markdown(header, rows)


def eigenvalue(re: float, im: float) -> str:
    return f"{re:.3g}" if abs(im) < 1e-9 else f"{re:.3g} {'+' if im > 0 else '−'} {abs(im):.3g}i"


def jacobian_table(rows: list[dict], run: str) -> str:
    """Each analysed step of ``run``: its rightmost and largest-modulus Ritz value (with the share of
    its Ritz vector in G's parameters), h max |lambda| and the trap's signs."""
    lines = [
        "| step | max Re λ (G share) | largest-modulus λ (G share) | h·max\\|λ\\| | ‖v‖ | ‖∇_G L_G‖ "
        "| D(G(z)) | mean x(1 − x) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted((r for r in rows if r["run"] == run), key=lambda r: r["step"]):
        m, x = r["modulus"], r["real"]
        big = np.hypot(m["re"][0], m["im"][0])
        lines.append(
            f"| {r['step']} | {x['re'][0]:.3g} ({x['g_share'][0]:.2f}) | "
            f"{eigenvalue(m['re'][0], m['im'][0])} ({m['g_share'][0]:.2f}) | "
            f"{r['d_hyper']['learning_rate'] * big:.2g} | {r['v_norm']:.2g} | {r['g_grad_norm']:.2g} | "
            f"{r['d_fake']:.2g} | {r['saturation']:.2g} |"
        )
    return "\n".join(lines) + "\n"


def jacobian_rows(path: str = JACOBIAN) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def get_tables() -> dict:
    rows = jacobian_rows()
    return {
        (DOC, "dirac"): dirac_table(),
        **{(DOC, f"jacobian_{run}"): jacobian_table(rows, run) for run in RUNS},
    }


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
