from __future__ import annotations

import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from lakehouse.engine_errors import failed_read_path, has_condition, path_forms, root_cause


def test_path_forms_cover_the_spellings_of_a_local_file() -> None:
    assert path_forms("file:///tmp/a b.gz") == {
        "file:///tmp/a b.gz",
        "/tmp/a b.gz",
        "file:/tmp/a b.gz",
        "/tmp/a%20b.gz",
        "file:/tmp/a%20b.gz",
        "file:///tmp/a%20b.gz",
    }
    assert path_forms("gs://b/x.gz") == {"gs://b/x.gz"}


def test_a_python_error_is_its_own_cause() -> None:
    error = ValueError("bad value\nmore")
    assert root_cause(error) == "ValueError: bad value"
    assert failed_read_path(error) is None


def test_an_error_is_known_by_its_condition(spark: SparkSession) -> None:
    with pytest.raises(AnalysisException) as raised:
        spark.sql("SELECT * FROM no_such_table").collect()
    assert has_condition(raised.value, "TABLE_OR_VIEW_NOT_FOUND")
    assert not has_condition(raised.value, "DELTA_REPLACE_WHERE_MISMATCH")
    assert not has_condition(ValueError("TABLE_OR_VIEW_NOT_FOUND"), "TABLE_OR_VIEW_NOT_FOUND")
