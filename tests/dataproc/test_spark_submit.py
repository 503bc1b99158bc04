"""The staged release runs with ``spark-submit`` as Dataproc runs it: the main file, the
arguments, the properties and the ``--py-files`` of the cluster job request that reached the
(fake) server, the config file and the suites localized in the driver's working directory.

The driver's Python is the base interpreter with the venv's site-packages on ``PYTHONPATH``
(pyspark, delta, great-expectations), which does not process the editable install's ``.pth``:
the only ``lakehouse`` it can import is the staged ``lakehouse.zip``. A control run of the main
file with that interpreter and path, without the zip, shows that.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyspark
import pytest
from google.cloud import dataproc_v1

from lakehouse.config import load_config
from lakehouse.dataproc.launch import Submission, launch
from lakehouse.dataproc.properties import cluster_runtime
from lakehouse.quality.suites import find_suite, load_suite
from tests.conftest import events_landing
from tests.dataproc.conftest import write_job_config
from tests.dataproc.fake_dataproc import FakeDataproc, serve
from tests.product_generator import GeneratorSpec, generate_events, write_landing

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _local(uri: str) -> Path:
    assert uri.startswith("file://"), uri
    return Path(uri.removeprefix("file://"))


def _localize(job: dataproc_v1.PySparkJob, workdir: Path) -> Path:
    """What Dataproc (YARN) does before the driver starts: files into the working directory,
    archives extracted into a folder named by their ``#alias``."""
    workdir.mkdir()
    for uri in job.file_uris:
        shutil.copyfile(_local(uri), workdir / uri.rsplit("/", 1)[1])
    for uri in job.archive_uris:
        path, alias = uri.split("#")
        with zipfile.ZipFile(_local(path)) as archive:
            archive.extractall(workdir / alias)
    return workdir


def _env() -> dict[str, str]:
    """The driver's environment: the base interpreter, the venv's packages on PYTHONPATH."""
    base_python = getattr(sys, "_base_executable", sys.executable)
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "TZ": "UTC",
        "JAVA_HOME": os.environ.get("JAVA_HOME", ""),
        "SPARK_HOME": str(Path(pyspark.__file__).parent),
        "PYSPARK_PYTHON": base_python,
        "PYSPARK_DRIVER_PYTHON": base_python,
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "PYTHONNOUSERSITE": "1",
    }


def _spark_submit(job: dataproc_v1.PySparkJob, workdir: Path) -> subprocess.CompletedProcess[str]:
    image = cluster_runtime("3.0")
    conf = dict(job.properties)
    assert conf.pop("spark.submit.deployMode") == "cluster"  # YARN only; local runs the driver here
    command = [
        str(Path(sys.executable).parent / "spark-submit"),
        "--master",
        "local[2]",
        # what the image's Delta component puts on the classpath (Spark 4.1, like pyspark here)
        "--packages",
        image.delta_package,
        "--conf",
        "spark.ui.enabled=false",
        *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
    ]
    command += ["--py-files", ",".join(str(_local(u)) for u in job.python_file_uris)]
    command += [str(_local(job.main_python_file_uri)), *job.args]
    return subprocess.run(
        command, cwd=workdir, env=_env(), capture_output=True, text=True, timeout=600, check=False
    )


def _delta_rows(table: Path) -> int:
    """Rows of a Delta table from the statistics of its log (no Spark needed)."""
    rows = 0
    for commit in sorted((table / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                rows += json.loads(action["add"]["stats"])["numRecords"]
    return rows


def test_staged_job_runs_with_spark_submit_as_dataproc_runs_it(tmp_path: Path) -> None:
    lake = tmp_path / "data"
    path = write_job_config(tmp_path / "conf")
    text = path.read_text()
    for key, folder in (("root", "lake"), ("checkpoint_root", "checkpoints")):
        text = text.replace(f'{key} = "{folder}"', f'{key} = "{lake / folder}"')
    text = text.replace('landing_path = "landing"', f'landing_path = "{lake / "landing"}"')
    path.write_text(text)
    config = load_config(path, env={})
    start = datetime.now(UTC) - timedelta(minutes=30)
    events = generate_events(GeneratorSpec(count=60, bad_share=0.2, seed=11, start=start))
    write_landing(events, events_landing(config), events_per_file=30)

    fake = FakeDataproc()
    with serve(fake) as channel:
        submission = Submission("bronze", serverless=False, available_now=True, workload_id="b")
        launch(config, path, submission, say=lambda _: None, channel=channel, wait=False)
    (request,) = [r.job.pyspark_job for r in fake.requests]
    assert list(request.args) == ["--config", "job.toml", "--available-now"]

    # control: the driver's interpreter and path alone, without the staged zip, have no lakehouse
    control = subprocess.run(
        [_env()["PYSPARK_DRIVER_PYTHON"], str(_local(request.main_python_file_uri)), "--help"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert control.returncode != 0
    assert "No module named 'lakehouse'" in control.stderr

    workdir = _localize(request, tmp_path / "work")
    result = _spark_submit(request, workdir)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "bronze: done in" in result.stdout
    assert _delta_rows(lake / "lake" / "bronze" / "events") == 60

    # The promotions' suites are where the staged config says, in the driver's directory.
    staged = load_config(workdir / "job.toml", env={})
    assert Path(staged.quality.suite_dir) == workdir / "expectations"
    names = sorted(p.stem for p in (REPO / "expectations").glob("*.json"))
    assert sorted(p.stem for p in (workdir / "expectations").glob("*.json")) == names
    for name in names:
        assert load_suite(find_suite(name, Path(staged.quality.suite_dir))).name == name
