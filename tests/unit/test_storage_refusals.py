"""Redis refusing writes is told to the caller as UNAVAILABLE with a reason, whichever way the
refusal reached the service: inside a script's error text, or as redis-py's own exception."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from redis import exceptions as redis_errors

from service.api.error_details import status_for

SCRIPT_OOM = (
    "Error running script (call to f_2e1d): @user_script:1: @user_script: 1: "
    "-OOM command not allowed when used memory > 'maxmemory'."
)
PLAIN_OOM = "command not allowed when used memory > 'maxmemory'."  # redis-py strips "OOM"


def reason_of(status: Any) -> str:
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    reason: str = info.reason
    return reason


@pytest.mark.parametrize(
    "refused",
    [redis_errors.ResponseError(SCRIPT_OOM), redis_errors.OutOfMemoryError(PLAIN_OOM)],
    ids=["in a script", "a plain command"],
)
def test_redis_out_of_memory_is_unavailable_storage_full(refused: Exception) -> None:
    status = status_for(refused, "CancelAfterSale")

    assert status.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert reason_of(status) == "STORAGE_FULL"
    assert "out of memory; nothing was written" in status.message


def test_redis_unable_to_persist_is_unavailable_storage_not_persisting() -> None:
    refused = redis_errors.ResponseError("MISCONF Redis is configured to save RDB snapshots")

    status = status_for(refused, "CancelAfterSale")

    assert status.code == grpc.StatusCode.UNAVAILABLE.value[0]
    assert reason_of(status) == "STORAGE_NOT_PERSISTING"
