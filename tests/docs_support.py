"""Pieces of README.md the tests read: sections and the quick start's shell block."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"


def section(title: str, text: str | None = None) -> str:
    """The README section under ``## title``, up to the next ``## `` heading."""
    text = README.read_text(encoding="utf-8") if text is None else text
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def quick_start_block() -> str:
    """The first ``sh`` block of the quick start: what a newcomer pastes."""
    match = re.search(r"```sh\n(.*?)```", section("Quick start: scenario 1 by hand"), re.DOTALL)
    assert match, "the quick start has no ```sh block"
    return match.group(1)
