#!/usr/bin/env python3
"""A TCP relay that puts a server DELAY_MS away: every chunk read from
either side is written to the other DELAY_MS after it arrived, in order, so
each round trip through it takes 2 x DELAY_MS more (bandwidth is not
limited). For bench/nginx_lateness: Redis 20 ms away.

    delay_relay.py --target-port PORT --delay-ms 20 --port-file FILE [--parent-pid PID]

Listens on 127.0.0.1 (a free port), writes that port to FILE when ready,
exits on SIGTERM or when PARENT_PID is gone. Standard library only.
"""
import argparse
import asyncio
import os
import signal
import sys


async def pump(reader, writer, delay):
    """Copies reader to writer, each chunk delay seconds late, in order."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read():
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((loop.time() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((loop.time() + delay, b""))

    async def write():
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return

    await asyncio.gather(read(), write())


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target-port", type=int, required=True)
    p.add_argument("--delay-ms", type=float, default=20)
    p.add_argument("--port-file", required=True)
    p.add_argument("--parent-pid", type=int)
    args = p.parse_args()
    delay = args.delay_ms / 1000.0

    async def serve(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", args.target_port)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(pump(client_reader, server_writer, delay),
                                 pump(server_reader, client_writer, delay))
        finally:
            for w in (client_writer, server_writer):
                w.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=512)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)

    async def watch_parent():
        while args.parent_pid:
            try:
                os.kill(args.parent_pid, 0)
            except ProcessLookupError:
                stop.set()
                return
            await asyncio.sleep(0.5)

    watcher = asyncio.ensure_future(watch_parent())
    await stop.wait()
    watcher.cancel()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
