"""A TCP forwarder run as a process of its own, between servers and their PostgreSQL, that a test cuts.

``python tcp_cut_proxy.py TARGET_PORT`` listens on a free 127.0.0.1 port, prints it on its first line,
and forwards every connection to 127.0.0.1:TARGET_PORT. It then reads commands on stdin, one a line, and
answers each with ``ok`` once it has taken effect:

- ``cut``: every connection is reset and the listening socket closed, so new connections are refused
  (a network cut as the clients see it: their sockets fail, and so does every attempt to connect);
- ``restore``: listen again on the same port and forward again.

``CutProxy`` starts it from a test and sends the commands.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

CHUNK = 65536


class Proxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.server: asyncio.Server | None = None
        self.open: set[asyncio.StreamWriter] = set()

    async def listen(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.open |= {writer, up_writer}
        await asyncio.gather(self.pipe(reader, up_writer), self.pipe(up_reader, writer))
        for w in (writer, up_writer):
            self.open.discard(w)
            w.transport.abort()

    async def pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()  # one side closed or failed: so does the other

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.open):
            w.transport.abort()  # a reset, as a broken route shows it
        self.open.clear()

    async def command(self, line: str) -> None:
        if line == "cut":
            await self.cut()
        elif line == "restore":
            if self.server is None or not self.server.is_serving():
                await self.listen()
        else:
            raise SystemExit(f"unknown command {line!r}")


class CutProxy:
    """This file run as a process in front of ``127.0.0.1:target_port``; ``port`` is where it listens."""

    def __init__(self, target_port: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(target_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def _send(self, command: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        assert answer == "ok", f"the proxy answered {answer!r} to {command!r}"

    def cut(self) -> None:
        self._send("cut")

    def restore(self) -> None:
        self._send("restore")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)


async def main(target_port: int) -> None:
    proxy = Proxy(target_port)
    await proxy.listen()
    print(proxy.port, flush=True)
    loop = asyncio.get_running_loop()
    while line := (await loop.run_in_executor(None, sys.stdin.readline)):
        await proxy.command(line.strip())
        print("ok", flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
