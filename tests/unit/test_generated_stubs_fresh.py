"""The committed gRPC stubs are exactly what ``make proto`` generates from ``proto/`` now."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from service.gen import build

COMMITTED = build.DEFAULT_OUT / build.GENERATED_TREE


def _contents(tree: Path) -> dict[str, bytes]:
    return {
        path.relative_to(tree).as_posix(): path.read_bytes()
        for path in sorted(tree.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_committed_stubs_match_a_fresh_generation(tmp_path: Path) -> None:
    fresh = _contents(build.generate(out=tmp_path))

    committed = _contents(COMMITTED)
    stale = sorted(
        name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name)
    )
    assert not stale, f"stale generated stubs {stale}: run `make proto` and commit the result"


def test_stubs_import_each_other_relatively() -> None:
    modules = sorted(COMMITTED.rglob("*_pb2*.py*"))

    offenders = [
        path.name
        for path in modules
        for line in path.read_text("utf-8").splitlines()
        if line.startswith(("from aftersale", "import aftersale"))
    ]
    assert modules
    assert not offenders


def test_stubs_load_under_service_gen_and_never_as_top_level_aftersale() -> None:
    grpc_module = importlib.import_module("service.gen.aftersale.v1.aftersale_pb2_grpc")

    assert hasattr(grpc_module, "AfterSaleServiceServicer")
    assert "aftersale.v1" not in sys.modules
