"""The options of ``lakehouse replay`` and ``backfill``: checked before Spark starts, each
bad one a one-line error naming the valid choices."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.errors import ConfigError
from lakehouse.replay import Selection, parse_selection
from tests.events import platform

# a configuration with a lake root but nothing in it: Spark must never be reached
_TOML = (
    '[lake]\nroot = "{root}/lake"\n[datasets]\ndir = "{repo}/datasets"\nnames = ["events"]\n'
    '[quality]\nsuite_dir = "{repo}/expectations"\n'
)


def test_parse_selection_reads_the_options() -> None:
    selection = parse_selection(
        platform(),
        "quarantine.silver_events",
        reason="^invalid_value",
        since="2026-12-01T08:00:00+01:00",
        until="2026-12-02",
    )
    assert selection == Selection(
        "events",
        "quarantine.silver_events",
        "^invalid_value",
        datetime(2026, 12, 1, 7, 0),
        datetime(2026, 12, 2),
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"table": "silver.events"}, "not a silver quarantine; choose from quarantine.silver_"),
        ({"reason": "(unclosed"}, "--reason: '(unclosed' is not a regular expression"),
        ({"since": "yesterday"}, "--since: 'yesterday' is not a time"),
        ({"since": "2026-12-02", "until": "2026-12-01"}, "must be before --until"),
    ],
)
def test_bad_replay_options_are_one_line_errors(options: dict[str, str], message: str) -> None:
    table = options.pop("table", "quarantine.silver_events")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_selection(platform(), table, **options)


def test_the_cli_refuses_a_bad_table_before_spark_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "lakehouse.toml"
    config.write_text(_TOML.format(root=tmp_path, repo=Path(__file__).resolve().parents[2]))
    code = main(["--config", str(config), "replay", "--table", "quarantine.silver_nope"])
    assert code == 2
    assert capsys.readouterr().err == (
        "lakehouse: error: --table: 'quarantine.silver_nope' is not a silver quarantine; "
        "choose from quarantine.silver_events\n"
    )
    backfill = ["backfill", "--dataset", "events", "--layer", "gold"]
    code = main(["--config", str(config), *backfill, "--from", "2026-12-02", "--to", "2026-12-01"])
    assert code == 2
    assert "--to 2026-12-01 is before --from 2026-12-02" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()
