"""Compares the id columns the one-liners gave with the Parquet values.

usage: compare.py REF_DIR ONELINERS.tsv DUMP_ROOT

REF_DIR is what ./reference wrote: REF_DIR/<table>.cols names the id
columns, REF_DIR/<table>/<column>.txt holds the Parquet values read through
the Go API. Line i (from 0) of ONELINERS.tsv is READER <TAB> TABLE <TAB>
WANTED DIFFERENCES <TAB> CODE, and DUMP_ROOT/<i> holds what that one-liner
gave, in the same layout (a *_dump script wrote it). A missing value is \\N;
an empty string counts as missing too (R's read.csv reads an empty field of
a character column as ""). Prints one line per one-liner and its columns'
types, the columns that differ; exits 1 when a count is not the wanted one.
"""
import os
import sys

ref_dir, oneliners, dump_root = sys.argv[1:4]


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [None if s in ("\\N", "") else s for s in f.read().split("\n")[:-1]]


fail = False
with open(oneliners, encoding="utf-8") as f:
    jobs = [line.rstrip("\n").split("\t") for line in f]
for i, (reader, table, want, code) in enumerate(jobs):
    with open(os.path.join(ref_dir, table + ".cols"), encoding="utf-8") as f:
        cols = f.read().split()[0].split(",")
    dump = os.path.join(dump_root, str(i))
    total, notes, types = 0, [], []
    for c in cols:
        ref = lines(os.path.join(ref_dir, table, c + ".txt"))
        got = lines(os.path.join(dump, c + ".txt"))
        with open(os.path.join(dump, c + ".type"), encoding="utf-8") as f:
            types.append(f"{c}:{f.read().strip()}")
        if len(got) != len(ref):
            notes.append(f"{c}: {len(got)} rows read, {len(ref)} in Parquet")
            total += max(len(got), len(ref))
            continue
        bad = [k for k, (g, r) in enumerate(zip(got, ref)) if g != r]
        if bad:
            present = sum(r is not None for r in ref)
            notes.append(f"{c}: {len(bad)} of {present} non-null differ "
                         f"(row {bad[0]}: read {got[bad[0]]!r}, Parquet {ref[bad[0]]!r})")
        total += len(bad)
    ok = str(total) == want
    fail |= not ok
    verdict = "ok" if ok else f"FAIL (docs/export.md says {want})"
    print(f"{reader:<19} {table:<9} {total:>6} id differences  {verdict}  {code}")
    print(f"    types: {' '.join(types)}")
    for n in notes:
        print(f"    {n}")
sys.exit(1 if fail else 0)
