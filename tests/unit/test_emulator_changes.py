"""The Telegram emulator's waits: a wait with a probe is looked at again only when its
probe moved, so many users each waiting on their own chat do not all wake at every
change; a wait without one looks again at every change."""

from __future__ import annotations

import asyncio

from emulators.telegram.runtime import Changes


async def settled() -> None:
    """Let every woken wait run until it waits again (a few turns of the loop)."""
    await asyncio.sleep(0.01)


async def test_a_probed_wait_looks_again_only_when_its_probe_moved() -> None:
    changes = Changes()
    mine, others = [0], [0]
    looked = 0

    def arrived() -> bool:
        nonlocal looked
        looked += 1
        return mine[0] >= 2

    waiting = asyncio.create_task(changes.until(arrived, 5, probe=lambda: mine[0]))
    await settled()
    for _ in range(50):  # other chats change: this wait is not looked at
        others[0] += 1
        changes.announce()
    await settled()
    assert looked == 1
    mine[0] += 1
    changes.announce()
    await settled()
    assert looked == 2
    assert not waiting.done()
    mine[0] += 1
    changes.announce()
    assert await waiting is True
    assert looked == 3


async def test_a_probed_wait_times_out_when_nothing_it_watches_moves() -> None:
    changes = Changes()
    waiting = asyncio.create_task(changes.until(lambda: False, 0.05, probe=lambda: 0))
    await settled()
    changes.announce()
    assert await waiting is False


async def test_a_wait_without_a_probe_looks_again_at_every_change() -> None:
    changes = Changes()
    looked = 0

    def never() -> bool:
        nonlocal looked
        looked += 1
        return False

    waiting = asyncio.create_task(changes.until(never, 5))
    await settled()
    for _ in range(3):
        changes.announce()
        await settled()
    assert looked == 4
    waiting.cancel()
