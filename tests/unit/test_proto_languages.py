"""The contract generates for other languages as it is (no buf managed mode needed).

Every file of ``aftersale.v1`` carries the same file options, so a client team's unmanaged
``buf generate`` (or protoc) puts each file's code in the same package; the Go generation is
run for real with buf and protoc-gen-go from ``.tools/`` (``make proto-tools``).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "proto"
PROTO_FILES = sorted((PROTO / "aftersale" / "v1").glob("*.proto"))
TOOLS = REPO / ".tools"
BUF = TOOLS / "node_modules" / ".bin" / "buf"
PLUGINS = TOOLS / "bin"

SHARED_OPTIONS = {
    "csharp_namespace": '"Aftersale.V1"',
    "go_package": '"aftersale/gen/go/aftersale/v1;aftersalev1"',
    "java_multiple_files": "true",
    "java_package": '"com.aftersale.v1"',
    "objc_class_prefix": '"AXX"',
    "php_namespace": '"Aftersale\\\\V1"',
    "ruby_package": '"Aftersale::V1"',
}
_OPTION = re.compile(r"^option\s+(\w+)\s*=\s*(.+?);\s*$", re.MULTILINE)


def _options(proto: Path) -> dict[str, str]:
    return dict(_OPTION.findall(proto.read_text(encoding="utf-8")))


def _outer_classname(proto: Path) -> str:
    return '"' + "".join(part.title() for part in proto.stem.split("_")) + 'Proto"'


@pytest.mark.parametrize("proto", PROTO_FILES, ids=lambda p: p.name)
def test_every_proto_file_names_its_package_in_every_common_language(proto: Path) -> None:
    options = _options(proto)

    assert options == {**SHARED_OPTIONS, "java_outer_classname": _outer_classname(proto)}


def _tools_or_skip() -> None:
    missing = [str(t) for t in (BUF, PLUGINS / "protoc-gen-go") if not t.exists()]
    if missing and os.environ.get("PROTO_TOOLS_REQUIRED") == "1":
        pytest.fail(f"missing {missing}: run `make proto-tools`")
    if missing:
        pytest.skip(f"missing {missing}: `make proto-tools` installs them (`make test` does)")


def test_buf_generates_go_for_every_proto_file_unmanaged(tmp_path: Path) -> None:
    _tools_or_skip()
    environment = {**os.environ, "PATH": f"{PLUGINS}{os.pathsep}{os.environ['PATH']}"}
    template = PROTO / "buf.gen.yaml"

    result = subprocess.run(
        [str(BUF), "generate", "proto", "--template", str(template), "-o", str(tmp_path)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    generated = tmp_path / "gen" / "go" / "aftersale" / "v1"
    expected = {f"{p.stem}.pb.go" for p in PROTO_FILES} | {"aftersale_grpc.pb.go"}
    assert expected <= {f.name for f in generated.iterdir()}
    for go_file in generated.glob("*.go"):
        assert re.search(r"^package aftersalev1$", go_file.read_text("utf-8"), re.MULTILINE)
    sources = {f.name: f.read_text("utf-8") for f in generated.glob("*.go")}
    assert "type CreateAfterSaleRequest struct" in sources["aftersale.pb.go"]
    assert "type AfterSaleServiceClient interface" in sources["aftersale_grpc.pb.go"]
