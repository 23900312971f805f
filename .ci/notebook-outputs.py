"""Checks executed notebooks: no error output, and every rich output a notebook
declares is there.

Each notebook declares, in its metadata, the cells that must show a chart or a
table and the MIME type of what they show:

    "metadata": {"takedown": {"expected_outputs": {
        "posts-per-day": "image/png",
        "table": {"mime": "text/html", "contains": "<table"},
        "charts": [{"mime": "text/html", "contains": "id=\"chart-creation\""},
                   {"mime": "text/html", "contains": ["id=\"chart-network\"", "<circle"]}]
    }}}

An entry is a MIME type, or an object with the MIME type and text the output
must contain (one string or a list of strings: for kernels such as GoNB that
show SVG charts as text/html). A list asks for that many outputs in the one
cell (a cell that shows two charts), each matched by a different output. A
declared cell must exist and must have non-empty data matching each entry; a
notebook that declares nothing fails, so that a new notebook cannot skip the
check.

    python3 .ci/notebook-outputs.py EXECUTED.ipynb...
    python3 .ci/notebook-outputs.py --self-test EXECUTED.ipynb...

--self-test checks the check: for every declared output it removes that output
from a copy of the notebook and fails unless the copy is refused.
Standard library only (it runs before and without pandas).
"""
import copy
import json
import pathlib
import sys


def entry(want):
    """One declared output as (mime, [texts it must contain])."""
    if isinstance(want, str):
        return want, []
    contains = want.get("contains", [])
    return want["mime"], [contains] if isinstance(contains, str) else list(contains)


def expected(nb):
    """The declared outputs as {cell id: [(mime, [texts]), ...]}."""
    declared = nb.get("metadata", {}).get("takedown", {}).get("expected_outputs")
    if not declared:
        return None
    return {cell: [entry(w) for w in (want if isinstance(want, list) else [want])]
            for cell, want in declared.items()}


def text(data):
    return "".join(data) if isinstance(data, list) else str(data)


def matches(output, mime, contains):
    data = output.get("data", {}).get(mime)
    return bool(data) and all(t in text(data) for t in contains)


def describe(mime, contains):
    return mime + (" containing " + " and ".join(map(repr, contains)) if contains else "")


def problems(nb):
    """What is wrong with an executed notebook, one line each (empty when nothing)."""
    out = []
    cells = {c.get("id"): c for c in nb["cells"]}
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            if o["output_type"] == "error":
                out.append(f"cell {c.get('id')}: error {o.get('ename')}: {o.get('evalue')}")
    want = expected(nb)
    if want is None:
        out.append('declares no expected outputs (metadata "takedown": {"expected_outputs": {CELL-ID: MIME}})')
        return out
    for cell_id, mimes in want.items():
        cell = cells.get(cell_id)
        if cell is None or cell["cell_type"] != "code":
            out.append(f"cell {cell_id}: no such code cell (metadata takedown.expected_outputs is stale)")
            continue
        outputs = list(cell.get("outputs", []))
        for mime, contains in mimes:
            i = next((i for i, o in enumerate(outputs) if o is not None and matches(o, mime, contains)), None)
            if i is None:
                out.append(f"cell {cell_id}: no {describe(mime, contains)} output")
            else:
                outputs[i] = None  # each declared output is matched by a different one
    return out


def without(nb, cell_id, mime, contains):
    """A copy of nb where every output of cell_id that matches the entry is gone."""
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        if c.get("id") == cell_id:
            c["outputs"] = [o for o in c.get("outputs", []) if not matches(o, mime, contains)]
    return nb


def main(args):
    self_test = args[:1] == ["--self-test"]
    paths = [pathlib.Path(a) for a in (args[1:] if self_test else args)]
    if not paths:
        print("usage: notebook-outputs.py [--self-test] EXECUTED.ipynb...", file=sys.stderr)
        return 2
    bad = 0
    for p in paths:
        nb = json.loads(p.read_text())
        want = expected(nb) or {}
        if self_test:
            tried, missed = 0, 0
            for cell_id, mimes in want.items():
                for mime, contains in mimes:
                    tried += 1
                    if not problems(without(nb, cell_id, mime, contains)):
                        print(f"{p.name}: cell {cell_id} without its {describe(mime, contains)} output was not refused")
                        missed += 1
            print(f"{p.name}: self-test removed {tried} declared outputs one at a time, {tried - missed} refused")
            bad += missed + (tried == 0)
            continue
        found = problems(nb)
        n = sum(len(m) for m in want.values())
        print(f"{p.name}: {len(nb['cells'])} cells, {n} expected rich outputs, {len(found)} problems")
        for line in found:
            print(f"  {line}")
        bad += len(found)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
