"""The README's "Python client" example runs as written against the real server: it applies,
is refused the rejection as ``Refused`` (NEGOTIATION_REQUIRED, in Chinese too) and negotiates."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import REPO, Server

README = REPO / "README.md"


def example() -> str:
    """The first ``python`` block of the README's "Python client" section."""
    text = README.read_text("utf-8")
    start = text.index("\n## Python client\n")
    end = text.index("\n## ", start + 1)
    match = re.search(r"```python\n(.*?)```", text[start:end], re.DOTALL)
    assert match, "the Python client section has no ```python block"
    return match.group(1)


async def test_the_readme_example_runs_against_the_server(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    body, last = example().rstrip().rsplit("\n", 1)
    namespace: dict[str, Any] = {}
    exec(compile(body, "README.md", "exec"), namespace)  # defines main(address, token)

    await namespace["main"](server.address, server.tokens["order-system"])

    assert last.startswith('asyncio.run(main("127.0.0.1:50051", TOKEN))')
    printed = capsys.readouterr().out
    found = re.fullmatch(r"(\S+) (\(.*?\)) (.+)\n", printed)
    assert found, printed
    reason, allowed, chinese = found.groups()
    assert reason == "NEGOTIATION_REQUIRED"
    assert "'NEGOTIATE'" in allowed and "'REJECT'" not in allowed
    assert re.search(r"[\u4e00-\u9fff]", chinese)
