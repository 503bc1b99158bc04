"""Delta jars and properties per Dataproc runtime."""

from __future__ import annotations

import pytest

from lakehouse.dataproc.properties import cluster_runtime, job_properties, serverless_runtime
from lakehouse.errors import SubmitError

DELTA = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def test_image_3_0_uses_the_delta_component_of_spark_4_1() -> None:
    image = cluster_runtime("3.0")
    assert image.delta_package == "io.delta:delta-spark_4.1_2.13:4.2.0"  # what the image ships
    assert job_properties(image, serverless=False) == {
        **DELTA,
        "spark.submit.deployMode": "cluster",
    }


def test_serverless_3_0_gets_the_delta_build_for_spark_4_0() -> None:
    runtime = serverless_runtime("3.0")
    assert job_properties(runtime, serverless=True) == {
        **DELTA,
        "spark.jars.packages": "io.delta:delta-spark_4.0_2.13:4.2.0",
    }


@pytest.mark.parametrize(
    ("lookup", "what"),
    [
        (cluster_runtime, "dataproc.image_version: Dataproc image"),
        (serverless_runtime, "dataproc.runtime_version: Serverless runtime"),
    ],
)
def test_an_unknown_version_names_the_known_ones(lookup: object, what: str) -> None:
    with pytest.raises(SubmitError) as error:
        lookup("2.2")  # type: ignore[operator]
    assert str(error.value) == f"{what} '2.2' is not supported; known versions are 3.0"
