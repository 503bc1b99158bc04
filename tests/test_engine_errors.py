from __future__ import annotations

from lakehouse.engine_errors import failed_read_path, path_forms, root_cause


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
