"""A class-data-sharing archive for the local driver JVM: Spark's and Delta's classes
mapped from one file at start instead of read, parsed and verified from jars each time.

On this project's 2-core machine a bare session start took 7.3 s without it and 3.6 s
with it, and the first Delta query 2.5 s against 1.3 s (README, Performance): every
command and every test process that starts Spark pays that start.

The archive is made once, by a clean run of a small Delta and streaming workload
(``python -m lakehouse.jvm_archive``, which ``make`` runs at setup): a JVM started with
``-XX:ArchiveClassesAtExit`` writes the classes it loaded when it exits normally (a
killed JVM writes nothing, so only this run makes one). An archive is valid only for the
Java runtime and the class path it was made with, so its file name is a digest of both:
the runtime's ``lib/modules`` and Spark's jar folder (names, sizes, modification times).
A new JDK or a new pyspark finds no archive and starts as before until the next setup;
a JVM that cannot use an archive (another class path, e.g. ``spark.driver.extraClassPath``)
ignores it silently (``-Xshare:auto``, CDS messages off).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["archive_file", "archive_options", "java_home", "make_archive", "spark_jars_dir"]

_SILENT = ("-Xshare:auto", "-Xlog:cds=off", "-Xlog:cds+dynamic=off")


def java_home() -> Path | None:
    """The Java runtime Spark's launcher runs: ``$JAVA_HOME``, else ``java`` on the PATH."""
    explicit = os.environ.get("JAVA_HOME")
    if explicit:
        return Path(explicit)
    java = shutil.which("java")
    return Path(os.path.realpath(java)).parent.parent if java else None


def spark_jars_dir() -> Path:
    """The jars on the driver's class path (pyspark's ``jars`` folder)."""
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def _digest(home: Path, jars: Path) -> str | None:
    modules = home / "lib" / "modules"
    try:
        parts = [f"{modules}:{modules.stat().st_size}:{modules.stat().st_mtime_ns}", str(jars)]
        for jar in sorted(jars.iterdir()):
            stat = jar.stat()
            parts.append(f"{jar.name}:{stat.st_size}:{stat.st_mtime_ns}")
    except OSError:
        return None
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def archive_dir() -> Path:
    """``$XDG_CACHE_HOME/lakehouse/jvm`` (``~/.cache/lakehouse/jvm``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "lakehouse" / "jvm"


def archive_file(home: Path | None = None, jars: Path | None = None) -> Path | None:
    """Where the archive of a Java runtime (this one) and a jar folder (Spark's) is, made
    or not; None when neither can be found."""
    home = home or java_home()
    digest = _digest(home, jars or spark_jars_dir()) if home else None
    return archive_dir() / f"driver-{digest}.jsa" if digest else None


def archive_options() -> tuple[str, ...]:
    """The driver JVM options that use the archive, when there is one; none otherwise."""
    file = archive_file()
    if file is None or not file.is_file():
        return ()
    return (f"-XX:SharedArchiveFile={file}", *_SILENT)


_WORKLOAD = """
import sys, tempfile
from pathlib import Path
from lakehouse.config import SparkConfig
from lakehouse.session import build_session, java_options

dump = sys.argv[1]
options = " ".join([*java_options(archive=False), f"-XX:ArchiveClassesAtExit={dump}"])
spark = build_session(SparkConfig(extra={"spark.driver.extraJavaOptions": options}), "archive")
root = Path(tempfile.mkdtemp())
(root / "in").mkdir()
(root / "in" / "a.json").write_text('{"id": "a", "n": 1}\\n{"id": "b", "n": 2}\\n')
table = str(root / "t")
spark.createDataFrame([("a", 0)], "id string, n long").write.format("delta").save(table)

def batch(df, batch_id):
    df.write.format("delta").mode("append").option("txnAppId", "w").option(
        "txnVersion", batch_id).save(table)

query = (
    spark.readStream.schema("id string, n long").json(str(root / "in"))
    .writeStream.foreachBatch(batch).option("checkpointLocation", str(root / "cp"))
    .trigger(availableNow=True).start()
)
query.awaitTermination()
from delta.tables import DeltaTable
updates = spark.createDataFrame([("a", 5), ("c", 3)], "id string, n long")
(DeltaTable.forPath(spark, table).alias("t").merge(updates.alias("u"), "t.id = u.id")
    .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
spark.read.format("delta").load(table).groupBy("id").count().collect()
spark.sql(f"DESCRIBE HISTORY delta.`{table}`").collect()
spark.stop()
"""


def _made_for(file: Path) -> Path:
    return file.with_suffix(".json")


def _forget_stale(folder: Path) -> None:
    """Delete the archives no Java runtime and jar folder on this machine can use any more
    (a removed virtual environment, an upgraded pyspark or JDK): each is some 200 MB."""
    for old in folder.glob("driver-*.jsa"):
        try:
            made_for = json.loads(_made_for(old).read_text())
            current = archive_file(Path(made_for["java_home"]), Path(made_for["jars"]))
        except (OSError, ValueError, KeyError, TypeError):
            current = None
        if current != old:
            old.unlink(missing_ok=True)
            _made_for(old).unlink(missing_ok=True)


def make_archive(timeout: float = 600.0) -> tuple[Path | None, str]:
    """Make the archive of this Java runtime and Spark's jars by a clean run of a small
    Delta and streaming workload in a new process; (its file, what happened). An archive
    already there is kept. Never raises: without an archive every start is only slower."""
    file = archive_file()
    if file is None:
        return None, "no Java runtime or no Spark jars found: no archive made"
    file.parent.mkdir(parents=True, exist_ok=True)
    _forget_stale(file.parent)
    if file.is_file():
        return file, f"the JVM archive {file} is there"
    with tempfile.TemporaryDirectory(dir=file.parent) as work:
        dump = Path(work) / file.name
        try:
            run = subprocess.run(
                [sys.executable, "-c", _WORKLOAD, str(dump)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"no JVM archive made: the warm-up run failed: {exc}"
        if run.returncode != 0 or not dump.is_file():
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"no JVM archive made (exit {run.returncode}): {last}"
        home, jars = java_home(), spark_jars_dir()
        _made_for(file).write_text(json.dumps({"java_home": str(home), "jars": str(jars)}))
        os.replace(dump, file)  # whole or not at all: a start never maps half an archive
    return file, f"made the JVM archive {file} ({file.stat().st_size // 2**20} MB)"


if __name__ == "__main__":
    print(make_archive()[1])
