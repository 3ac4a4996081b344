"""A bare Invoke endpoint for tests/perf/fidelity.py: the emulator's answer, with none of its work.

Run as its own process (as the emulator is): ``python bare_server.py SPEC``, where SPEC is JSON
``{"body_b64": ..., "headers": {...}}`` captured from a real emulator response. It listens on
127.0.0.1 only (a free port), prints ``listening on http://127.0.0.1:PORT`` and answers every
POST /2015-03-31/functions/{name}/invocations with status 200 and exactly those body bytes and
headers, until SIGTERM or SIGINT. It uses aiohttp with the emulator's own runner settings, so
the difference between the two is the emulator's work, not the HTTP stack.
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import sys

from aiohttp import web

HOST = "127.0.0.1"


def make_app(body: bytes, headers: dict[str, str]) -> web.Application:
    async def invoke(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200, body=body, headers=headers)

    app = web.Application()
    app.add_routes([web.post("/2015-03-31/functions/{name}/invocations", invoke)])
    return app


async def serve(spec: dict) -> None:
    app = make_app(base64.b64decode(spec["body_b64"]), dict(spec["headers"]))
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"listening on http://{HOST}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(json.loads(sys.argv[1])))
