"""An Airflow DAG for the takedown pipeline (docs/scale.md).

One task group per stage, each mapped over the datasets (dynamic task
mapping: one task instance per dataset, like a job array), each stage after
the one before. Every instance runs the stage command of one dataset on the
shared workspace, exactly as `takedown plan` writes it for Slurm or
Kubernetes. Set TAKEDOWN, WORKSPACE, STUDY and DATASETS for your site.
"""

from __future__ import annotations

import shlex
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

TAKEDOWN = "/opt/takedown/bin/takedown"  # the binary on every worker
WORKSPACE = "/shared/takedown-work"  # a path every worker sees
STUDY = "/shared/paper/takedown.yaml"  # or None: then --no-study
DATASETS = ["demo", "local/other"]
STAGES = ["fetch", "normalize", "fingerprint", "cluster", "summarize"]


def command(stage: str, dataset: str) -> str:
    args = [TAKEDOWN, "--workspace", WORKSPACE]
    args += ["--study", STUDY] if STUDY else ["--no-study"]
    # --wait: a dataset or workspace another task holds is waited for;
    # --json: one event per line in the task log.
    args += ["--wait", "30m", "--json", stage, dataset]
    return shlex.join(args)


with DAG(
    dag_id="takedown",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    default_args={
        # Exit 75 (busy) is worth retrying; exits 2-5 are not (usage, bad
        # input, mismatch, workspace): fix the cause and clear the task.
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
    },
) as dag:
    previous = None
    for stage in STAGES:
        tasks = BashOperator.partial(task_id=stage).expand(
            bash_command=[command(stage, d) for d in DATASETS]
        )
        if previous is not None:
            previous >> tasks
        previous = tasks
