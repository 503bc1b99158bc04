"""Spark properties of a Dataproc submission: Delta for the chosen runtime, restartable streams.

A Dataproc image and a Serverless runtime with the same version number do not run the same
Spark: image 3.0 runs Spark 4.1 and ships Delta 4.2 as the optional ``DELTA`` component (the
cluster provides the jars), Serverless runtime 3.0 runs Spark 4.0, so the batch brings the
Delta 4.2 build for Spark 4.0 from Maven Central (``io.delta:delta-spark_4.0_2.13:4.2.0``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.errors import SubmitError
from lakehouse.session import delta_package

__all__ = [
    "CLUSTER_IMAGES",
    "DELTA_CONF",
    "SERVERLESS_RUNTIMES",
    "Runtime",
    "cluster_runtime",
    "job_properties",
    "serverless_runtime",
]

DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


@dataclass(frozen=True)
class Runtime:
    """What a Dataproc image or Serverless runtime version runs, and where Delta comes from."""

    version: str
    spark: str  # Spark major.minor
    delta: str  # the Delta release the jobs use with it
    delta_component: bool  # True: the image ships Delta (optional component), no jars to add

    @property
    def delta_package(self) -> str:
        return delta_package(self.spark, self.delta)


CLUSTER_IMAGES: dict[str, Runtime] = {
    "3.0": Runtime(version="3.0", spark="4.1", delta="4.2.0", delta_component=True),
}
SERVERLESS_RUNTIMES: dict[str, Runtime] = {
    "3.0": Runtime(version="3.0", spark="4.0", delta="4.2.0", delta_component=False),
}


def _lookup(known: dict[str, Runtime], version: str, what: str) -> Runtime:
    try:
        return known[version]
    except KeyError:
        raise SubmitError(
            f"{what} {version!r} is not supported; known versions are {', '.join(sorted(known))}"
        ) from None


def cluster_runtime(image_version: str) -> Runtime:
    """The runtime of a cluster image version (``dataproc.image_version``)."""
    return _lookup(CLUSTER_IMAGES, image_version, "dataproc.image_version: Dataproc image")


def serverless_runtime(runtime_version: str) -> Runtime:
    """The runtime of a Serverless runtime version (``dataproc.runtime_version``)."""
    return _lookup(
        SERVERLESS_RUNTIMES, runtime_version, "dataproc.runtime_version: Serverless runtime"
    )


def job_properties(runtime: Runtime, *, serverless: bool) -> dict[str, str]:
    """Spark properties every lakehouse job gets on ``runtime``.

    Delta's session extension and catalog always; the jar coordinates only when the runtime
    has no Delta component. On a cluster the driver runs in YARN (cluster deploy mode), so the
    files and archives of the job are in its working directory, as on Serverless.
    """
    properties = dict(DELTA_CONF)
    if not runtime.delta_component:
        properties["spark.jars.packages"] = runtime.delta_package
    if not serverless:
        properties["spark.submit.deployMode"] = "cluster"
    return properties
