"""What the service says of a Redis it did not start (``service.storage.redis_settings``)."""

from __future__ import annotations

from service.storage.redis_settings import LISTPACK_VALUE, findings

GOOD = {
    "maxmemory-policy": "noeviction",
    "appendonly": "yes",
    "hash-max-listpack-value": str(LISTPACK_VALUE),
}


def test_a_redis_set_up_as_the_readme_says_has_nothing_to_report() -> None:
    assert findings(GOOD) == []
    assert findings({}) == []  # nothing answered: nothing to say


def test_an_evicting_policy_is_reported_with_the_setting_to_use() -> None:
    (finding,) = findings({**GOOD, "maxmemory-policy": "allkeys-lru"})
    assert "maxmemory-policy is allkeys-lru" in finding and "noeviction" in finding


def test_no_append_only_file_is_reported() -> None:
    (finding,) = findings({**GOOD, "appendonly": "no"})
    assert finding.startswith("appendonly is no")


def test_a_small_listpack_value_is_reported_under_the_name_the_server_uses() -> None:
    (seven,) = findings({**GOOD, "hash-max-listpack-value": "64"})
    assert seven.startswith("hash-max-listpack-value is 64") and str(LISTPACK_VALUE) in seven
    six = {k: v for k, v in GOOD.items() if k != "hash-max-listpack-value"}
    (finding,) = findings({**six, "hash-max-ziplist-value": "64"})
    assert finding.startswith("hash-max-ziplist-value is 64")
    assert findings({**six, "hash-max-ziplist-value": "4096"}) == []
