"""Checks a command makes before it starts Spark, so that a lake it may not write, or a
checkpoint that lost its metadata, is one clear line instead of a JVM stack trace."""

from __future__ import annotations

import json
import os
from pathlib import Path

from lakehouse.errors import ConfigError

__all__ = ["check_checkpoint", "check_exists", "check_lake", "check_storage"]


def _is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file:")


def _local(path: str) -> Path:
    return Path(path.removeprefix("file://").removeprefix("file:"))


def check_storage(path: str, what: str, *, write: bool) -> None:
    """A local ``path`` (or the nearest folder above it that exists, where it will be made)
    must be a folder this process can read and enter, and write when ``write``. Remote
    paths (``gs://``) are left to the storage connector."""
    if _is_remote(path):
        return
    folder = _local(path)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{what} {str(folder)!r}: {str(existing)!r} is not a folder")
    needed = os.R_OK | os.X_OK | (os.W_OK if write else 0)
    if not os.access(existing, needed):
        mode = "read and write" if write else "read"
        raise ConfigError(
            f"{what} {str(folder)!r}: no permission to {mode} {str(existing)!r} "
            f"(uid {os.getuid()}); fix its permissions or point {what} elsewhere"
        )


def check_checkpoint(path: str, job: str) -> None:
    """A local checkpoint folder that exists and is not empty must hold Spark's query
    ``metadata`` (the stream's id, which every idempotent write of the job is keyed by).
    Without it Spark would start a new query over old offsets; say so instead."""
    if _is_remote(path):
        return
    folder = _local(path)
    if not folder.exists():
        return  # a new stream: Spark creates it
    if not folder.is_dir():
        raise ConfigError(f"checkpoint of {job} {str(folder)!r} is not a folder")
    if not any(folder.iterdir()):
        return
    metadata = folder / "metadata"
    fix = (
        "restore it, or delete the checkpoint folder to restart the stream from the start "
        "of its source (idempotent writes and silver's dedup absorb the replay)"
    )
    if not metadata.is_file():
        raise ConfigError(f"checkpoint of {job} {str(folder)!r} has no metadata file; {fix}")
    try:
        query_id = json.loads(metadata.read_text(encoding="utf-8").splitlines()[0])["id"]
    except (OSError, UnicodeDecodeError, ValueError, IndexError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"checkpoint of {job} {str(folder)!r}: metadata is unreadable or corrupt "
            f"({type(exc).__name__}); {fix}"
        ) from exc
    if not isinstance(query_id, str) or not query_id:
        raise ConfigError(f"checkpoint of {job} {str(folder)!r}: metadata has no query id; {fix}")


def check_exists(path: str, what: str) -> None:
    """A local ``path`` a command reads must exist (remote paths are left to Spark)."""
    if _is_remote(path):
        return
    if not _local(path).exists():
        raise ConfigError(f"{what} {path!r} does not exist; give an existing file or folder")


def check_lake(root: str, table_paths: list[str]) -> None:
    """A local lake root must hold at least one of the lake's tables (a Delta log at one of
    ``table_paths``), so that a command that only reads a mistyped root says so at once and
    creates nothing. Remote roots are checked once Spark runs (``register_tables``)."""
    if _is_remote(root):
        return
    if not any((_local(p) / "_delta_log").is_dir() for p in table_paths):
        where = "does not exist" if not _local(root).exists() else "holds none of its tables"
        raise ConfigError(
            f"no lake at lake.root {root!r}: it {where}; check lake.root (or --config), or "
            "create the lake with `lakehouse run` or `lakehouse demo`"
        )
