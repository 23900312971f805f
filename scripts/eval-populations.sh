#!/usr/bin/env bash
# eval-populations: the cluster stage's quality table (docs/evaluation.md).
# Generates the synthetic populations of the table with `takedown synth`
# (3000 accounts, about 100,000 posts each: seeds 1-3 and seed 1 with three
# times the viral hard negatives, on which the defaults were chosen; seeds 4
# and 5 and seed 5 with three times the viral activity, held out), runs
# the pipeline to the cluster stage with the default parameters (or the
# cluster flags given as arguments) and prints one row per population from
# `takedown eval -o json`.
#
# With --media first, the same populations are written with `synth --media`
# (media archives: image-only squads, text squads with images, viral memes;
# docs/synth.md#media), so co_image and near_image are on, and every row also
# gives B-cubed F1 over the text squads' members and over the image-only
# squads' members and, per image-only squad, its members in its largest
# cluster.
#
# Usage: bash scripts/eval-populations.sh [--media] [CLUSTER FLAGS...]
# Env:   EVAL_DIR (default /tmp/takedown-eval) keeps the generated archives.
set -euo pipefail
cd "$(dirname "$0")/.."
media=""
if [ "${1:-}" = "--media" ]; then
  media="--media"; shift
fi
dir="${EVAL_DIR:-/tmp/takedown-eval}"
mkdir -p "$dir"
go build -o "$dir/takedown" ./cmd/takedown
td="$dir/takedown"
ws="$dir/ws${media:+-media}"; rm -rf "$ws"
export TAKEDOWN_WORKSPACE="$ws"
if [ -n "$media" ]; then
  printf '%-22s %7s %7s %7s %7s %16s %8s %7s %7s  %s\n' population B3_P B3_R B3_F1 pair_F1 organic_FP groups text_F1 img_F1 'image squads'
else
  printf '%-22s %7s %7s %7s %7s %16s %8s\n' population B3_P B3_R B3_F1 pair_F1 organic_FP groups
fi
for pop in s1:1:1 s2:2:1 s3:3:1 s1v3:1:3 s4:4:1 s5:5:1 s5v3:5:3; do
  IFS=: read -r name seed viral <<<"$pop"
  name="$name${media:+-media}"
  out="$dir/$name"
  if [ ! -d "$out" ]; then
    "$td" --quiet synth --out "$out" --posts 100000 --accounts 3000 --seed "$seed" --viral-factor "$viral" $media
  fi
  "$td" --quiet datasets add "local/$name" "$out"/* >/dev/null
  "$td" --quiet run --to cluster $media "$@" "local/$name"
  clusters=""
  if [ -n "$media" ]; then
    clusters="$dir/$name.clusters.jsonl"
    "$td" --quiet export -d "local/$name" -f jsonl -o "$clusters" clusters
  fi
  "$td" eval -o json "local/$name" | python3 -c '
import csv, glob, json, sys
seed, viral, clusters, out = sys.argv[1:5]
r = json.load(sys.stdin)
label = f"seed {seed}" + (f", viral x{viral}" if viral != "1" else "")
org = "%d/%d (%.2f%%)" % (r["organic_clustered"], r["organic_accounts"], 100 * r["organic_fp_share"])
grp = "%d/%d" % (r["groups_recovered"], r["planted_groups"])
row = "%-22s %7.4f %7.4f %7.4f %7.4f %16s %8s" % (label, r["bcubed_precision"], r["bcubed_recall"],
      r["bcubed_f1"], r["pairwise_f1"], org, grp)
if clusters:
    # The image-only squads (group image-squad-NN): B-cubed over their members
    # (as takedown eval defines it) and the members of each squad in its largest cluster.
    truth = {}
    for f in glob.glob(out + "/*_truth.csv"):
        for t in csv.DictReader(open(f)):
            truth[t["account_id"]] = t["group"]
    of, members = {}, {}
    for line in open(clusters):
        c = json.loads(line)
        of[c["account_id"]] = c["cluster_id"]
        members.setdefault(c["cluster_id"], set()).add(c["account_id"])
    def bcubed(image):
        groups = {}
        for a, g in truth.items():
            if g and g.startswith("image-squad") == image:
                groups.setdefault(g, set()).add(a)
        P = R = n = 0
        per = []
        for g in sorted(groups):
            gm = groups[g]
            for a in gm:
                cm = members.get(of.get(a), {a})
                P += sum(truth.get(b) == g for b in cm) / len(cm)
                R += len(cm & gm) / len(gm)
                n += 1
            best = max([len(gm & m) for m in members.values()] + [0])
            per.append("%d/%d" % (best, len(gm)))
        P, R = P / n, R / n
        return 2 * P * R / (P + R), per
    f_text, _ = bcubed(False)
    f_img, per = bcubed(True)
    row += " %7.4f %7.4f  %s" % (f_text, f_img, " ".join(per))
print(row)
' "$seed" "$viral" "$clusters" "$out"
done
