"""The one root exception of the project and its few specialisations."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ContractError",
    "ErasureError",
    "LakehouseError",
    "PolicyError",
    "SourceError",
    "SubmitError",
    "TableError",
]


class LakehouseError(Exception):
    """Root of every error the lakehouse raises on purpose.

    Messages name the bad value and, where there is a finite set, the valid choices.
    """


class ConfigError(LakehouseError):
    """The configuration file, an environment override or a command-line value is invalid."""


class SourceError(LakehouseError):
    """An event source cannot be read as configured."""


class TableError(LakehouseError):
    """A table name is unknown or a table is not where the catalog says it is."""


class SubmitError(LakehouseError):
    """Packaging, staging or submitting a job to Dataproc failed, or the service refused it."""


class PolicyError(LakehouseError):
    """A table's data policy is incomplete or contradicts its schema."""


class ErasureError(LakehouseError):
    """An erasure request cannot be processed as given."""


class ContractError(LakehouseError):
    """A dataset's contract, gold SQL or suites are invalid: the message names the file and key."""
