"""SPEC.md, the product's rules: its tables are generated from the machine and catalogues and
must never drift from them, and every "SPEC §n" the code cites names one of its sections."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from aftersale.specdoc import BLOCKS, SpecDocError, render

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "SPEC.md"
_CITATION = re.compile(r"SPEC §(\d+)(?:\s*[–-]\s*§?(\d+))?")


def test_the_committed_spec_tables_match_the_code() -> None:
    committed = SPEC.read_text(encoding="utf-8")

    rendered = render(committed)

    assert rendered == committed, "SPEC.md is stale: run `make spec`"


def test_a_spec_without_one_of_the_generated_blocks_is_refused() -> None:
    text = SPEC.read_text(encoding="utf-8")
    block = re.compile(r"<!-- BEGIN GENERATED limits .*?END GENERATED limits -->", re.DOTALL)
    without = block.sub("", text)

    with pytest.raises(SpecDocError, match="limits"):
        render(without)
    assert set(BLOCKS) >= {"states", "actions", "catalogue", "rejections", "timers", "limits"}


def _sections() -> set[int]:
    headings = re.findall(r"^## (\d+)\. ", SPEC.read_text(encoding="utf-8"), re.MULTILINE)
    return {int(n) for n in headings}


def _cited() -> dict[str, set[int]]:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    cited: dict[str, set[int]] = {}
    for name in files:
        path = REPO / name
        if not path.is_file() or path.suffix not in {".py", ".proto", ".md", ".lua", ".yaml"}:
            continue
        for first, last in _CITATION.findall(path.read_text(encoding="utf-8", errors="ignore")):
            numbers = range(int(first), int(last or first) + 1)
            cited.setdefault(name, set()).update(numbers)
    return cited


def test_every_spec_citation_names_a_section_of_spec_md() -> None:
    sections = _sections()

    cited = _cited()
    dangling = {name: sorted(n - sections) for name, n in cited.items() if n - sections}
    assert sections == set(range(1, 14))
    assert len(cited) > 50  # the code does cite it
    assert dangling == {}
