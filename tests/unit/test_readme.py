"""The README a newcomer follows: nothing in it that stops working on a later day, the
commands it names exist, and the figures it shares with the Makefile agree."""

from __future__ import annotations

import re
import subprocess

from tests.docs_support import README, REPO, quick_start_block, section


def test_the_quick_start_hard_codes_no_date_and_no_request_id() -> None:
    block = quick_start_block()

    assert not re.search(r"\d{4}-\d{2}-\d{2}", block), "compute dates: they expire"
    assert not re.search(r"AS\d{2}-", block), "extract the request id from the answer"
    assert "RID=$(" in block


def test_the_ops_cli_is_run_with_the_venvs_python() -> None:
    text = section("The API")
    ops = text[text.index("**Ops CLI**") :]

    bare = re.findall(r"`python -m service [a-z]", ops)
    assert "`.venv/bin/python -m service call" in ops
    assert bare == [], "outside the venv, bare `python` has none of the dependencies"


def _make_targets() -> dict[str, str]:
    listed = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"^\s+make (\S+)\s+(.+)$", listed, re.MULTILINE))


def test_make_help_lists_every_target_the_readme_names() -> None:
    targets = _make_targets()

    named = set(re.findall(r"`make ([a-z][a-z0-9-]*)", README.read_text(encoding="utf-8")))
    assert named - set(targets) == set()
    assert {"test-integration", "test-e2e", "help"} <= set(targets)


def test_the_test_layers_have_recipes() -> None:
    for target, folder in (("test-integration", "integration"), ("test-e2e", "e2e")):
        dry_run = subprocess.run(
            ["make", "-n", target], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout

        assert f"pytest -q tests/{folder}" in dry_run


def test_the_readme_and_the_makefile_give_the_bench_the_same_minutes() -> None:
    readme = re.findall(r"`make bench`[^\n]*?about (\d+) minutes", README.read_text("utf-8"))

    makefile = re.findall(r"about (\d+) minutes", _make_targets()["bench"])
    assert readme and readme == makefile * len(readme)
