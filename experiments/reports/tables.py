"""Tables in the docs that report scripts make from the committed records.

A generated table sits in its markdown file between two comment lines,

    <!-- table NAME: made by experiments/reports/SCRIPT.py; do not edit -->
    ...
    <!-- /table NAME -->

Each report script has ``tables()`` returning {(doc path, NAME): markdown} from the records under
experiments/results/ and a ``--write`` flag that puts them into the docs; tests/test_report_tables.py
regenerates every table and compares it with the committed block.
"""

import os
import re

from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(ROOT, "experiments", "results")
WRITE = flags.DEFINE_bool("write", False, "Write the tables into their pages instead of printing them.")


class TableError(ValueError):
    """A doc without the block a report writes; the message is one line."""


def _pattern(name: str) -> re.Pattern:
    return re.compile(
        rf"(<!-- table {re.escape(name)}: [^\n]*-->\n)(.*?)(<!-- /table {re.escape(name)} -->)", re.S
    )


def block(text: str, name: str) -> str:
    """The generated markdown between the markers of table ``name`` in ``text``."""
    m = _pattern(name).search(text)
    if m is None:
        raise TableError(f"no block '<!-- table {name}: ... -->' ... '<!-- /table {name} -->'")
    return m.group(2)


def replace(text: str, name: str, table: str) -> str:
    block(text, name)  # raises if absent
    return _pattern(name).sub(lambda m: m.group(1) + table + m.group(3), text, count=1)


def read(doc: str) -> str:
    with open(os.path.join(ROOT, doc)) as f:
        return f.read()


def write(tables: dict) -> list[str]:
    """Puts each (doc, name) -> markdown into its doc; returns the names that changed."""
    changed = []
    for (doc, name), table in tables.items():
        text = read(doc)
        new = replace(text, name, table)
        if new != text:
            with open(os.path.join(ROOT, doc), "w") as f:
                f.write(new)
            changed.append(f"{doc}: {name}")
    return changed


def markdown(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]) + "\n"


def main(tables_fn, write_them: bool | None = None) -> None:
    """A report script's main: print its tables, or with --write put them into the docs."""
    tables = tables_fn()
    if WRITE.value if write_them is None else write_them:
        changed = write(tables)
        print("updated: " + (", ".join(changed) if changed else "nothing (all tables current)"))
    else:
        for (doc, name), table in tables.items():
            print(f"{doc}: {name}\n{table}")
