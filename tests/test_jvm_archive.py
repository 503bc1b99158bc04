from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.config import SparkConfig
from lakehouse.jvm_archive import (
    archive_file,
    archive_options,
    java_home,
    make_archive,
    spark_jars_dir,
)
from lakehouse.session import spark_conf


def _runtime(root: Path) -> tuple[Path, Path]:
    home, jars = root / "jdk", root / "jars"
    (home / "lib").mkdir(parents=True)
    (home / "lib" / "modules").write_bytes(b"m" * 10)
    jars.mkdir()
    for name in ("spark-core.jar", "spark-sql.jar"):
        (jars / name).write_bytes(b"j" * 10)
    return home, jars


def test_the_archive_is_named_by_the_java_runtime_and_the_jars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    home, jars = _runtime(tmp_path)
    first = archive_file(home, jars)
    assert first is not None and first.parent == tmp_path / "cache" / "lakehouse" / "jvm"
    assert archive_file(home, jars) == first
    (jars / "spark-sql.jar").write_bytes(b"j" * 11)  # an upgraded jar
    second = archive_file(home, jars)
    assert second is not None and second != first
    (jars / "delta.jar").write_bytes(b"d")  # one more jar
    assert archive_file(home, jars) not in (first, second)
    os.utime(home / "lib" / "modules", ns=(1, 1))  # another Java runtime
    assert archive_file(home, jars) not in (first, second)
    assert archive_file(tmp_path / "no-jdk", jars) is None


def test_the_local_driver_uses_the_archive_once_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert archive_options() == ()
    log4j = spark_conf(SparkConfig())["spark.driver.extraJavaOptions"]
    assert log4j.startswith("-Dlog4j.configurationFile=") and " " not in log4j
    file = archive_file()
    assert file is not None
    file.parent.mkdir(parents=True)
    file.write_bytes(b"")
    assert archive_options() == (
        f"-XX:SharedArchiveFile={file}",
        "-Xshare:auto",
        "-Xlog:cds=off",
        "-Xlog:cds+dynamic=off",
    )
    assert spark_conf(SparkConfig())["spark.driver.extraJavaOptions"] == " ".join(
        [log4j, *archive_options()]
    )
    assert "spark.driver.extraJavaOptions" not in spark_conf(SparkConfig(mode="dataproc"))


_LOADED_FROM = """
import sys
from lakehouse.config import SparkConfig
from lakehouse.session import build_session, java_options
options = " ".join([*java_options(), f"-Xlog:class+load=info:file={sys.argv[1]}"])
spark = build_session(SparkConfig(extra={"spark.driver.extraJavaOptions": options}), "t")
path = sys.argv[2]
spark.range(3).write.format("delta").save(path)
print(spark.read.format("delta").load(path).count())
"""


@pytest.mark.slow
def test_a_made_archive_serves_spark_and_delta_classes_to_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warm-up run writes the archive; a new driver maps Spark's classes and Delta's
    (a jar Spark adds at start) from it; a second make keeps it.

    The archive is the one `make jvm-archive` made for this runtime and virtual environment
    (every README command makes it first, so CI checks what its own set-up made, and the
    warm-up's 40 s are not paid twice); where there is none, the test makes one in a cache
    of its own."""
    assert java_home() is not None
    made = archive_file()
    if made is None or not made.is_file():
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        file, said = make_archive()
        assert file is not None and file.is_file(), said
        assert said.startswith("made the JVM archive")
    else:
        file = made
    assert make_archive() == (file, f"the JVM archive {file} is there")
    log = tmp_path / "classes.log"
    run = subprocess.run(
        [sys.executable, "-c", _LOADED_FROM, str(log), str(tmp_path / "t")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert run.stdout.strip().splitlines()[-1] == "3"
    shared = [line for line in log.read_text().splitlines() if "shared objects file (top)" in line]
    assert any(" org.apache.spark.sql." in line for line in shared)
    assert any(" org.apache.spark.sql.delta." in line for line in shared)
    assert "[cds" not in run.stdout + run.stderr


def test_a_failed_warm_up_leaves_no_archive_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Java runtime that cannot start (here: no java binary in it) makes no archive; the
    set-up goes on (every start is only slower) and says why."""
    home, _ = _runtime(tmp_path)
    monkeypatch.setenv("JAVA_HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    file, said = make_archive(timeout=120)
    assert file is None
    assert said.startswith("no JVM archive made (exit 1): "), said
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_archives_no_runtime_can_use_are_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each virtual environment has its own archive (its jars' paths and times are in it);
    a removed one's, an upgraded one's and one of unknown origin go at the next set-up."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    current = archive_file()
    assert current is not None
    folder = current.parent
    folder.mkdir(parents=True)

    def archive(file: Path, home: Path | None, jars: Path | None) -> None:
        file.write_bytes(b"jsa")
        if home is not None:
            made_for = {"java_home": str(home), "jars": str(jars)}
            file.with_suffix(".json").write_text(json.dumps(made_for))

    archive(current, java_home(), spark_jars_dir())
    other_home, other_jars = _runtime(tmp_path / "other")  # another venv, still there
    other = archive_file(other_home, other_jars)
    assert other is not None
    archive(other, other_home, other_jars)
    gone_home, gone_jars = _runtime(tmp_path / "gone")
    gone = archive_file(gone_home, gone_jars)
    assert gone is not None
    archive(gone, gone_home, gone_jars)
    shutil.rmtree(gone_jars)  # a removed venv
    upgraded_home, upgraded_jars = _runtime(tmp_path / "upgraded")
    upgraded = archive_file(upgraded_home, upgraded_jars)
    assert upgraded is not None
    archive(upgraded, upgraded_home, upgraded_jars)
    (upgraded_jars / "spark-core.jar").write_bytes(b"newer")
    archive(folder / "driver-0123456789abcdef.jsa", None, None)  # no record of its runtime

    assert make_archive() == (current, f"the JVM archive {current} is there")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [current.name, current.with_suffix(".json").name, other.name, f"{other.stem}.json"]
    )
