"""``python -m service call RPC BODY`` against a real server: any RPC by name, the reply as
JSON, a refusal's google.rpc details decoded in the language asked for."""

from __future__ import annotations

import asyncio
import json

import pytest

from service.__main__ import main
from service.bootstrap import App
from tests.e2e.support import Api, applied


def _connection(app: App, *flags: str) -> list[str]:
    return ["--address", app.address, "--tokens", str(app.settings.tokens_path), *flags]


async def test_a_call_by_name_prints_the_reply_as_json(
    api: Api, app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    req = await applied(api)
    body = json.dumps({"request_id": req.request_id})

    status = await asyncio.to_thread(main, ["call", "GetAfterSale", body, *_connection(app)])
    printed = json.loads(capsys.readouterr().out)

    assert status == 0
    assert printed["after_sale"]["request_id"] == req.request_id
    assert printed["after_sale"]["state"] == "AFTER_SALE_STATUS_MERCHANT_PROCESSING"


async def test_a_refusal_prints_its_decoded_details_in_the_language_asked_for(
    api: Api, app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    req = await applied(api)
    body = json.dumps(
        {
            "request_id": req.request_id,
            "reject_reason": "REJECT_REASON_AMOUNT_DISAGREEMENT",
            "message": "agreed 60",
            "images": ["media/chat.png"],
        }
    )
    merchant = ("--service", "order-system", "--role", "MERCHANT", "--shop-id", req.shop_id)

    status = await asyncio.to_thread(
        main, ["call", "RejectAfterSale", body, "--lang", "zh-CN", *_connection(app, *merchant)]
    )
    out, err = capsys.readouterr()
    printed = json.loads(out)
    print(out)  # what an operator sees, in the test log

    assert status == 1
    assert printed["code"] == "FAILED_PRECONDITION"
    by_type = {d["@type"].rsplit(".", 1)[-1]: d for d in printed["details"]}
    assert by_type["ErrorInfo"]["reason"] == "NEGOTIATION_REQUIRED"
    assert by_type["ErrorInfo"]["metadata"]["request_id"] == req.request_id
    assert by_type["LocalizedMessage"]["locale"] == "zh-CN"
    localized = [d for d in printed["details"] if d["@type"].endswith("LocalizedMessage")]
    assert len(localized) == 1  # only the language asked for
    assert "idempotency_key: " in err  # made for the caller, shown so a retry can reuse it
    assert "FAILED_PRECONDITION NEGOTIATION_REQUIRED" in err
    assert by_type["LocalizedMessage"]["message"] in err


async def test_an_unknown_rpc_or_a_body_that_does_not_parse_is_a_usage_error(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = await asyncio.to_thread(main, ["call", "GetAfterSal", "{}", *_connection(app)])
    unknown_err = capsys.readouterr().err
    bad_body = await asyncio.to_thread(
        main, ["call", "GetAfterSale", '{"request": 1}', *_connection(app)]
    )
    bad_body_err = capsys.readouterr().err

    assert (unknown, bad_body) == (2, 2)
    assert "no RPC 'GetAfterSal'" in unknown_err and "GetAfterSale" in unknown_err
    assert '"request"' in bad_body_err
