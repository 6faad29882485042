"""Every Keyland process runs on uvloop's event loop.

Under load the workers spent a third of their CPU in asyncio's own loop (py-spy, 100
users created at once): many small tasks, sockets and timers per event. uvloop runs the
same asyncio API in C. uvicorn picks it (and httptools, its C HTTP parser) by itself when
installed; the faust workers and the bot create their loops through this policy.
"""

from __future__ import annotations

import asyncio

import uvloop


def use_uvloop() -> None:
    """Loops made from now on in this process are uvloop's."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
