"""What an error from inside Spark says: its root cause in one line, the file it names.

Py4J and Spark wrap the JVM exception that failed a job in several layers (``An error
occurred while calling o60.sql``, ``Job aborted due to stage failure``, ``Encountered error
while reading file``); the innermost cause is what a person needs ("Not in GZIP format",
"Read-only file system"). These helpers read the chain without knowing Spark's classes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

__all__ = [
    "INTERRUPTIONS",
    "failed_read_path",
    "has_condition",
    "interruption",
    "is_engine_error",
    "java_chain",
    "path_forms",
    "root_cause",
]

_READ_FAILED = "FAILED_READ_FILE"


def is_engine_error(exc: BaseException) -> bool:
    """Spark's errors, and py4j's (JVM errors Spark did not convert, a lost gateway)."""
    from pyspark.errors import PySparkException

    return isinstance(exc, PySparkException) or type(exc).__module__.startswith("py4j.")


def _java_exception(exc: BaseException) -> Any | None:
    """The JVM throwable behind a Py4J or PySpark exception, if there is one."""
    java = getattr(exc, "java_exception", None)  # py4j.protocol.Py4JJavaError
    if java is None:
        java = getattr(exc, "_origin", None)  # pyspark.errors.CapturedException
    return java


def java_chain(exc: BaseException, limit: int = 20) -> Iterator[Any]:
    """The JVM throwable behind ``exc`` and its causes, outermost first."""
    java = _java_exception(exc)
    seen = 0
    while java is not None and seen < limit:
        yield java
        seen += 1
        cause = java.getCause()
        java = None if cause is None or cause.equals(java) else cause


# The JVM errors of a thread interrupted, as Spark names them (StreamExecution.IO_EXCEPTION_NAMES)
INTERRUPTIONS = (
    "java.lang.InterruptedException",
    "java.io.InterruptedIOException",
    "java.nio.channels.ClosedByInterruptException",
)


_SPARK_EXCEPTION = "org.apache.spark.SparkException"


def interruption(exc: BaseException, job_group: str | None = None) -> str | None:
    r"""The interruption behind ``exc`` (a JVM call of a ``foreachBatch`` function whose
    stream is being stopped), as one short line Spark recognises; None when it is not one.

    Spark tells a stop from a failure by matching the Python error's text against
    ``StreamExecution.PROXY_ERROR``: ``py4j.protocol.Py4JJavaError: An error occurred while
    calling((.|\r\n|\r|\n)*)(<one of INTERRUPTIONS>)``. That regex recurses once per
    character, and the text of a Py4J error holds the whole JVM stack trace: matching it
    overflowed the stream thread's stack (a ``StackOverflowError`` ending the thread where a
    stop was meant). This line holds the same verdict in a hundred characters.

    ``job_group`` is the stream's (the batch thread's ``spark.jobGroup.id``, the run id). A
    stop also cancels that group's jobs; the writes a batch runs side by side, in threads of
    their own that the stop does not interrupt, then fail with a ``SparkException`` such as
    ``[SPARK_JOB_CANCELLED] Job 3 cancelled Query [id = ..., runId = <group>] was stopped``:
    a stop too, by the test Spark applies when such an exception reaches it directly
    (``StreamExecution.isCancelledJobGroup``: "cancelled" and the group in the message), which
    it does not apply to a Python error."""
    try:  # (an error with no JVM throwable behind it has an empty chain)
        chain = [(str(j.getClass().getName()), str(j.getMessage())) for j in java_chain(exc)]
    except Exception:  # a JVM that cannot answer: not ours to judge
        return None
    found = next((name for name, _ in chain if name in INTERRUPTIONS), None)
    if (
        found is None
        and job_group
        and any(
            name == _SPARK_EXCEPTION and "cancelled" in message and job_group in message
            for name, message in chain
        )
    ):
        found = f"a job of job group {job_group} cancelled, as by {INTERRUPTIONS[0]}"
    if found is None:
        return None
    return f"py4j.protocol.Py4JJavaError: An error occurred while calling the JVM: {found}"


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else ""


def root_cause(exc: BaseException) -> str:
    """``<Class>: <message>`` of the innermost cause of ``exc``, in one line.

    For a JVM error the innermost throwable with a message (``ZipException: Not in GZIP
    format``); for any other exception its own first line. Spark's error conditions that
    name a file are kept in front when the cause does not name it."""
    chain = list(java_chain(exc))
    with_message = [j for j in chain if _first_line(j.getMessage())]
    if not with_message:
        return f"{type(exc).__name__}: {_first_line(str(exc)) or 'no message'}"
    inner = with_message[-1]
    message = _first_line(inner.getMessage())
    # Spark's own conditions name themselves ([TABLE_OR_VIEW_NOT_FOUND] ...); others get
    # their class (IOException: not a gzip file)
    cause = message if message.startswith("[") else f"{inner.getClass().getSimpleName()}: {message}"
    path = failed_read_path(exc)
    if path is not None and path not in cause and unquote(path) not in cause:
        cause = f"{cause}: {path}"
    return cause


def _condition(java: Any) -> str:
    for name in ("getCondition", "getErrorClass"):
        try:
            value = getattr(java, name)()
        except Exception:
            continue
        if value:
            return str(value)
    return ""


def has_condition(exc: BaseException, condition: str) -> bool:
    """Whether a JVM error in ``exc``'s chain is Spark's or Delta's error ``condition``
    (``USER_RAISED_EXCEPTION``), however deep a failed job wrapped it."""
    return any(_condition(java) == condition for java in java_chain(exc))


def failed_read_path(exc: BaseException) -> str | None:
    """The file a ``FAILED_READ_FILE`` error in ``exc``'s chain names (URL-decoded), or None
    when the error is not a failure to read one file."""
    for java in java_chain(exc):
        if not _condition(java).startswith(_READ_FAILED):
            continue
        try:
            path = java.getMessageParameters().get("path")
        except Exception:
            path = None
        if path:
            return unquote(str(path))
    return None


def path_forms(path: str) -> set[str]:
    """The spellings Spark may use for one file: as given, URL-encoded, and for a local file
    ``file:/p``, ``file:///p`` and ``/p`` (``_metadata.file_path`` and error messages
    differ)."""
    from urllib.parse import quote

    decoded = unquote(path)
    local: str | None = None
    if decoded.startswith("file:"):
        local = "/" + decoded.removeprefix("file:").lstrip("/")
    elif decoded.startswith("/"):
        local = decoded
    forms = {path, decoded}
    if local is not None:
        for p in (local, quote(local)):
            forms |= {p, f"file:{p}", f"file://{p}"}
    return forms
