"""zh-CN is Chinese: every Chinese text in the code that a caller can read (refusals, field
violations, denials, API errors, catalogue texts) has no stray English word in it, and every
refusal template renders actions, states and options by their Chinese titles.

The scan reads the source: every string literal (f-strings by their literal parts) holding
a Chinese character is a zh text, since nothing else in the code is written in Chinese. What
is allowed in ASCII is ``tests.unit.zh_scan.ALLOWED``. Rendered messages, with real facts in
them, are scanned for every refusal reason in tests/integration/test_refusal_consistency.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from aftersale.guide import ACTION_ZH, title_zh
from aftersale.refusals import _TEXTS, refusal
from aftersale.vocabulary import Action, NegotiationOption, State
from tests.unit.zh_scan import stray_english

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p
    for folder in ("service", "statemachine")
    for p in (ROOT / folder).rglob("*.py")
    if "gen" not in p.relative_to(ROOT).parts
    # README and SPEC.md tables, written in English with Chinese titles
    and p.name not in ("diagram.py", "specdoc.py")
)
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _zh_literals(path: Path) -> list[tuple[int, str]]:
    """The Chinese string literals of ``path`` (docstrings aside: they are not messages); an
    f-string's placeholders read as "0", an id-like token."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skipped.update(id(v) for v in ast.walk(node) if v is not node)
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skipped.add(id(body[0].value))  # a docstring
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                str(v.value) if isinstance(v, ast.Constant) else "0" for v in node.values
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if _CHINESE.search(text):  # a template's {placeholders} read as "0" too
            found.append((node.lineno, re.sub(r"\{\w+\}", "0", str(text))))
    return found


def test_the_scan_finds_the_zh_texts_it_should() -> None:
    texts = [t for p in SOURCES for _, t in _zh_literals(p)]

    assert len(texts) > 200
    assert stray_english("无权对 AS05-x 执行此操作: not your request") == ["not", "your", "request"]
    assert stray_english("x-actor-role: 必填:该令牌在此可代表多个角色") == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_zh_text_in_the_code_is_chinese(path: Path) -> None:
    strays = [(line, text) for line, text in _zh_literals(path) if stray_english(text)]

    assert strays == []


def test_every_action_has_a_chinese_title() -> None:
    assert set(ACTION_ZH) == set(Action)
    assert all(_CHINESE.search(title_zh(a)) for a in Action)


def test_refusal_texts_name_actions_states_and_options_by_their_titles() -> None:
    rendered = refusal(
        "OPTION_NOT_ALLOWED",
        option=NegotiationOption.RETURN_WRONG_ITEM,
        options=(NegotiationOption.AMOUNT_ONLY, NegotiationOption.PARTIAL_REFUND),
        why_en="while the request is MERCHANT_PROCESSING",
        why_zh=f"不适用于“{title_zh(State.MERCHANT_PROCESSING)}”",
    )

    assert rendered.message_zh == "协商说明“退回非本订单商品”不适用于“商家受理中”。"
    assert rendered.next_step_zh == "当前可发起:“仅修改退款金额”、“部分商品破损/变质,部分退款”。"
    assert rendered.metadata == {
        "option": "RETURN_WRONG_ITEM",
        "options": "AMOUNT_ONLY,PARTIAL_REFUND",
    }
    assert stray_english(rendered.message_zh + rendered.next_step_zh) == []


@pytest.mark.parametrize("reason", sorted(_TEXTS))
def test_every_refusal_template_is_chinese(reason: str) -> None:
    _, message_zh, _, next_zh = _TEXTS[reason]

    assert stray_english(re.sub(r"\{\w+\}", "", message_zh + next_zh)) == []
