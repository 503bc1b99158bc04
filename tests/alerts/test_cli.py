"""``lakehouse alerts test`` reaches every destination over real sockets (no Spark), and
``alerts check`` without destinations says what to add in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.cli import main
from tests.alerts.servers import closed_port, http_receiver, smtp_receiver


def test_alerts_test_sends_to_every_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with http_receiver() as hook, smtp_receiver() as mail:
        monkeypatch.setenv("HOOK_URL", hook.url)
        monkeypatch.setenv("DOWN_URL", f"http://127.0.0.1:{closed_port()}/")
        config = tmp_path / "lakehouse.toml"
        config.write_text(
            "[alerts]\nattempts = 1\n"
            '[[alerts.destinations]]\nname = "hook"\ntype = "webhook"\nurl_env = "HOOK_URL"\n'
            '[[alerts.destinations]]\nname = "mail"\ntype = "smtp"\nhost = "127.0.0.1"\n'
            f'port = {mail.port}\nsender = "a@x.test"\nto = ["b@x.test"]\n'
            '[[alerts.destinations]]\nname = "down"\ntype = "slack"\nurl_env = "DOWN_URL"\n'
        )
        code = main(["--config", str(config), "alerts", "test"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[:2] == ["hook (webhook): sent", "mail (smtp): sent"]
    assert out[2].startswith("down (slack): FAILED after 1 tries: ConnectionRefusedError")
    assert [b["job"] for b in hook.bodies] == ["alerts-test"]
    assert mail.mails[0]["Subject"] == "[lakehouse] CRITICAL critical finding: alerts-test"


def test_alerts_check_without_destinations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "lakehouse.toml"
    config.write_text("[alerts]\nenabled = true\n")
    assert main(["--config", str(config), "alerts", "check"]) == 2
    assert capsys.readouterr().err == (
        "lakehouse: error: alerts: no destinations; add [[alerts.destinations]] (type slack, "
        "webhook or smtp) to the configuration\n"
    )
