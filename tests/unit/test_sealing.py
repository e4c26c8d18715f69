"""Sealed tokens (``service.api.sealing``): opened only with a key of ours, for the purpose and
the caller they were sealed for; the key file is made once, owner-only, and shared."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersale.exceptions import InvalidInput
from service.api.sealing import KeyFileError, Sealer, read_key_file, write_key_file

BUYER = ("order-system", "BUYER", "buyer-1")
OTHER_BUYER = ("order-system", "BUYER", "buyer-2")


def new_key() -> bytes:
    return secrets.token_bytes(32)


def key_line(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


@pytest.fixture
def sealer() -> Sealer:
    return Sealer([new_key()])


def test_a_sealed_token_opens_for_its_purpose_and_caller(sealer: Sealer) -> None:
    token = sealer.seal("cursor", BUYER, b"position")

    assert sealer.open("cursor", BUYER, token) == b"position"
    assert b"position" not in base64.urlsafe_b64decode(token + "==")


def test_the_same_payload_seals_differently_each_time(sealer: Sealer) -> None:
    assert sealer.seal("cursor", BUYER, b"x") != sealer.seal("cursor", BUYER, b"x")


@pytest.mark.parametrize(
    ("purpose", "caller"),
    [("page_token", BUYER), ("cursor", OTHER_BUYER), ("cursor", ("payment", "BUYER", "buyer-1"))],
    ids=["another-purpose", "another-buyer", "another-service"],
)
def test_a_token_does_not_open_for_another_purpose_or_caller(
    sealer: Sealer, purpose: str, caller: tuple[str, ...]
) -> None:
    token = sealer.seal("cursor", BUYER, b"position")

    with pytest.raises(InvalidInput) as refused:
        sealer.open(purpose, caller, token)

    assert refused.value.field == purpose


def test_identity_parts_cannot_be_shifted_between_fields(sealer: Sealer) -> None:
    token = sealer.seal("cursor", ("svc", "BUYER", "a"), b"p")

    with pytest.raises(InvalidInput):
        sealer.open("cursor", ("svc", "BUYERa", ""), token)


def test_a_token_of_another_key_does_not_open(sealer: Sealer) -> None:
    token = Sealer([new_key()]).seal("cursor", BUYER, b"position")

    with pytest.raises(InvalidInput):
        sealer.open("cursor", BUYER, token)


def test_a_token_sealed_by_a_retired_key_still_opens_while_the_key_is_listed() -> None:
    old, new = new_key(), new_key()
    token = Sealer([old]).seal("cursor", BUYER, b"position")

    rotated = Sealer([new, old])

    assert rotated.open("cursor", BUYER, token) == b"position"
    assert Sealer([new]).open("cursor", BUYER, rotated.seal("cursor", BUYER, b"p")) == b"p"


@settings(max_examples=200, deadline=None, database=None)
@given(position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_makes_a_token_invalid(position: int, bit: int) -> None:
    sealer = Sealer([bytes(32)])
    raw = bytearray(base64.urlsafe_b64decode(sealer.seal("cursor", BUYER, b"position") + "=="))
    raw[position % len(raw)] ^= 1 << bit
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")

    with pytest.raises(InvalidInput):
        sealer.open("cursor", BUYER, tampered)


@settings(max_examples=200, deadline=None, database=None)
@given(token=st.text(max_size=200))
def test_any_text_is_a_token_or_invalid_input(token: str) -> None:
    with pytest.raises(InvalidInput):
        Sealer([bytes(32)]).open("page_token", BUYER, token)


def test_the_key_file_is_written_once_owner_only_and_then_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "token.key"

    first = write_key_file(path)
    second = write_key_file(path)  # another replica starting beside the first

    assert first == second == read_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["token.key"]


def test_a_key_file_of_several_keys_seals_with_the_first(tmp_path: Path) -> None:
    new, old = new_key(), new_key()
    path = tmp_path / "token.key"
    path.write_text(f"{key_line(new)}\n{key_line(old)}\n")

    keys = read_key_file(path)

    assert keys == [new, old]
    token = Sealer(keys).seal("cursor", BUYER, b"p")
    assert Sealer([new]).open("cursor", BUYER, token) == b"p"


@pytest.mark.parametrize(
    "content", ["", "not base64 !!\n", key_line(b"short") + "\n"], ids=["empty", "junk", "short"]
)
def test_a_key_file_without_a_whole_key_is_refused_without_printing_it(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "token.key"
    path.write_text(content)

    with pytest.raises(KeyFileError) as refused:
        read_key_file(path)

    assert str(path) in str(refused.value)
    assert not content.strip() or content.strip() not in str(refused.value)
