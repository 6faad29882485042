"""Processes that call :func:`keyland.event_loop.use_uvloop` run on uvloop."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import uvloop

from keyland.event_loop import use_uvloop


def test_loops_made_after_it_are_uvloops() -> None:
    before = asyncio.get_event_loop_policy()
    try:
        use_uvloop()
        loop = asyncio.new_event_loop()
        try:
            assert isinstance(loop, uvloop.Loop)
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(before)


def test_uvicorn_serves_on_uvloop_and_httptools_once_installed() -> None:
    # uvicorn's "auto" choices, resolved as a service process resolves them.
    probe = (
        "from uvicorn.loops.auto import auto_loop_factory\n"
        "from uvicorn.protocols.http.auto import AutoHTTPProtocol\n"
        "loop = auto_loop_factory(use_subprocess=False)()\n"
        "print(type(loop).__module__, AutoHTTPProtocol.__name__)\n"
        "loop.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["uvloop", "HttpToolsProtocol"]
