"""DESIGN §1: the repo's ``statemachine/`` folder is a source root, never a package, so
``import statemachine`` always means the python-statemachine library."""

from __future__ import annotations

from pathlib import Path

import statemachine

REPO = Path(__file__).resolve().parents[2]


def test_import_statemachine_resolves_to_the_installed_library() -> None:
    where = Path(statemachine.__file__ or "").resolve()

    assert "site-packages" in where.parts
    assert not where.is_relative_to(REPO / "statemachine")


def test_the_library_is_the_real_one_with_a_state_machine_class() -> None:
    assert hasattr(statemachine, "StateMachine")
    assert hasattr(statemachine, "State")


def test_the_repo_statemachine_folder_has_no_init_module() -> None:
    assert (REPO / "statemachine" / "aftersale").is_dir()
    assert not (REPO / "statemachine" / "__init__.py").exists()
