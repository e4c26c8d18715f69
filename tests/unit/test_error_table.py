"""The README's error table is the code's (``service.api.errors.REASONS``), and every reason
the domain can refuse with is in it."""

from __future__ import annotations

import ast
from pathlib import Path

from google.rpc import error_details_pb2
from redis import exceptions as redis_errors

from aftersale.exceptions import NotFound, VersionConflict
from aftersale.refusals import REASONS as REFUSAL_REASONS
from service.api.error_details import status_for
from service.api.errors import REASONS, Code, ResourceExhausted, readme_table
from service.archive.reads import ArchiveDisabled, ArchiveUnavailable

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_the_readme_error_table_is_the_one_the_code_prints() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- error-table:start -->\n") + len("<!-- error-table:start -->\n")
    end = text.index("\n<!-- error-table:end -->")

    assert text[start:end] == readme_table(), "run: python -m service.api.errors"


# FAILED_PRECONDITION reasons that are not an action's refusal: what a deployment lacks.
DEPLOYMENT_PRECONDITIONS = {"ARCHIVE_DISABLED"}


def test_every_refusal_reason_is_a_failed_precondition_of_the_table() -> None:
    assert all(REASONS[r].code == Code.FAILED_PRECONDITION for r in REFUSAL_REASONS)
    refusals = {r for r, row in REASONS.items() if row.code == Code.FAILED_PRECONDITION}
    assert refusals - DEPLOYMENT_PRECONDITIONS == REFUSAL_REASONS


def test_invalid_argument_and_permission_denied_have_specific_reasons() -> None:
    assert not {r for r, row in REASONS.items() if r == row.code.name} - {"INTERNAL"}


def _retry_delay_s(exc: Exception) -> float | None:
    for packed in status_for(exc).details:
        if packed.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            packed.Unpack(info)
            return float(info.retry_delay.ToMilliseconds()) / 1000
    return None


def test_unavailable_aborted_and_resource_exhausted_carry_retry_info() -> None:
    exhausted = ResourceExhausted("TOO_MANY_STREAMS", "too many", "订阅数已达上限", {"limit": "4"})

    assert _retry_delay_s(redis_errors.ConnectionError("down")) == 1.0
    assert _retry_delay_s(redis_errors.ResponseError("OOM command not allowed")) == 5.0
    assert _retry_delay_s(VersionConflict("AS01-x", 2, 3)) == 0.0
    assert _retry_delay_s(exhausted) == 5.0
    assert _retry_delay_s(NotFound("AS01-x")) is None
    assert _retry_delay_s(ArchiveUnavailable("archive unreachable")) == 1.0
    assert _retry_delay_s(ArchiveDisabled("window")) is None


def _reason_literals() -> set[str]:
    """The reasons the code names where it raises: ``InvalidInput``'s 4th argument,
    ``Denial``'s 1st, an ``ApiError`` subclass's or ``refusal``'s 1st (string literals)."""
    found: set[str] = set()
    for path in (ROOT / "service").rglob("*.py"), (ROOT / "statemachine").rglob("*.py"):
        for file in path:
            if "gen" in file.relative_to(ROOT).parts:
                continue
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                    continue
                position = {"InvalidInput": 3, "EvidenceRequired": 3}.get(node.func.id, 0)
                if node.func.id not in (
                    "InvalidInput", "EvidenceRequired", "Denial", "ApiError", "Unauthenticated",
                    "ResourceExhausted", "refusal", "_refused",
                ):  # fmt: skip
                    continue
                argument = node.args[position] if len(node.args) > position else None
                value = argument.value if isinstance(argument, ast.Constant) else None
                if isinstance(value, str) and value.isupper():
                    found.add(value)
    return found


def test_every_reason_the_code_raises_is_in_the_table() -> None:
    named = _reason_literals()

    assert {"TOKEN_NOT_ISSUED", "NOT_YOUR_REQUEST", "TOKEN_MISSING", "ROUND_LIMIT"} <= named
    assert named - set(REASONS) == set()
