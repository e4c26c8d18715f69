"""Units of durable subscriptions: subscriptions declared in config are checked like the ops
RPC checks them, ack ids name their field. (The subscriber client moved to clients/python,
whose own tests check that it imports nothing of the server.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from aftersale.exceptions import InvalidInput
from aftersale.vocabulary import Role
from service.config import ConfigError, Settings
from service.storage.subscription_session import ack_id_of, parse_ack_id
from service.storage.subscriptions import OLDEST, Subscription


def test_subscriptions_declared_in_toml_are_parsed_and_checked(tmp_path: Path) -> None:
    config = tmp_path / "aftersale.toml"
    config.write_text(
        '[[subscriptions]]\nname = "payment"\nservice = "payment"\nrole = "PAYMENT"\n'
        'signals = ["SIGNAL_REFUND_REQUESTED"]\n\n'
        '[[subscriptions]]\nname = "audit"\nservice = "ops"\nrole = "platform"\n'
        'actions = ["approve", "ACTION_REJECT"]\nstart = "oldest"\nmax_deliveries = 9\n'
    )
    settings = Settings.from_env({"AFTERSALE_CONFIG": str(config)})

    payment, audit = settings.subscriptions
    assert (payment.name, payment.role, payment.signals) == (
        "payment", Role.PAYMENT, ("refund_requested",)
    )  # fmt: skip
    assert (audit.actions, audit.start, audit.max_deliveries) == (("approve", "reject"), OLDEST, 9)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ('[{"name": "p", "service": "payment"}]', "subscriptions[0].role"),
        ('[{"name": "p", "service": "payment", "role": "PAYMENT", "actions": ["x"]}]',
         "subscriptions[0].actions"),
        ('[{"name": "p", "service": "s", "role": "MERCHANT"}]', "subscriptions[0].filter.shop_id"),
        ('[{"name": "p q", "service": "s", "role": "PAYMENT"}]', "subscriptions[0].name"),
        ('[{"name": "p", "service": "s", "role": "PAYMENT", "colour": 1}]',
         "subscriptions[0].colour"),
        ("not json", "JSON"),
    ],
)  # fmt: skip
def test_a_bad_declared_subscription_names_its_field(value: str, named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"AFTERSALE_SUBSCRIPTIONS": value})

    assert refused.value.name == "AFTERSALE_SUBSCRIPTIONS"
    assert named in refused.value.rule


def test_a_definition_round_trips_and_compares_without_its_creation_time() -> None:
    sub = Subscription("payment", "payment", Role.PAYMENT, signals=("refund_requested",))
    again = Subscription.from_json(sub.to_json())
    assert again == sub
    assert (
        Subscription.from_json(sub.to_json().replace('"created_ms": 0', '"created_ms": 5')) == sub
    )


def test_ack_ids_round_trip_and_a_foreign_one_names_the_field() -> None:
    key = (7, "e", "1790000000000-3")
    assert parse_ack_id(ack_id_of(key), shards=8) == key
    for bad in ("", "7.e", "9.e.1-1", "7.x.1-1", "7.e.nope", "a.e.1-1", "7.e.1-1.2"):
        with pytest.raises(InvalidInput) as refused:
            parse_ack_id(bad, shards=8)
        assert refused.value.field == "ack_ids"
