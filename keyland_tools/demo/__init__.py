"""``keyland demo``: a scripted user journey through the running local stack (``make up``),
played against the Telegram and YooKassa emulators, with the time each step took.

A referrer starts the bot; a friend opens their referral link, takes the trial, gets a
key on every country node, fetches a page through one node with a real VLESS client,
buys a month (access extended, region chosen, the referrer credited); the operator then
cuts the friend's time in the admin menu, so the reminder goes out, and then takes the
rest: access expires, the key is disabled on every node and the client is refused.

Each run uses new Telegram ids, so the demo can be played again on the same stack.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from pathlib import Path

import httpx

from keyland_tools.demo.driver import DemoFailed, StackView
from keyland_tools.demo.journey import Journey
from keyland_tools.demo.timeline import HEADER, Timeline, format_summary

__all__ = ["DemoFailed", "run"]

# New ids each run, out of the small ranges the tests use, so nothing is left over.
FIRST_DEMO_ID = 7_000_000_000


def run() -> None:
    """Play the journey once, printing each step as it is seen; DemoFailed on a timeout."""
    first_id = FIRST_DEMO_ID + 2 * secrets.randbelow(10**9)
    timeline = Timeline()

    async def main() -> None:
        view = StackView.local()
        with tempfile.TemporaryDirectory(prefix="keyland-demo-") as home:
            async with httpx.AsyncClient(timeout=30) as http:
                journey = Journey(http, view, timeline, Path(home), first_id)
                try:
                    await journey.play()
                except httpx.TransportError as error:
                    raise DemoFailed(f"the stack does not answer: {error!r}") from error

    print(HEADER)
    asyncio.run(main())
    print(format_summary(timeline.steps))
