"""The control client's asyncio network backend (probe/control/client/backend.py): questions really
take it, kept-alive connections are reused, and one the helper closed is not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpcore
import pytest
from test_control_server import world

from probe.control.client.backend import AsyncioBackend


def test_questions_take_the_asyncio_backend_over_one_kept_alive_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    connects: list[tuple[str, int]] = []
    original = AsyncioBackend.connect_tcp

    async def counted(self: AsyncioBackend, host: str, port: int, *args: object, **kwargs: object) -> object:
        connects.append((host, port))
        return await original(self, host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(AsyncioBackend, "connect_tcp", counted)

    async def main() -> None:
        async with world(tmp_path) as w:
            client = w.client(max_connections=1)
            try:
                for path in ("", "final"):
                    response, failure = await client.query(f"https://site.test:{w.port}/{path}", [])
                    assert failure is None and response is not None and response.helper == w.helper_url
            finally:
                await client.aclose()
    asyncio.run(main())
    assert len(connects) == 1 and connects[0][0] == "127.0.0.1"


def test_a_connection_the_peer_closed_reads_as_readable_so_it_is_not_reused() -> None:
    async def main() -> None:
        closed = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()
            closed.set()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
            await closed.wait()
            for _ in range(100):  # the loop reads the EOF on its next turns
                if stream.get_extra_info("is_readable"):
                    break
                await asyncio.sleep(0.01)
            assert stream.get_extra_info("is_readable") is True
            assert await stream.read(100, timeout=5) == b""
            await stream.aclose()
        finally:
            server.close()
            await server.wait_closed()
    asyncio.run(main())


def test_failures_are_httpcores_own() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(httpcore.ConnectError):
            await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        quiet = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        try:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", quiet.sockets[0].getsockname()[1], timeout=5)
            with pytest.raises(httpcore.ReadTimeout):
                await stream.read(10, timeout=0.05)
            await stream.aclose()
        finally:
            quiet.close()
    asyncio.run(main())
