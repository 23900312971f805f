"""Runs pandas one-liners and dumps their id columns for compare.py.

usage: pandas_dump.py JOBS.tsv   (run in the export folder)

Each line of JOBS.tsv is DUMP_DIR <TAB> ID_COLUMNS <TAB> EXPR; the id
columns of the frame EXPR gives go to DUMP_DIR/<column>.txt, one line per
row: integers in decimal, floats as the exact decimal of the double,
strings as is, \\N for a missing value.
"""
import math
import os
import sys

import pandas as pd


def render(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return "\\N"
    if isinstance(v, float):
        if math.isnan(v):
            return "\\N"
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


with open(sys.argv[1], encoding="utf-8") as jobs:
    for job in jobs:
        dump, cols, expr = job.rstrip("\n").split("\t")
        df = eval(expr, {"pd": pd})
        os.makedirs(dump, exist_ok=True)
        for c in cols.split(","):
            with open(os.path.join(dump, c + ".txt"), "w", encoding="utf-8") as f:
                f.write("".join(render(v) + "\n" for v in df[c].tolist()))
            with open(os.path.join(dump, c + ".type"), "w", encoding="utf-8") as f:
                f.write(str(df[c].dtype))
