"""README's quick start, pasted as it is into bash, against a real server: scenario 1 from
the application to the paid refund, with the refused rejection on the way."""

from __future__ import annotations

import asyncio
import os
import re

import pytest

from service.bootstrap import App
from service.gen.aftersale.v1 import aftersale_pb2 as pb
from service.gen.aftersale.v1 import types_pb2 as t
from tests.docs_support import REPO, quick_start_block
from tests.e2e.support import Api

VENV_PYTHON = REPO / ".venv" / "bin" / "python"


@pytest.mark.skipif(not VENV_PYTHON.exists(), reason="the quick start runs .venv/bin/python")
async def test_the_quick_start_runs_as_pasted(api: Api, app: App) -> None:
    environment = {
        **os.environ,
        "AFTERSALE_LISTEN": app.address,  # where `make run` listens by default
        "AFTERSALE_TOKENS_FILE": str(app.settings.tokens_path),
    }

    shell = await asyncio.create_subprocess_exec(
        "bash",
        "-e",
        "-o",
        "pipefail",
        "-c",
        quick_start_block(),
        cwd=REPO,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(shell.communicate(), timeout=120)

    assert shell.returncode == 0, err.decode()
    printed = out.decode()
    assert "refused, as the rules say" in printed
    assert "FAILED_PRECONDITION NEGOTIATION_REQUIRED" in err.decode()
    found = re.search(r"^request (AS\d{2}-\S+)$", printed, re.MULTILINE)
    assert found
    view = await api.ops.GetAfterSale(pb.GetAfterSaleRequest(request_id=found.group(1)))
    assert view.after_sale.state == t.AFTER_SALE_STATUS_MERCHANT_REFUND_SUCCESS
    assert view.after_sale.refund.amount == 6000
    assert '"to_state": "AFTER_SALE_STATUS_MERCHANT_REFUND_SUCCESS"' in printed
