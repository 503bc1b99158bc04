"""Running the jobs on Dataproc: package and stage a release, build and submit the requests."""

from __future__ import annotations

__all__: list[str] = []
