"""Every RPC of the contract has a typed method on both clients, taking the request's fields
as keyword arguments and returning the response; Subscribe has the Subscriber."""

from __future__ import annotations

import inspect
import re
import typing

import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message_factory import GetMessageClass

from aftersale_client import AfterSaleClient, Subscriber, SyncAfterSaleClient
from aftersale_client.v1 import aftersale_pb2, subscriptions_pb2

SERVICES = [
    aftersale_pb2.DESCRIPTOR.services_by_name["AfterSaleService"],
    subscriptions_pb2.DESCRIPTOR.services_by_name["SubscriptionService"],
]
METHODS = [m for service in SERVICES for m in service.methods]
CALL_OPTIONS = ["actor", "token", "timeout", "metadata"]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_the_after_sale_service_is_all_there() -> None:
    names = [m.name for m in SERVICES[0].methods]

    assert len(names) >= 35 and "RejectAfterSale" in names and "WatchTransitions" in names


@pytest.mark.parametrize("client", [AfterSaleClient, SyncAfterSaleClient])
@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_every_rpc_has_a_typed_method(client: type, method: MethodDescriptor) -> None:
    if method.client_streaming:  # Subscribe: a bidirectional stream, the Subscriber's
        assert method.name == "Subscribe" and hasattr(Subscriber, "run")
        return
    function = getattr(client, snake(method.name))
    parameters = inspect.signature(function).parameters
    hints = typing.get_type_hints(function)

    assert list(parameters) == [
        "self", "request", *(f.name for f in method.input_type.fields), *CALL_OPTIONS
    ]  # fmt: skip
    assert all(p.kind is p.KEYWORD_ONLY for p in list(parameters.values())[2:])
    assert hints["request"] == GetMessageClass(method.input_type) | None
    returned = hints["return"]
    if method.server_streaming:
        assert typing.get_args(returned)[0] is GetMessageClass(method.output_type)
    else:
        assert returned is GetMessageClass(method.output_type)
    assert inspect.iscoroutinefunction(function) == (
        client is AfterSaleClient and not method.server_streaming
    )
