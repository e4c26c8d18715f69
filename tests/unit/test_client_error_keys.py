"""The Python client reads only metadata keys the server sends: every key an error class of
clients/python/src/aftersale_client/errors.py reads is, in ``REASONS``, a metadata key of a
reason whose code is one of that class's codes. Read from the client's source (ast), so this
process never imports the client's copy of the stubs."""

from __future__ import annotations

import ast
from pathlib import Path

from service.api.errors import REASONS

ERRORS = Path(__file__).resolve().parents[2] / "clients/python/src/aftersale_client/errors.py"


def _keys_read(node: ast.ClassDef) -> set[str]:
    """Keys in ``self.metadata.get("k")``, ``self.metadata["k"]`` and ``"k" in self.metadata``."""
    keys: set[str] = set()
    for inner in ast.walk(node):
        target, key = None, None
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
            if inner.func.attr == "get" and inner.args:
                target, key = inner.func.value, inner.args[0]
        elif isinstance(inner, ast.Subscript):
            target, key = inner.value, inner.slice
        elif isinstance(inner, ast.Compare) and isinstance(inner.ops[0], ast.In):
            target, key = inner.comparators[0], inner.left
        is_metadata = isinstance(target, ast.Attribute) and target.attr == "metadata"
        if is_metadata and isinstance(key, ast.Constant) and isinstance(key.value, str):
            keys.add(key.value)
    return keys


def _classes() -> dict[str, tuple[tuple[str, ...], set[str]]]:
    """Each error class: its codes and the metadata keys it reads."""
    found: dict[str, tuple[tuple[str, ...], set[str]]] = {}
    for node in ast.parse(ERRORS.read_text("utf-8")).body:
        if not isinstance(node, ast.ClassDef):
            continue
        codes: tuple[str, ...] = ()
        for statement in node.body:
            if isinstance(statement, ast.Assign):
                target: ast.expr | None = statement.targets[0]
            else:
                target = getattr(statement, "target", None)
            value = getattr(statement, "value", None)
            is_codes = isinstance(target, ast.Name) and target.id == "codes"
            if is_codes and isinstance(value, ast.Tuple):
                codes = tuple(ast.literal_eval(value))
        found[node.name] = (codes, _keys_read(node))
    return found


def test_every_metadata_key_the_client_reads_is_one_the_server_sends() -> None:
    classes = _classes()
    sent = {(r.code.name, key) for r in REASONS.values() for key in r.keys.split(",") if key}
    base_keys = classes["AfterSaleError"][1]

    unknown = {
        (name, key)
        for name, (codes, keys) in classes.items()
        for key in keys - base_keys
        if not any((code, key) in sent for code in codes)
    }
    assert {"Refused", "Aborted", "OutOfRange", "InvalidArgument", "Internal"} <= set(classes)
    assert sum(len(keys) for _, keys in classes.values()) >= 8
    assert not unknown
    assert base_keys == {"request_id"} and any(k == "request_id" for _, k in sent)
