"""Every refusal reason, provoked through the handlers over a real Redis: the error carries
the caller's allowed actions, and they are exactly ``GetAllowedActions``' answer (the same
function over the same record); its ErrorInfo has the code and metadata keys of the reason
table (``service.api.errors.REASONS``); its zh-CN message is Chinese."""

from __future__ import annotations

import pytest
from google.rpc import error_details_pb2

from aftersale.exceptions import ActionRefused
from aftersale.refusals import REASONS as REFUSAL_REASONS
from service.api.error_details import status_for
from service.api.errors import REASONS
from service.handlers import AfterSaleHandlers, Call
from service.storage.repository import RedisRepository
from tests.integration.refusal_scenarios import EXEMPT, POLICY, SCENARIOS, StoredWorld
from tests.integration.storage_support import Client, unique
from tests.unit.zh_scan import stray_english


def test_every_refusal_reason_has_a_scenario_or_a_reason_it_cannot_happen() -> None:
    assert set(SCENARIOS) | set(EXEMPT) == set(REFUSAL_REASONS)
    assert not set(SCENARIOS) & set(EXEMPT)


@pytest.mark.parametrize("reason", sorted(SCENARIOS))
async def test_a_refusal_carries_the_allowed_actions_get_allowed_actions_gives(
    redis: Client, reason: str
) -> None:
    world = StoredWorld(policy=POLICY)
    repo = RedisRepository(redis, world.keys)
    handlers = AfterSaleHandlers(repo, world.clock, world.policy)
    record, command, actor = SCENARIOS[reason](world)
    await world.store(repo)
    call = Call(actor, "order-system", unique("idem"))

    with pytest.raises(ActionRefused) as refused:
        if command is None:
            await handlers.fire_pending(record.request_id if record else "", call)
        else:
            await handlers.handle(record.request_id if record else "", command, call)

    error = refused.value
    assert error.reason == reason, error.refusal
    if record is None:  # an application: no request yet, so nothing else to do on it
        assert error.allowed == ()
    else:
        _, verdicts = await handlers.allowed_actions(record.request_id, actor, actor.role)
        assert error.allowed == tuple(v.action for v in verdicts if v.allowed)
    status = status_for(error)
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert info.reason == reason and status.code == REASONS[reason].code.value[0]
    assert info.metadata.get("allowed_actions", "") == ",".join(a.name for a in error.allowed)
    assert set(info.metadata) <= set(REASONS[reason].keys.split(","))
    zh = error_details_pb2.LocalizedMessage()
    assert status.details[-1].Unpack(zh) and zh.locale == "zh-CN"
    assert stray_english(zh.message) == [], zh.message
