"""User creation under load: Keyland through the real bot, side by side with the
seed-style baseline (``bench/baseline/``, not a Keyland component).

Keyland, against the running local stack (``make up``): N simulated Telegram users at
once (fresh ids each run) write ``/start`` to the bot through the Telegram emulator,
press "free trial" under the menu, and wait. Per user: the bot's answer to each step,
the "trial active" message (the notifier, paced at Telegram's 30 messages/s), and when
the user's key is enabled on both country nodes: the later of the provisioner's two
``KeyActivated``, each published as soon as the node's agent answered that Xray has the
key (see ``bench.measure.Activations``; the agents' lists, polled every 0.1 s, must show
it too). Afterwards the users are purged (keys off every node) before the next level.

Baseline: the same N at once ``POST /users`` to a synchronous Flask + pymongo app that
inserts the user and calls both node agents before it answers (its own two nodes, real
Xray + our node agent, and its own database; all removed at the end). Its answer is the
moment the key is usable; no Telegram hop is in front of it.

Both: requests per second, CPU seconds and peak RSS per process during the level
(``/proc``, see ``bench.measure``). Run: ``make bench`` or
``.venv/bin/python -m bench.users [--only keyland|baseline] [levels...]`` (default 1 10
100 1000).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass, field

import httpx

from bench.baseline.harness import Baseline, running_baseline
from bench.light_client import LightClient
from bench.local import (
    TELEGRAM_EMULATOR,
    LocalStack,
    has_button,
    new_telegram_ids,
    next_bot_message,
    shared_database,
    simulated_user,
)
from bench.measure import (
    SPREAD_HEADER,
    NodeWatcher,
    ProcessSampler,
    print_usage,
    quantile,
    spread_ms,
    stack_pids,
)

LEVELS = (1, 10, 100, 1000)
LEVEL_TIMEOUT_S = 300.0
WHOLE = "created → key usable on both nodes"
SHARED_DATABASE = ("ferretdb", "postgresql")  # the server both sides use


@dataclass
class Level:
    users: int
    stages: dict[str, list[float]]
    completed: int
    wall_s: float
    requests: int
    sampler: ProcessSampler
    failures: list[str] = field(default_factory=list)
    left_on_nodes: int = 0

    @property
    def whole(self) -> list[float]:
        """Created → key usable on both nodes: the last stage."""
        return list(self.stages.values())[-1]

    def throughput(self) -> float:
        return self.completed / self.wall_s if self.wall_s else 0.0

    def print(self, title: str) -> None:
        print(f"\n{title}: {self.users} concurrent users  (ms)")
        print(f"{'stage':<52}{SPREAD_HEADER}")
        for stage, seconds in self.stages.items():
            print(f"{stage:<52}{spread_ms(seconds)}")
        print(
            f"{self.completed}/{self.users} usable in {self.wall_s:.1f} s: "
            f"{self.throughput():.1f} users/s, {self.requests / self.wall_s:.1f} requests/s"
            f" ({self.requests} requests)"
            if self.wall_s
            else f"0/{self.users} usable"
        )
        for failure in sorted(set(self.failures))[:5]:
            print(f"  failed: {failure} (x{self.failures.count(failure)})")
        if self.left_on_nodes:
            print(f"  cleanup: {self.left_on_nodes} keys still on a node after two minutes")


def _between(marks: dict[int, dict[str, float]], first: str, last: str) -> list[float]:
    return [m[last] - m[first] for m in marks.values() if first in m and last in m]


async def keyland_level(
    stack: LocalStack, emulator: LightClient, watcher: NodeWatcher, count: int
) -> Level:
    ids = new_telegram_ids(count)
    keys = {telegram_id: stack.key_of(telegram_id) for telegram_id in ids}
    watcher.expect(keys.values())
    marks: dict[int, dict[str, float]] = {telegram_id: {} for telegram_id in ids}
    deadline = time.monotonic() + LEVEL_TIMEOUT_S

    async def one(telegram_id: int) -> None:
        user, mark = simulated_user(emulator, telegram_id), marks[telegram_id]
        mark["start"] = time.perf_counter()
        await user.send("/start")
        menu = await next_bot_message(user, deadline)
        if menu is None:
            raise TimeoutError("no menu")
        mark["menu"] = mark["trial"] = time.perf_counter()
        await user.press(menu, "menu:trial")
        while "reply" not in mark or "notified" not in mark:
            message = await next_bot_message(user, deadline)
            if message is None:
                raise TimeoutError("no trial answer or notice")
            mark["notified" if has_button(message, "menu:connect") else "reply"] = (
                time.perf_counter()
            )

    started = time.perf_counter()
    async with ProcessSampler(stack_pids(stack.stack.state_dir)) as sampler:
        outcomes = await asyncio.gather(*(one(t) for t in ids), return_exceptions=True)
        await watcher.wait(keys.values(), enabled=True, timeout_s=deadline - time.monotonic())
    for telegram_id, key in keys.items():
        if (usable := watcher.usable_at(key)) is not None:
            marks[telegram_id]["usable"] = usable
    done = [m["usable"] for m in marks.values() if "usable" in m]
    level = Level(
        users=count,
        stages={
            "/start → menu": _between(marks, "start", "menu"),
            "trial pressed → bot's answer": _between(marks, "trial", "reply"),
            "trial pressed → 'trial active' message": _between(marks, "trial", "notified"),
            "trial pressed → key usable on both nodes": _between(marks, "trial", "usable"),
            "/start → key usable on both nodes": _between(marks, "start", "usable"),
        },
        completed=len(done),
        wall_s=max(done) - started if done else 0.0,
        requests=2 * count,  # the two updates each user sends the bot
        sampler=sampler,
        failures=[repr(o) for o in outcomes if isinstance(o, BaseException)],
    )
    level.left_on_nodes = await stack.purge(ids, watcher)
    return level


async def baseline_level(
    baseline: Baseline,
    client: LightClient,
    watcher: NodeWatcher,
    count: int,
    pids: dict[str, int],
) -> Level:
    ids = new_telegram_ids(count)
    marks: dict[int, dict[str, float]] = {telegram_id: {} for telegram_id in ids}
    keys: dict[int, str] = {}

    async def one(telegram_id: int) -> None:
        mark = marks[telegram_id]
        mark["start"] = time.perf_counter()
        answer = await client.post(f"{baseline.url}/users", json={"telegram_id": telegram_id})
        answer.raise_for_status()
        mark["usable"] = time.perf_counter()  # it answers once both nodes enabled the key
        keys[telegram_id] = str(answer.json()["key_id"])

    started = time.perf_counter()
    async with ProcessSampler(pids) as sampler:
        outcomes = await asyncio.gather(*(one(t) for t in ids), return_exceptions=True)
    watcher.expect(keys.values())
    not_enabled = await watcher.wait(keys.values(), enabled=True, timeout_s=30)
    done = [m["usable"] for m in marks.values() if "usable" in m]
    level = Level(
        users=count,
        stages={
            "POST /users answered (key usable on both nodes)": _between(marks, "start", "usable")
        },
        completed=len(done) - not_enabled,
        wall_s=max(done) - started if done else 0.0,
        requests=count,
        sampler=sampler,
        failures=[repr(o) for o in outcomes if isinstance(o, BaseException)],
    )
    gate = asyncio.Semaphore(20)

    async def delete(telegram_id: int) -> None:
        async with gate:
            await client.delete(f"{baseline.url}/users/{telegram_id}")

    await asyncio.gather(*(delete(t) for t in keys))
    level.left_on_nodes = await watcher.wait(keys.values(), enabled=False, timeout_s=120)
    return level


def _keyland_cpu(level: Level) -> float:
    """CPU of Keyland's own processes and infrastructure; not the SaaS emulators."""
    return level.sampler.total_cpu_s(n for n in level.sampler.usage if "emulator" not in n)


def print_comparison(keyland: dict[int, Level], baseline: dict[int, Level]) -> None:
    print(f"\n{WHOLE}: Keyland (through the bot) vs the seed-style BASELINE (no bot)")
    print(
        f"{'users':>6} | {'Keyland p50':>11} {'p99':>7} {'users/s':>8} {'CPU s':>6}"
        f" | {'baseline p50':>12} {'p99':>7} {'users/s':>8} {'CPU s':>6}"
        f" | {'Keyland÷baseline p50':>20} {'p99':>6} {'users/s':>8} {'CPU':>6}"
    )

    def figures(level: Level, cpu: float) -> tuple[float, float, float, float]:
        whole = level.whole or [0.0]
        return quantile(whole, 0.5), quantile(whole, 0.99), level.throughput(), cpu

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}" if b else "-"

    for users in sorted(keyland.keys() & baseline.keys()):
        k = figures(keyland[users], _keyland_cpu(keyland[users]))
        b = figures(baseline[users], baseline[users].sampler.total_cpu_s())
        print(
            f"{users:>6} | {k[0] * 1000:>9.0f}ms {k[1] * 1000:>5.0f}ms {k[2]:>8.1f} {k[3]:>6.1f}"
            f" | {b[0] * 1000:>10.0f}ms {b[1] * 1000:>5.0f}ms {b[2]:>8.1f} {b[3]:>6.1f}"
            f" | {ratio(k[0], b[0]):>20} {ratio(k[1], b[1]):>6} {ratio(k[2], b[2]):>8}"
            f" {ratio(k[3], b[3]):>6}"
        )
    print(
        "Keyland CPU: every service, node agents, Xray, Kafka, FerretDB, PostgreSQL (postmaster"
        " and backends; not the emulators); baseline CPU: the Flask app, its node agents and"
        " Xray, FerretDB, PostgreSQL (the same server, which the idle Keyland stack also uses)."
    )


async def main(
    levels: tuple[int, ...], sides: set[str]
) -> tuple[dict[int, Level], dict[int, Level]]:
    """Run the levels on each side; Keyland's and the baseline's levels by user count."""
    stack = LocalStack.load()
    limits = httpx.Limits(
        max_connections=2 * max(levels) + 10, max_keepalive_connections=None, keepalive_expiry=1.0
    )
    keyland: dict[int, Level] = {}
    baseline: dict[int, Level] = {}
    async with (
        LightClient(TELEGRAM_EMULATOR, timeout_s=60, connections=2 * max(levels) + 10) as emulator,
        httpx.AsyncClient(timeout=LEVEL_TIMEOUT_S, limits=limits) as client,
        LightClient(timeout_s=LEVEL_TIMEOUT_S, connections=2 * max(levels) + 10) as load,
    ):
        if "keyland" in sides:
            async with stack.watching(client) as watcher:
                for count in levels:
                    keyland[count] = await keyland_level(stack, emulator, watcher, count)
                    keyland[count].print("Keyland, /start → trial through the bot")
            print_usage(
                "\nKeyland processes during each level",
                {n: lv.sampler for n, lv in keyland.items()},
            )
        if "baseline" in sides:
            async with running_baseline(shared_database()) as running:
                shared = stack_pids(stack.stack.state_dir)
                pids = running.pids | {k: v for k, v in shared.items() if k in SHARED_DATABASE}
                # Its answers tell when keys are usable; the polls only confirm.
                async with NodeWatcher(client, running.agents, interval_s=0.5) as watcher:
                    for count in levels:
                        baseline[count] = await baseline_level(running, load, watcher, count, pids)
                        baseline[count].print("BASELINE (seed-style Flask + pymongo, not Keyland)")
            print_usage(
                "\nBASELINE processes during each level",
                {n: lv.sampler for n, lv in baseline.items()},
            )
    print_comparison(keyland, baseline)
    return keyland, baseline


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("levels", nargs="*", type=int, default=list(LEVELS))
    parser.add_argument("--only", choices=("keyland", "baseline"), help="one side only")
    arguments = parser.parse_args()
    sides = {arguments.only} if arguments.only else {"keyland", "baseline"}
    asyncio.run(main(tuple(arguments.levels), sides))
