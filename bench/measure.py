"""What the benchmarks measure with: percentiles, the processes' CPU and memory, and the
moment a key is enabled on each node (the provisioner's ``KeyActivated`` for that node,
or, where there is none, the first poll of the node agent's list that shows the key).

CPU and memory are read from ``/proc/<pid>/stat`` and ``/proc/<pid>/status`` (Linux),
without psutil, for each named process with all its descendants (PostgreSQL's postmaster
and every backend it forks; a descendant named on its own row is left to that row): CPU
seconds are user + system time, the reaped children's included, at the end of a level
minus at its start; peak RSS is the largest resident memory sampled every second meanwhile
(file-backed and shared memory counted once per tree).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer

from events import decode
from events.keys import KeyActivated
from events.registry import TopicNames
from keyland.settings import KafkaSettings
from tests.kafka_tail import assign_whole_topic

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
Marks = dict[int, dict[str, float]]  # per user: stage → time.perf_counter()


def quantile(values: list[float], q: float) -> float:
    """The value at rank ``q`` (0..1) of the sorted ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spread_ms(seconds: list[float]) -> str:
    """``p50 p95 p99 max`` in milliseconds, aligned; dashes when nothing was measured."""
    if not seconds:
        return f"{'-':>8} {'-':>8} {'-':>8} {'-':>8}"
    ms = [s * 1000 for s in seconds]
    return " ".join(f"{quantile(ms, q):>8.0f}" for q in (0.5, 0.95, 0.99, 1.0))


SPREAD_HEADER = f"{'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}"


Children = Mapping[int, list[int]]


def children_of_all() -> Children:
    """Every live process's children, from one pass over ``/proc`` (the parent named in
    each process's ``stat``): a read per process, where asking each tree member for its
    children read a file per thread (Kafka's JVM has about a hundred)."""
    found: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(entry.path, "stat").read_text()
                found[int(stat.rpartition(")")[2].split()[1])].append(int(entry.name))
    return found


def process_tree(
    pid: int, exclude: Collection[int] = (), children: Children | None = None
) -> list[int]:
    """``pid`` and its live descendants, without the subtrees of ``exclude`` (processes
    measured on their own row); empty when ``pid`` is gone. ``children``: as
    :func:`children_of_all` read them (read now if not given)."""
    if not Path(f"/proc/{pid}").exists():
        return []
    family = children_of_all() if children is None else children
    tree, pending = [pid], list(family.get(pid, ()))
    while pending:
        child = pending.pop()
        if child not in exclude:
            tree.append(child)
            pending += family.get(child, ())
    return tree


def _cpu_s(pid: int) -> float | None:
    """User + system time of ``pid`` and of the children it has reaped (PostgreSQL's
    postmaster reaps every backend that ended, so their time stays counted)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return sum(int(f) for f in fields[11:15]) / _CLOCK_TICKS  # utime stime cutime cstime


def tree_cpu_s(
    pid: int, exclude: Collection[int] = (), children: Children | None = None
) -> float | None:
    """CPU seconds of ``pid``'s whole tree so far: a backend that starts or ends between
    two readings is counted in the difference either way (live, or in its parent's
    reaped-children time)."""
    tree = process_tree(pid, exclude, children)
    if not tree:
        return None
    return sum(cpu for member in tree if (cpu := _cpu_s(member)) is not None)


def _memory_kb(pid: int) -> dict[str, int]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    wanted = ("RssAnon:", "RssFile:", "RssShmem:")
    return {
        line.split()[0]: int(line.split()[1])
        for line in status.splitlines()
        if line.startswith(wanted)
    }


def tree_rss_mb(
    pid: int, exclude: Collection[int] = (), children: Children | None = None
) -> float | None:
    """Resident memory of ``pid``'s tree: each member's private pages, plus its file-backed
    and shared-memory pages once (the largest member's: PostgreSQL's backends map the same
    binary and the same shared buffers). For a single process this is its ``VmRSS``."""
    members = [m for m in (_memory_kb(p) for p in process_tree(pid, exclude, children)) if m]
    if not members:
        return None
    private = sum(m.get("RssAnon:", 0) for m in members)
    shared = max(m.get("RssFile:", 0) for m in members) + max(
        m.get("RssShmem:", 0) for m in members
    )
    return (private + shared) / 1024


@dataclass
class Usage:
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0


@dataclass
class ProcessSampler:
    """CPU seconds and peak RSS of named process trees while the ``async with`` block runs."""

    pids: Mapping[str, int]
    # A sample reads every tree member's memory (PostgreSQL's tree: a backend per pooled
    # connection) from /proc, on the cores the measured processes use: once a second
    # still catches a level's peak.
    interval_s: float = 1.0
    usage: dict[str, Usage] = field(default_factory=dict)
    _cpu_at_start: dict[str, float] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def _others(self, pid: int) -> set[int]:
        return set(self.pids.values()) - {pid}

    def _sample_rss(self) -> None:
        children = children_of_all()
        for name, pid in self.pids.items():
            rss = tree_rss_mb(pid, self._others(pid), children)
            if rss is not None:
                entry = self.usage.setdefault(name, Usage())
                entry.peak_rss_mb = max(entry.peak_rss_mb, rss)

    async def _sample(self) -> None:
        while True:
            self._sample_rss()
            await asyncio.sleep(self.interval_s)

    async def __aenter__(self) -> ProcessSampler:
        self.usage = {name: Usage() for name in self.pids}
        children = children_of_all()
        self._cpu_at_start = {
            name: cpu
            for name, pid in self.pids.items()
            if (cpu := tree_cpu_s(pid, self._others(pid), children)) is not None
        }
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._sample_rss()
        children = children_of_all()
        for name, pid in self.pids.items():
            cpu = tree_cpu_s(pid, self._others(pid), children)
            if cpu is not None and name in self._cpu_at_start:
                self.usage[name].cpu_s = cpu - self._cpu_at_start[name]

    def total_cpu_s(self, names: Iterable[str] | None = None) -> float:
        chosen = self.usage if names is None else {n: self.usage[n] for n in names}
        return sum(u.cpu_s for u in chosen.values())


def stack_pids(state_dir: Path) -> dict[str, int]:
    """Every process of the running local stack: the supervisor's children (from its
    ``services.json``), the node agents and Xrays, Kafka and FerretDB (pid files)."""
    run = state_dir / "run"
    found: dict[str, int] = {}
    for _ in range(50):  # the supervisor rewrites the file in place every 0.2 s
        with contextlib.suppress(OSError, ValueError):
            children = json.loads((run / "services.json").read_text())
            found = {name: int(c["pid"]) for name, c in children.items() if c.get("pid")}
            break
        time.sleep(0.01)
    for pid_file in sorted(run.glob("*.pid")):
        if pid_file.stem != "supervisor":
            with contextlib.suppress(OSError, ValueError):
                found[pid_file.stem] = int(pid_file.read_text().strip())
    return found


def print_usage(title: str, levels: Mapping[int, ProcessSampler]) -> None:
    """One row per process, one ``CPU s / peak RSS MB`` column pair per level."""
    names = sorted({name for sampler in levels.values() for name in sampler.usage})
    print(title)
    print(f"{'process':<30}" + "".join(f"{f'{n} users: CPU s / RSS MB':>28}" for n in levels))
    for name in names:
        cells = []
        for sampler in levels.values():
            usage = sampler.usage.get(name, Usage())
            cells.append(f"{usage.cpu_s:>18.1f} / {usage.peak_rss_mb:>6.0f}")
        print(f"{name:<30}" + "".join(f"{c:>28}" for c in cells))
    totals = "".join(f"{f'{s.total_cpu_s():.1f}':>19}{'':9}" for s in levels.values())
    print(f"{'total CPU s':<30}{totals}")


@dataclass
class Agent:
    """A node agent's HTTP API, as the provisioner reaches it."""

    name: str
    url: str
    token: str


class Activations:
    """``KeyActivated`` facts as they reach the ``keys`` topic, read from its end at the
    start: per key id and node address, when the provisioner announced the key working
    there. It announces one as soon as the node's agent answered that Xray has it (see
    ``services.provisioner.handlers.converge``), so this is the moment the key became
    usable, late by one publish at most: exact where a poll of the agents is late by up
    to its interval and its own duration."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka
        self.at: dict[tuple[str, str], float] = {}  # (key id, node) → time.perf_counter()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        # Record timestamps are the producer's wall clock: this turns them into
        # time.perf_counter(), the benchmarks' clock.
        self._perf_minus_wall = time.perf_counter() - time.time()

    async def __aenter__(self) -> Activations:
        topic = TopicNames(self._kafka.topic_prefix)("keys")
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap, enable_auto_commit=False
        )
        await consumer.start()
        self._consumer = consumer
        await assign_whole_topic(consumer, topic, time.monotonic() + 5)
        assigned = sorted(consumer.assignment())
        if not assigned:
            await consumer.stop()
            raise RuntimeError(f"topic {topic} not found: is the stack up?")
        await consumer.seek_to_end(*assigned)
        for partition in assigned:  # fix the start now, before anything is activated
            await consumer.position(partition)
        self._task = asyncio.create_task(self._read(consumer))
        return self

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    payload = decode(record.value).payload
                    if isinstance(payload, KeyActivated):
                        moment = record.timestamp / 1000 + self._perf_minus_wall
                        self.at.setdefault((str(payload.key_id), payload.node), moment)

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


class NodeWatcher:
    """Polls every node agent's list of enabled keys and notes when each awaited key first
    appears there (the agent records a key just before it gives it to Xray, within one
    gRPC call). With ``activations``, a key's moment on a node is its ``KeyActivated``
    there instead (exact; the polls still tell what is enabled or removed)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        agents: list[Agent],
        interval_s: float = 0.1,
        activations: Activations | None = None,
    ):
        self.client = client
        self.agents = agents
        self.interval_s = interval_s
        self.activations = activations
        self.wanted: set[str] = set()
        self.enabled_at: dict[str, dict[str, float]] = {a.name: {} for a in agents}
        self.latest: dict[str, set[str]] = {a.name: set() for a in agents}
        self.polls = 0
        self._polled = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _poll_once(self) -> None:
        async def listed(agent: Agent) -> set[str]:
            answer = await self.client.get(
                f"{agent.url}/v1/users", headers={"Authorization": f"Bearer {agent.token}"}
            )
            answer.raise_for_status()
            return set(answer.json()["key_ids"])

        lists = await asyncio.gather(*(listed(a) for a in self.agents))
        now = time.perf_counter()
        for agent, keys in zip(self.agents, lists, strict=True):
            self.latest[agent.name] = keys
            enabled = self.enabled_at[agent.name]
            for key in self.wanted & keys:
                enabled.setdefault(key, now)
        self.polls += 1
        self._polled.set()
        self._polled = asyncio.Event()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                await self._poll_once()
            await asyncio.sleep(self.interval_s)

    async def __aenter__(self) -> NodeWatcher:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def expect(self, keys: Iterable[str]) -> None:
        self.wanted.update(keys)

    def usable_at(self, key: str) -> float | None:
        """When ``key`` was enabled on every node (the last of them), or None."""
        times = [self.enabled_at[a.name].get(key) for a in self.agents]
        if None in times:
            return None
        if self.activations is not None:
            nodes = [a.url.removeprefix("http://").removeprefix("https://") for a in self.agents]
            times = [self.activations.at.get((key, node)) for node in nodes]
            if None in times:
                return None
        return max(t for t in times if t is not None)

    def removed_everywhere(self, key: str) -> bool:
        return all(key not in keys for keys in self.latest.values())

    async def wait(self, keys: Iterable[str], *, enabled: bool, timeout_s: float) -> int:
        """Wait until every key is enabled (or removed) on every node; how many are not."""
        keys = list(keys)
        deadline = time.monotonic() + timeout_s
        first_poll = self.polls + 1

        def missing() -> int:
            if self.polls <= first_poll:
                return len(keys)
            if enabled:
                return sum(self.usable_at(k) is None for k in keys)
            return sum(not self.removed_everywhere(k) for k in keys)

        while missing() and (remaining := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._polled.wait(), remaining)
        return missing()
