"""The installed package stands alone: it imports nothing of the server (only grpc,
protobuf, google.rpc, grpc_status and the standard library), its stubs live under its own
import path, and it ships its typing marker, its contract and its retry policy."""

from __future__ import annotations

import ast
import sys
from importlib import resources
from pathlib import Path

import aftersale_client
from aftersale_client.v1 import aftersale_pb2

PACKAGE = Path(aftersale_client.__file__).parent
ALLOWED = ("aftersale_client", "grpc", "google.protobuf", "google.rpc", "grpc_status")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_client_imports_only_grpc_protobuf_and_its_own_stubs() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    names = {name for module in modules for name in imported(module)}

    foreign = {
        name for name in names
        if name.split(".")[0] not in sys.stdlib_module_names and not name.startswith(ALLOWED)
    }  # fmt: skip
    assert len(modules) >= 8
    assert not foreign


def test_the_stubs_load_under_the_client_s_own_path() -> None:
    assert aftersale_pb2.__name__ == "aftersale_client._gen.aftersale.v1.aftersale_pb2"
    assert "aftersale.v1" not in sys.modules and "service" not in sys.modules


def test_the_package_ships_its_marker_contract_and_policy() -> None:
    files = resources.files("aftersale_client")

    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("service_config.json").is_file()
    for name in ("aftersale", "types", "subscriptions"):
        assert files.joinpath(f"_gen/aftersale/v1/{name}.proto").is_file()
        assert files.joinpath(f"_gen/aftersale/v1/{name}_pb2.pyi").is_file()
