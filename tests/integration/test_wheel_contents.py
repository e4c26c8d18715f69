"""The server's wheel: typed, carries the contract and the Lua, and needs only the runtime.

Built from a copy of the working tree (never in place: a build writes build/ and egg-info),
with this venv's setuptools and no build isolation, so the test needs no network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROTOS = sorted(p.name for p in (REPO / "proto" / "aftersale" / "v1").glob("*.proto"))
LUA = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "service").rglob("*.lua"))
DEV_ONLY = ("grpcio-tools", "pytest", "mypy", "ruff", "pyinstrument", "py-spy", "hypothesis")


def _source_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [name for name in listed if (REPO / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    root = tmp_path_factory.mktemp("wheel")
    source, out = root / "src", root / "dist"
    for name in _source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*command, "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("aftersale-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def _requirements(wheel: zipfile.ZipFile) -> list[str]:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return Parser().parsestr(wheel.read(metadata).decode()).get_all("Requires-Dist") or []


def test_the_wheel_is_typed(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())

    assert {"service/py.typed", "aftersale/py.typed"} <= names


def test_the_wheel_ships_the_contract_beside_its_stubs(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())

    shipped = {f"service/gen/aftersale/v1/{name}" for name in PROTOS}
    assert PROTOS and shipped <= names
    for name in PROTOS:
        original = (REPO / "proto" / "aftersale" / "v1" / name).read_bytes()
        assert wheel.read(f"service/gen/aftersale/v1/{name}") == original


def test_the_wheel_ships_the_lua_scripts(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())

    assert "service/storage/commit.lua" in LUA
    assert set(LUA) <= names


def test_the_wheel_requires_only_what_the_server_runs(wheel: zipfile.ZipFile) -> None:
    requirements = _requirements(wheel)

    unconditional = [r for r in requirements if "extra ==" not in r]
    assert any(r.startswith("grpcio") for r in unconditional)
    assert not [r for r in unconditional if r.startswith(DEV_ONLY)]
    tools = [r for r in requirements if r.startswith("grpcio-tools")]
    assert tools and all('extra == "dev"' in r for r in tools)
    profilers = [r for r in requirements if r.startswith(("pyinstrument", "py-spy"))]
    assert profilers and all('extra == "bench"' in r for r in profilers)
