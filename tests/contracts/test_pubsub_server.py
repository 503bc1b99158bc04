"""A contract names its Pub/Sub subscription as an ODCS ``pubsub`` server (``project`` and
``customProperties`` subscription): loaded, used by ``source_config`` over the deployment's
``[source] pubsub_subscription``, a changed subscription is reported by ``contracts check``,
and a wrong one is one line naming the file and the key."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import LakehouseConfig
from lakehouse.contracts import load_dataset
from lakehouse.contracts.compat import compare
from lakehouse.errors import ContractError
from lakehouse.platform import source_config
from tests.contracts.edits import DATASETS, edit_file

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "expectations"
SUBSCRIPTION = "projects/shop/subscriptions/orders-bronze"


def pubsub_server(project: Any = "shop", subscription: Any = SUBSCRIPTION) -> dict[str, Any]:
    server: dict[str, Any] = {"server": "pubsub", "type": "pubsub", "project": project}
    if subscription is not None:
        server["customProperties"] = [{"property": "subscription", "value": subscription}]
    return server


def contract_with(tmp_path: Path, *servers: dict[str, Any]) -> Path:
    folder = tmp_path / "orders"
    shutil.copytree(DATASETS / "orders", folder)

    def edit(data: dict[str, Any]) -> None:
        data["servers"] = [*data["servers"], *servers]

    edit_file(folder / "contract.yaml", edit)
    return folder


def config(source: dict[str, object]) -> LakehouseConfig:
    return LakehouseConfig().with_overrides(source=source)


def test_a_contract_names_its_pubsub_subscription(tmp_path: Path) -> None:
    orders = load_dataset(contract_with(tmp_path, pubsub_server()), SUITES)
    assert orders.servers.pubsub_subscription == SUBSCRIPTION
    assert (
        orders.servers.landing_path
        == load_dataset(DATASETS / "orders", SUITES).servers.landing_path
    )
    deployment = config(
        {"type": "pubsub", "pubsub_subscription": "projects/ops/subscriptions/default"}
    )
    # the contract's subscription overrides the deployment's, like Kafka topics
    assert source_config(deployment, orders).pubsub_subscription == SUBSCRIPTION
    assert source_config(deployment, orders).type == "pubsub"
    plain = load_dataset(DATASETS / "orders", SUITES)
    assert plain.servers.pubsub_subscription is None
    assert (
        source_config(deployment, plain).pubsub_subscription == "projects/ops/subscriptions/default"
    )
    changes = compare(plain, orders, gold=False)
    assert [(c.path, c.breaking, c.message) for c in changes if c.path.startswith("servers")] == [
        ("servers.pubsub", False, f"changed (none) -> {SUBSCRIPTION}")
    ]


@pytest.mark.parametrize(
    ("server", "message"),
    [
        (
            pubsub_server(subscription="orders-bronze"),
            r"servers\[1\]\.customProperties\.subscription: 'orders-bronze' is not a Pub/Sub "
            r"subscription path; write projects/PROJECT/subscriptions/NAME$",
        ),
        (
            pubsub_server(subscription="projects/shop/locations/x/subscriptions/s"),
            r"servers\[1\]\.customProperties\.subscription: .* is not a Pub/Sub subscription",
        ),
        (
            pubsub_server(project="other"),
            r"servers\[1\]\.customProperties\.subscription: 'projects/shop/subscriptions/"
            r"orders-bronze' is not in the server's project 'other'",
        ),
        (
            pubsub_server(subscription=None),
            r"servers\[1\]\.customProperties\.subscription: a pubsub server needs its "
            r"subscription",
        ),
    ],
)
def test_a_wrong_subscription_is_one_line_naming_file_and_key(
    tmp_path: Path, server: dict[str, Any], message: str
) -> None:
    folder = contract_with(tmp_path, server)
    with pytest.raises(ContractError, match=message) as raised:
        load_dataset(folder, SUITES)
    text = str(raised.value)
    assert text.startswith(f"{folder / 'contract.yaml'}: servers[1]")
    assert "\n" not in text


def test_odcs_requires_the_project_of_a_pubsub_server(tmp_path: Path) -> None:
    server = pubsub_server()
    del server["project"]
    with pytest.raises(ContractError, match=r"contract\.yaml: servers\.1: .*project"):
        load_dataset(contract_with(tmp_path, server), SUITES)
