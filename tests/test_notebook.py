"""examples/quickstart.ipynb runs end to end in a Jupyter kernel at tiny size (its parameter cell
replaced), and the committed copy is stored executed at its own parameters, with its images, and small."""

import ast
import os

import nbclient
import nbformat
import numpy as np
from conftest import ROOT

from gan_jax.training import images

NOTEBOOK = os.path.join(ROOT, "examples", "quickstart.ipynb")
TINY = {"NUM_STEPS": 4, "NUM_EVAL": 100, "INTERPOLATION_STEPS": 3}
FIGURES = 4  # the show() calls: the sample grids, the curves, fair beside truncated samples, interpolations


def parameters(nb) -> tuple[int, dict]:
    """(index, {name: value}) of the cell tagged ``parameters``: plain assignments of literals."""
    (index,) = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    tree = ast.parse(nb.cells[index].source)
    return index, {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body}


def outputs(nb, kind: str) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == kind]


def text(nb) -> str:
    return "".join(o.get("text", "") for o in outputs(nb, "stream"))


# ~30 s of CPU (kernel start, imports, train, restores, evaluation): the notebook runs in the default suite
def test_the_notebook_runs_end_to_end_at_tiny_size(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    index, defaults = parameters(nb)
    params = defaults | TINY | {"WORKDIR": str(tmp_path)}
    assert set(params) == set(defaults)  # the test sets only what the notebook declares
    nb.cells[index].source = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": ROOT}}
    ).execute()
    assert not outputs(nb, "error")
    shown = [o for o in outputs(nb, "display_data") if "image/png" in o.data]
    assert len(shown) == FIGURES
    steps = TINY["NUM_STEPS"]
    assert f"trained to step {steps} in {tmp_path}" in text(nb)
    assert os.path.isdir(tmp_path / "checkpoints" / str(steps))
    x = np.load(tmp_path / "samples.npy")
    assert x.shape == (64, 784) and x.min() >= 0.0 and x.max() <= 1.0  # G's sigmoid outputs
    assert np.load(tmp_path / "samples_truncated_0.5.npy").shape == (64, 784)
    # ten paths of K images, 28 px tiles 1 px apart, written at twice the size
    k = TINY["INTERPOLATION_STEPS"]
    assert images.read_png(str(tmp_path / "interpolations.png")).shape == (
        2 * (10 * 29 + 1),
        2 * (k * 29 + 1),
        3,
    )
    assert "parzen_ll" in text(nb) and "fcd" in text(nb)


def test_the_committed_notebook_is_executed_at_its_parameters_with_images():
    assert os.path.getsize(NOTEBOOK) < 1_000_000
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))  # top to bottom, once
    assert not outputs(nb, "error")
    assert len([o for o in outputs(nb, "display_data") if "image/png" in o.data]) == FIGURES
    _, params = parameters(nb)
    assert f"trained to step {params['NUM_STEPS']} in" in text(nb)  # outputs of the stored parameters
