"""A TCP proxy in front of the real server that can lose an answer: on a connection it was
told to break, it forwards the call to the server and drops the connection when the answer
starts (the server's first HEADERS frame on a call's stream), so the server has handled the
call and the client hears UNAVAILABLE. It also reads what clients send (the gRPC messages in
the HTTP/2 DATA frames), so a test can see which idempotency key each attempt carried.

grpc's Python server sends a unary call's response headers with its answer, after the
handler returned, so a drop at the first HEADERS frame is a drop after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS = 0x0, 0x1
PADDED = 0x8


@dataclass
class Attempt:
    """One call as the proxy saw it: its connection and the gRPC message it carried."""

    connection: int
    message: bytes


@dataclass
class Proxy:
    """Forwards 127.0.0.1:``port`` to ``upstream``; ``break_next`` connections are dropped
    at their first answer."""

    upstream: tuple[str, int]
    break_next: int = 0
    port: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    connections: int = 0
    dropped: int = 0
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        self.connections += 1
        number = self.connections
        doomed = self.break_next > 0
        self.break_next -= 1 if doomed else 0
        pumps: list[asyncio.Task[None]] = []
        up_writer: asyncio.StreamWriter | None = None
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            pumps = [
                asyncio.create_task(self._to_server(number, reader, up_writer)),
                asyncio.create_task(self._to_client(up_reader, writer, doomed)),
            ]
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            for end in (writer, up_writer):
                if end is not None:
                    end.close()
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await end.wait_closed()
            self._handlers.discard(handler)

    async def _to_server(
        self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        streams: dict[int, bytes] = {}
        try:
            preface = await reader.readexactly(len(PREFACE))
            writer.write(preface)
            async for kind, flags, stream, payload, raw in _frames(reader):
                writer.write(raw)
                if kind == DATA and stream:
                    body = payload[1 : len(payload) - payload[0]] if flags & PADDED else payload
                    streams[stream] = streams.get(stream, b"") + body
                    self._take_messages(number, streams, stream)
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    def _take_messages(self, number: int, streams: dict[int, bytes], stream: int) -> None:
        buffer = streams[stream]
        while len(buffer) >= 5:
            (size,) = struct.unpack(">I", buffer[1:5])
            if len(buffer) < 5 + size:
                break
            self.attempts.append(Attempt(number, buffer[5 : 5 + size]))
            buffer = buffer[5 + size :]
        streams[stream] = buffer

    async def _to_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, doomed: bool
    ) -> None:
        try:
            async for kind, _flags, stream, _payload, raw in _frames(reader):
                if doomed and kind == HEADERS and stream:
                    self.dropped += 1
                    return  # the answer is lost with the connection
                writer.write(raw)
        except (asyncio.IncompleteReadError, ConnectionError):
            return


async def _frames(
    reader: asyncio.StreamReader,
) -> AsyncIterator[tuple[int, int, int, bytes, bytes]]:
    """HTTP/2 frames: (type, flags, stream id, payload, the frame's bytes)."""
    while True:
        head = await reader.readexactly(9)
        length = int.from_bytes(head[:3], "big")
        payload = await reader.readexactly(length)
        stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
        yield head[3], head[4], stream, payload, head + payload
