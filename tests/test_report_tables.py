"""Every generated table in the results pages is what its report script makes from the committed
records (experiments/reports/tables.py): rerun a script with --write after changing a record."""

import os
import shutil

import pytest

from experiments.reports import (
    bench_report,
    collect,
    dynamics_report,
    floors_report,
    headline_report,
    lucic_report,
    modes_report,
    reproduction_report,
    results_report,
    roads_report,
    set_floors_report,
    tables,
    trap_report,
)

REPORTS = {
    "bench_report": bench_report.get_tables,
    "dynamics_report": dynamics_report.get_tables,
    "floors_report": floors_report.get_tables,
    "headline_report": headline_report.get_tables,
    "lucic_report": lucic_report.get_tables,
    "modes_report": modes_report.get_tables,
    "reproduction_report": reproduction_report.get_tables,
    "results_report": results_report.get_tables,
    "roads_report": roads_report.get_tables,
    "set_floors_report": set_floors_report.get_tables,
    "trap_report": trap_report.get_tables,
}


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_committed_tables_are_the_reports_output(report):
    made = REPORTS[report]()
    assert made
    for (doc, name), table in made.items():
        committed = tables.block(tables.read(doc), name)
        assert committed == table, (
            f"{doc}: table {name} differs from {report}'s output; rerun it with --write"
        )


def test_modes_table_files_are_the_reports_output():
    for (_, name), table in modes_report.get_tables().items():
        if name in modes_report.DOC_TABLES:
            assert tables.read(modes_report.DOC_TABLES[name][2]) == table, name
    # the earlier protocol's tables (MODES.md gives their modes_report.py commands)
    runs = os.path.join(tables.ROOT, modes_report.RUNS, "alternating_lecun")
    out = "experiments/results/modes/alternating_lecun/"
    for name, sub, max_step in (
        ("toys", "pacgan_toys", None),
        ("toys_to_2000", "pacgan_toys", 2000),
        ("toys_long", "pacgan_long", None),
    ):
        trials = modes_report.load_root(os.path.join(runs, sub), modes_report.TOY_METRICS, max_step)
        assert tables.read(f"{out}{name}.md") == modes_report.toy_table(trials), name


def test_jacobian_table_file_is_the_reports_output():
    rows = dynamics_report.jacobian_rows()
    made = "\n".join(
        f"### {run}\n\n{dynamics_report.jacobian_table(rows, run)}" for run in dynamics_report.RUNS
    )
    assert tables.read("experiments/results/jacobian_study/table.md") == made


def test_every_marked_block_has_a_report():
    made = {key for get in REPORTS.values() for key in get()}
    pages = [f"experiments/reports/{f}" for f in os.listdir(os.path.join(tables.ROOT, "experiments/reports"))]
    pages += [f"docs/{f}" for f in os.listdir(os.path.join(tables.ROOT, "docs"))]
    for doc in ("README.md", *pages):
        if not doc.endswith(".md"):
            continue
        for line in tables.read(doc).splitlines():
            if line.startswith("<!-- table "):
                name = line.split()[2].rstrip(":")
                assert (doc, name) in made, f"{doc}: block {name} has no report"


def test_replace_puts_a_table_between_its_markers():
    text = "a\n<!-- table t: made by x; do not edit -->\n| old |\n<!-- /table t -->\nb\n"
    new = tables.replace(text, "t", "| new |\n")
    assert new == "a\n<!-- table t: made by x; do not edit -->\n| new |\n<!-- /table t -->\nb\n"
    assert tables.block(new, "t") == "| new |\n"
    with pytest.raises(tables.TableError, match="no block"):
        tables.block(text, "other")


@pytest.mark.parametrize(
    "sweep, args",
    [
        (
            "games_mnist",
            dict(
                sort_by="fcd",
                metrics=["fcd", "parzen_ll", "classifier_score", "precision", "recall"],
                invalid=["model=dcgan28,game=wasserstein_gp"],
            ),
        ),
        (
            "penalty_dropout",
            dict(sort_by="fcd", metrics=["fcd", "parzen_ll", "classifier_score", "precision", "recall"]),
        ),
    ],
)
def test_sweep_results_are_collects_output(sweep, args, tmp_path):
    """A sweep's committed results.md is collect.py's table of its committed trials (as its page's
    command makes it), but for the root named in its title."""
    src = os.path.join(tables.RESULTS, sweep)
    for trial in os.listdir(src):
        if os.path.isdir(os.path.join(src, trial)):
            shutil.copytree(
                os.path.join(src, trial), tmp_path / trial, ignore=shutil.ignore_patterns("*.png")
            )
    committed = tables.read(f"experiments/results/{sweep}/results.md").split("\n", 1)[1]
    reason = committed.split("## INVALID: left out of the tables above and the figure\n\n")[-1].split("\n")[0]
    made = collect.write_results(
        str(tmp_path),
        args["sort_by"],
        "auto",
        args["metrics"],
        "seed",
        args.get("invalid", []),
        reason if args.get("invalid") else "",
    )
    assert made.split("\n", 1)[1] == committed
