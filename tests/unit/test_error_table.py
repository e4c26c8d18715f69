"""The README's error table is the code's (``service.api.errors.REASONS``), and every reason
the domain can refuse with is in it."""

from __future__ import annotations

from pathlib import Path

from aftersale.refusals import REASONS as REFUSAL_REASONS
from service.api.errors import REASONS, Code, readme_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_error_table_is_the_one_the_code_prints() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- error-table:start -->\n") + len("<!-- error-table:start -->\n")
    end = text.index("\n<!-- error-table:end -->")

    assert text[start:end] == readme_table(), "run: python -m service.api.errors"


def test_every_refusal_reason_is_a_failed_precondition_of_the_table() -> None:
    assert all(REASONS[r].code == Code.FAILED_PRECONDITION for r in REFUSAL_REASONS)
    refusals = {r for r, row in REASONS.items() if row.code == Code.FAILED_PRECONDITION}
    assert refusals == REFUSAL_REASONS


def test_invalid_argument_and_permission_denied_have_specific_reasons() -> None:
    assert not {r for r, row in REASONS.items() if r == row.code.name} - {"INTERNAL"}
