"""The Python client's committed generated code (clients/python/src/aftersale_client: the
stubs under ``_gen``, the typed methods ``_rpcs.py``, the copy of the published retry
policy) is exactly what ``make client-proto`` makes from ``proto/`` now. The generator is
loaded by path and never imports the client's stubs, so this process keeps only the server's
copy of each proto file in its descriptor pool."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
CLIENT_PACKAGE = REPO / "clients" / "python" / "src" / "aftersale_client"
GENERATOR = REPO / "clients" / "python" / "tools" / "build.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aftersale_client_build", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def _contents(root: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for name in names:
        path = root / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                found[file.relative_to(root).as_posix()] = file.read_bytes()
    return found


def test_the_client_s_generated_code_matches_a_fresh_generation(tmp_path: Path) -> None:
    build = _generator()
    build.generate(out=tmp_path)
    names = (*build.GENERATED, "_gen/__init__.py")

    fresh, committed = _contents(tmp_path, names), _contents(CLIENT_PACKAGE, names)

    stale = sorted(n for n in fresh.keys() | committed.keys() if fresh.get(n) != committed.get(n))
    assert len(fresh) >= 14
    assert not stale, f"stale client code {stale}: run `make client-proto` and commit the result"


def test_the_client_s_stubs_import_each_other_relatively_and_its_policy_is_the_published_one(
) -> None:  # fmt: skip
    stubs = sorted((CLIENT_PACKAGE / "_gen").rglob("*_pb2*.py*"))
    published = REPO / "proto" / "aftersale" / "v1" / "service_config.json"

    offenders = [p.name for p in stubs for line in p.read_text("utf-8").splitlines()
                 if line.startswith(("from aftersale", "import aftersale"))]  # fmt: skip
    assert len(stubs) >= 8 and not offenders
    assert (CLIENT_PACKAGE / "service_config.json").read_bytes() == published.read_bytes()
