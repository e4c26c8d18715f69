"""Summarise a py-spy raw (folded) profile: where the samples went, by frame and by area.

``python -m bench.flames PROFILE [--top N] [--only TEXT]`` prints the frames
with the most self time, the most inclusive time, and a split by area (gRPC, protobuf,
redis-py, python-statemachine, the domain, the service, asyncio, other).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# (area, pattern on "function (file:line)") — the first that matches a frame's file wins.
AREAS: tuple[tuple[str, str], ...] = (
    ("python-statemachine", r"site-packages/statemachine/"),
    ("redis-py", r"site-packages/redis/"),
    ("protobuf", r"google/protobuf/|_pb2"),
    ("grpc", r"grpc/|grpc_|cygrpc"),
    ("domain (aftersale)", r"aftersale/"),
    ("service", r"service/"),
    ("asyncio", r"asyncio/"),
    ("json", r"json/"),
)
# What a sample was doing: the innermost frame that matches one of these (function + file).
BUCKETS: tuple[tuple[str, str], ...] = (
    ("idle (epoll wait)", r"^EpollSelector\.select "),
    (
        "serialization (record blob, event proto JSON, JSON, hashes)",
        r"^(AfterSale\.copy|(encode|decode)_record|record_from_hash|record_from_flat|"
        r"encode_event|decode_event|event_from_fields|_body_hash|commit_call|dumps|loads|encode|"
        r"decode) ",
    ),
    (
        "redis-py commands (encode, socket, RESP parse)",
        r"^(Redis\.execute_command|AsyncScript\.__call__|Pipeline\.execute|"
        r"Scripts\.run_many) ",
    ),
    ("python-statemachine engine + our rules (decide)", r"^(decide|run) \(.*aftersale/"),
    ("proto conversion (convert_in/out)", r"service/api/convert_"),
    ("auth + error interceptors", r"service/api/(auth|error_interceptor)\.py"),
    ("service handlers (rest)", r"service/handlers\.py"),
    # Leaf frames of the loop itself: the C code it runs (asyncio's C tasks, uvloop, cygrpc).
    (
        "native code run by the event loop (C tasks, uvloop, cygrpc)",
        r"^(Handle\._run|Runner\.run|run_until_complete|run_forever) ",
    ),
    ("other threads (gRPC poller, mostly waiting in epoll)", r"^Thread\.run "),
)
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def parse(path: Path) -> list[tuple[list[str], int]]:
    """Folded stacks (root first) with their sample counts."""
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    file = match.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{match.group('func')} ({file})"


def area_of(frame: str) -> str:
    for name, pattern in AREAS:
        if re.search(pattern, frame):
            return name
    return "other"


def bucket_of(frames: list[str]) -> str:
    """The activity of one sample (see ``BUCKETS``); ``other`` if nothing matches."""
    for frame in reversed(frames):
        short = _short(frame)
        for name, pattern in BUCKETS:
            if re.search(pattern, short):
                return name
    return "other (asyncio, event loop, rest)"


def summarise(path: Path, top: int = 25, only: str = "") -> str:
    """The summary of ``path``; ``only``: just the samples with a frame containing it."""
    stacks = [(f, c) for f, c in parse(path) if not only or any(only in x for x in f)]
    total = sum(count for _, count in stacks) or 1
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    for frames, count in stacks:
        buckets[bucket_of(frames)] += count
        leaf = frames[-1]
        self_time[_short(leaf)] += count
        # The area of a sample: the innermost frame that belongs to a known area.
        area = next((a for a in map(area_of, reversed(frames)) if a != "other"), "other")
        areas[area] += count
        for frame in set(frames):
            inclusive[_short(frame)] += count
    scope = f" with a frame matching {only!r}" if only else ""
    lines = [f"{path.name}: {total} samples{scope}", "", "by activity:"]
    lines += [f"  {100 * c / total:5.1f} %  {name}" for name, c in buckets.most_common()]
    lines += ["", "by area (innermost known frame):"]
    lines += [f"  {100 * c / total:5.1f} %  {name}" for name, c in areas.most_common()]
    lines += ["", "self time:"]
    lines += [f"  {100 * c / total:5.1f} %  {name}" for name, c in self_time.most_common(top)]
    lines += ["", "inclusive time:"]
    lines += [f"  {100 * c / total:5.1f} %  {name}" for name, c in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--only", default="", help="only samples with a frame containing this")
    args = parser.parse_args()
    print(summarise(args.profile, args.top, args.only))


if __name__ == "__main__":
    main()
