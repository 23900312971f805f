package study

// Template is the starting study file `takedown study init` writes. Its
// parameters are the defaults, so the runs it gives have the run ids of a
// plain `takedown run`.
const Template = `# takedown study file: a paper's datasets and parameters in one file.
# In this folder, takedown run, status, verify and pack work on the whole
# study (elsewhere: takedown -f path/to/takedown.yaml ...). Every key is
# described in docs/study.md. Parameter names are those the run manifests
# record (docs/stages/*.md lists them with their flags).
name: my-study

datasets:
  # A release of the registry (takedown datasets list).
  - name: demo
  # A dataset of your own: its files, each pinned by its sha256.
  # - name: local/my-release
  #   format: auto              # or a format named by: takedown datasets add --help
  #   files:
  #     - path: data/my_users_csv_hashed.zip
  #       sha256: 0123...       # sha256sum data/my_users_csv_hashed.zip
  #   params:                   # this dataset's own parameters, over the study's
  #     cluster:
  #       min_weight: 3

# Parameters of every dataset, by stage; what is not given is the default.
params:
  cluster:
    window_seconds: 60
    min_weight: 2
    min_score: 4

# Named variants: other parameter sets over each dataset's own. Their runs
# stay addressable (takedown-work/variants/<table>/variant=<name>/...).
# variants:
#   strict:
#     cluster:
#       min_weight: 3

# A sweep: one variant per value (per combination, for several keys).
# sweep:
#   cluster.window_seconds: [10, 60, 300]
`
