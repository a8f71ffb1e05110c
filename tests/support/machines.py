"""Test "machines": a network namespace per worker, reaching nothing on this host but the ports
it is given.

`machine(index, ports)` makes a namespace joined to this host by a veth pair (host side
10.213.{index}.1, namespace side .2). For each port P, this process forwards
10.213.{index}.1:P to its own 127.0.0.1:P, and a forwarder inside the namespace
(`python -m tests.support.machines`) listens on the namespace's 127.0.0.1:P and forwards to
10.213.{index}.1:P. A program run with the machine's `prefix` therefore finds Postgres, the
broker, S3 and "fal" at the same 127.0.0.1 addresses as the test — and nothing else: not the
daemon's code server, not the other machine's processes' ports.

Needs root and iproute2 (`ip netns`); `available()` says whether this host has them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
Mapping = tuple[str, int, str, int]
"""(listen host, listen port, target host, target port)."""


def available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


@dataclass(frozen=True)
class Machine:
    namespace: str
    address: str
    """The namespace's own address on its veth."""

    @property
    def prefix(self) -> list[str]:
        """Put before a command to run it on this machine."""
        return ["ip", "netns", "exec", self.namespace]


@contextmanager
def machine(index: int, ports: list[int]) -> Iterator[Machine]:
    """A namespace that reaches this host's 127.0.0.1 only on `ports`; always torn down."""
    name = f"studio-{index}-{secrets.token_hex(3)}"
    host, guest = f"10.213.{index}.1", f"10.213.{index}.2"
    veth = f"st{index}{secrets.token_hex(2)}"
    with contextlib.ExitStack() as stack:
        _ip("netns", "add", name)
        stack.callback(_ip, "netns", "del", name, check=False)
        _ip("link", "add", veth, "type", "veth", "peer", "name", f"{veth}n")
        stack.callback(_ip, "link", "del", veth, check=False)
        _ip("link", "set", f"{veth}n", "netns", name)
        _ip("addr", "add", f"{host}/30", "dev", veth)
        _ip("link", "set", veth, "up")
        inside = ["ip", "-n", name]
        _run([*inside, "addr", "add", f"{guest}/30", "dev", f"{veth}n"])
        _run([*inside, "link", "set", f"{veth}n", "up"])
        _run([*inside, "link", "set", "lo", "up"])
        stack.enter_context(forwarding([(host, p, "127.0.0.1", p) for p in ports]))
        relay = subprocess.Popen(
            [
                "ip", "netns", "exec", name, sys.executable, "-m", "tests.support.machines",
                *(f"127.0.0.1:{p}={host}:{p}" for p in ports),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        stack.callback(_stop, relay)
        if relay.stdout is None or relay.stdout.readline().strip() != "listening":
            raise RuntimeError(f"the forwarder in {name} did not start")
        yield Machine(name, guest)


@contextmanager
def forwarding(mappings: list[Mapping]) -> Iterator[None]:
    """Forward TCP as `mappings` say, from a thread of this process, until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    servers = asyncio.run_coroutine_threadsafe(_listen(mappings), loop).result(timeout=10)
    try:
        yield
    finally:
        for server in servers:
            loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


async def _listen(mappings: list[Mapping]) -> list[asyncio.Server]:
    servers = []
    for listen_host, listen_port, target_host, target_port in mappings:

        async def handle(
            reader: asyncio.StreamReader,
            writer: asyncio.StreamWriter,
            target: tuple[str, int] = (target_host, target_port),
        ) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection(*target)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

        servers.append(
            await asyncio.start_server(handle, listen_host, listen_port, reuse_address=True)
        )
    return servers


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


def _ip(*args: str, check: bool = True) -> None:
    _run(["ip", *args], check=check)


def _run(command: list[str], check: bool = True) -> None:
    subprocess.run(command, check=check, capture_output=True, timeout=30)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _parse(spec: str) -> Mapping:
    listen, target = spec.split("=")
    listen_host, listen_port = listen.rsplit(":", 1)
    target_host, target_port = target.rsplit(":", 1)
    return listen_host, int(listen_port), target_host, int(target_port)


async def _main(specs: list[str]) -> None:
    servers = await _listen([_parse(spec) for spec in specs])
    print("listening", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":  # the forwarder inside a namespace
    asyncio.run(_main(sys.argv[1:]))
