r"""The roads the 2014 lab did not take, measured beside the GAN (experiments/reports/ROADS.md): the toy
table from the committed runs under experiments/results/roads/toys/ and the extended Table 1 from those
under experiments/results/roads/mnist/ (one directory per trial, its replicas the seeds; each holds
commands.txt, the commands that made them).

Toys, each row: mean ± s.e. over the seeds of the last eval row (modes covered, high-quality %, reverse
KL; gan_jax/metrics/mode_metrics.py, the VEEGAN/PacGAN protocol) and the budget (its step). MNIST, each
row: the seeds whose samples collapsed to one class (classifier score below results_report's
COLLAPSED_SCORE), then mean ± s.e. over all seeds of the last eval row (Parzen under the paper's
protocol, FCD, classifier score, precision/recall; gan_jax/metrics/evaluate.py) and, where measured,
of each seed's Inception FID and KID (samples_vs_reference.eval.json), then the published Parzen row.

  python experiments/reports/roads_report.py           # print the table
  python experiments/reports/roads_report.py --write   # put it into ROADS.md
"""

import json
import os
import sys

from absl import app

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from experiments.reports import (  # noqa: E402
    lucic_report,
    modes_report,
    reproduction_report,
    results_report,
    tables,
)
from experiments.sweeps import roads_toys  # noqa: E402

DOC = "experiments/reports/ROADS.md"
TOYS = "roads/toys"  # <toy>/<row>: experiments/sweeps/roads_toys.py's record directories
TOY_METRICS = modes_report.TOY_METRICS  # modes covered, high quality %, reverse KL


def gan_options(config: dict) -> list[str]:
    """A GAN row's noise and each 2014-code option it turns on, in words."""
    m = config["model"]
    scale = {"uniform": "half-width", "normal": "std", "spherical": "radius"}[m["noise"]]
    options = [f"z {m['noise']}" + (f" ({scale} {m['noise_scale']:g})" if m.get("noise_scale") else "")]
    if config["game"] != "nonsaturating":
        options.append(f"G loss {config['game']}")
    if config.get("instance_noise"):
        options.append(f"instance noise σ = {config['instance_noise']:g}")
    if config.get("g_grad_target"):
        options.append(f"G-gradient rescaling τ = {config['g_grad_target']:g}")
    return options


def toy_road(config: dict) -> str:
    """What a toy row trains: the GAN with its MLP D, GMMN (no D) or the GAN against a fixed-feature D."""
    m = config["model"]
    if config["game"] == "gmmn":
        return "GMMN: G alone, √MMD² under a Gaussian mixture (no D)"
    if m.get("discriminator", "network") == "random_fourier":
        return f"GAN, D = logistic on {m['rff_features']:,} fixed random Fourier features"
    options = [  # each toy's own σ, its modes' std (roads_toys)
        "instance noise σ = the modes' std" if o.startswith("instance noise") else o
        for o in gan_options(config)
    ]
    return "GAN (MLP D), " + ", ".join(options)


def toy_table() -> str:
    """One row per road, the ring's and the grid's last eval side by side (a row is one record name of
    experiments/sweeps/roads_toys.py on each toy, labelled by its config, which must agree across toys)."""
    summaries, labels = {}, {}
    for toy in roads_toys.TOYS:
        root = os.path.join(tables.RESULTS, TOYS, toy)
        trials = {os.path.basename(t["path"]): t for t in modes_report.load_root(root, TOY_METRICS)}
        order = [name for name, _, _ in roads_toys.rows(toy)]
        unknown = set(trials) - set(order)
        if unknown:
            raise tables.TableError(f"{root}: records {sorted(unknown)} are not rows of roads_toys")
        for name in (n for n in order if n in trials):
            config = trials[name]["config"]
            if config["data"]["name"] != toy:
                raise tables.TableError(f"{trials[name]['path']}: trained on {config['data']['name']}")
            if labels.setdefault(name, toy_road(config)) != toy_road(config):
                raise tables.TableError(f"{name}: the toys' records run different rows")
            summaries[toy, name] = modes_report.final_summary(trials[name], TOY_METRICS)
    rows = []
    for name, label in labels.items():
        row = [label]
        for toy in roads_toys.TOYS:
            s = summaries.get((toy, name))
            row += (
                ["–"] * 4
                if s is None
                else [
                    f"{s['seeds']} × {s['step']:,}",
                    modes_report.fmt(s["modes_covered"]),
                    modes_report.fmt(s["high_quality"], 1),
                    modes_report.fmt(s["reverse_kl"]),
                ]
            )
        rows.append(row)
    header = ["row"]
    for toy, modes in (("ring", 8), ("grid", 25)):
        header += [f"{toy}: seeds × steps", f"modes (of {modes})", "high quality %", "reverse KL"]
    return tables.markdown(header, rows)


MNIST = "roads/mnist"
MNIST_METRICS = ("parzen_ll", "fcd", "classifier_score", "precision", "recall")
MNIST_ORDER = (  # record directories: the GAN, the roads, then its noise and the 2014 code's options
    "gan_uniform",
    "nonneural",
    "gmmn",
    "gmmn_ae",
    "mmd_gan",
    "gan_normal",
    "gan_spherical",
    "gan_spherical_r10",
    "blend",
    "thresholded",
    "lazy",
    "instance_noise",
    "g_grad_target",
)
KMEANS = "roads/kmeans/kmeans_parzen.json"
INCEPTION_N = 1_000  # samples a seed and test images (roads_mnist.sh's N_EVAL)
# Parzen log-likelihoods (nats) as published: Goodfellow et al. 2014 Table 1 (the GAN), Li et al. 2015
# Table 1 (GMMN+AE), ../shared/BRAINSTORM_NOTES.md section 1 (the data-space GMMN's is unverified there).
PUBLISHED_PARZEN = {
    "gan": "225 ± 2 (Goodfellow et al. 2014)",
    "gmmn": "147 ± 2 (Li et al. 2015; not verified here)",
    "gmmn_ae": "282 ± 2 (Li et al. 2015)",
}


def mnist_road(config: dict) -> tuple[str, str]:
    """(the row's name, its published-row key) from a trial's config."""
    m, game = config["model"], config["game"]
    if m["name"] == "gmmn_ae":
        return "GMMN+AE: GMMN in a 32-d autoencoder code, decoded", "gmmn_ae"
    if game == "gmmn":
        return "GMMN: G alone, √MMD² on pixels (no D)", "gmmn"
    if game == "mmd_gan":
        return "MMD-GAN: MMD on D's learned features", ""
    if m.get("discriminator", "network") == "random_fourier":
        return f"GAN, D = logistic on {m['rff_features']:,} fixed random Fourier features", ""
    options = gan_options(config)
    return "GAN (maxout D), " + ", ".join(options), "gan" if options == ["z uniform"] else ""


def real_row() -> list:
    """Real data under the same protocols: 10,000 training images as the samples (the reproduction's
    record) and, for Inception, the test images against as many training images (set_floors)."""
    real = reproduction_report.eval_json(reproduction_report.LONG, 0)["real_data"]
    n = INCEPTION_N
    floor = lucic_report.floor("mnist", n)
    return [
        f"real data (Inception: test[:{n}] against train[:{n}])",
        "–",
        "–",
        "–",
        f"{real['parzen_ll']:.1f}",
        f"{real['fcd']:.2f}",
        f"{real['classifier_score']:.2f}",
        f"{real['precision']:.2f}",
        f"{real['recall']:.2f}",
        f"{floor['inception_fid']:.1f}",
        f"{floor['inception_kid_mean'] * 1e3:.1f}",
        "–",
    ]


def kmeans_row() -> list:
    """Theis et al.'s warning as a row: k-means centroids of the training images scored as samples
    (experiments/scripts/kmeans_parzen.py's record)."""
    with open(os.path.join(tables.RESULTS, KMEANS)) as f:
        record = json.load(f)
    r = record["kmeans_centroids"]
    return [
        f"{record['k']:,} k-means centroids of the training images (no model)",
        "–",
        "–",
        "–",
        f"{r['parzen_ll']:.1f}",
        f"{r['fcd']:.2f}",
        f"{r['classifier_score']:.2f}",
        f"{r['precision']:.2f}",
        f"{r['recall']:.2f}",
        "–",
        "–",
        "–",
    ]


def mnist_table() -> str:
    root = os.path.join(tables.RESULTS, MNIST)
    rows = []
    trials = {os.path.basename(t["path"]): t for t in modes_report.load_root(root, MNIST_METRICS)}
    unknown = set(trials) - set(MNIST_ORDER)
    if unknown:
        raise tables.TableError(f"{root}: records {sorted(unknown)} are not in MNIST_ORDER")
    for t in (trials[name] for name in MNIST_ORDER if name in trials):
        s = modes_report.final_summary(t, MNIST_METRICS)
        last = [h[-1] for h in t["histories"]]
        collapsed = sum(r["classifier_score"] < results_report.COLLAPSED_SCORE for r in last)
        name, published = mnist_road(t["config"])
        fid = lucic_report.seed_reports(t["dirs"])
        if any(r["protocol"]["n_samples"] != INCEPTION_N for r in fid):
            raise tables.TableError(f"{t['path']}: Inception measured on other than {INCEPTION_N} samples")
        rows.append(
            [
                name,
                s["seeds"],
                f"{s['step']:,}",
                f"{collapsed}/{s['seeds']}",
                modes_report.fmt(s["parzen_ll"], 1),
                modes_report.fmt(s["fcd"], 1),
                modes_report.fmt(s["classifier_score"], 2),
                modes_report.fmt(s["precision"], 2),
                modes_report.fmt(s["recall"], 2),
                modes_report.fmt(modes_report.mean_se([r["inception_fid"] for r in fid]), 1) if fid else "–",
                modes_report.fmt(modes_report.mean_se([r["inception_kid_mean"] * 1e3 for r in fid]), 1)
                if fid
                else "–",
                PUBLISHED_PARZEN.get(published, "–"),
            ]
        )
    rows += [real_row(), kmeans_row()]
    header = [
        "row",
        "seeds",
        "G updates",
        "collapsed",
        "Parzen (nats)",
        "FCD",
        "classifier score",
        "precision",
        "recall",
        "Inception FID",
        "KID × 10³",
        "published Parzen",
    ]
    return tables.markdown(header, rows)


def get_tables() -> dict:
    return {(DOC, "toys"): toy_table(), (DOC, "mnist"): mnist_table()}


def main(argv):
    del argv
    tables.main(get_tables)


if __name__ == "__main__":
    app.run(main)
