"""The reproduction sweep: the paper's MNIST model, both update schemes, 5 seeds each (10 trials).

  python experiments/scripts/sweep.py --sweep=experiments/sweeps/seeds.py --backend=tpu --evaluate \
      --root=gs://BUCKET/seeds --project=PROJECT --zone=us-central2-b --num_tpus=5
"""

from experiments.sweeps import product

CONFIG = "experiments/configs/paper_mnist.py"


def get_sweep() -> list[dict]:
    return product(update=["simultaneous", "alternating"], seed=list(range(5)))
