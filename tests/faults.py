"""A fault run: many payments through every real part while the processors are SIGKILLed
and the broker restarts; then the property is checked and the figures summed up.

The property: each payment credited exactly once, every paying user's key enabled on
both nodes, nothing dead-lettered, every acknowledged webhook credited (see
:mod:`tests.fault_checks`).

The run, all of it drawn from one seeded RNG:
1. N payments for distinct users, some users paying twice, created through the ingest;
   every payer sends /start first (only that registers them, so their money is credited,
   not held as credit for an id that never started);
2. paid at a steady rate; YooKassa (the emulator) delivers each webhook 1-3 times: some
   copies at once, others redelivered seconds later; anything but 200 is retried;
3. meanwhile instances of the subscription worker and the provisioner worker (one each,
   or ``instances`` each in one consumer group per worker) are SIGKILLed at random
   moments (restarted after a random pause), and the broker is stopped and started once
   (on a cluster of ``brokers``, one broker is SIGKILLed and started again);
   anything else that exits is restarted too, like the stack's supervisor does, and
   counted;
4. once every webhook was acknowledged, the property is polled until it holds (the time
   to converge), then checked again after a quiet pause.

Used by ``tests/e2e/test_faults.py`` and ``python -m bench.faults``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from keyland.settings import KafkaSettings
from tests.fault_checks import (
    Order,
    acknowledged_problems,
    credit_problems,
    dead_letters,
    extension_problems,
    key_problems,
)
from tests.fault_rig import INGEST_TOKEN, WORKERS, Rig, instance_names
from tests.starts import started as users_started

PLANS = ("month_1", "month_3", "month_6", "month_12")
FIRST_USER = 5_000_000


@dataclass(frozen=True)
class FaultPlan:
    """What one run does; the same plan and seed give the same run."""

    payments: int
    seed: int = 6
    repeat_share: float = 0.1  # share of payments made by a user who pays again
    kills_per_worker: int = 3
    rate: float = 40.0  # payments paid per second, at most
    in_flight: int = 32  # payments and redeliveries whose webhooks are not answered yet
    converge_timeout_s: float = 600.0
    quiet_s: float = 5.0
    brokers: int = 1
    instances: int = 1  # of each worker, in one consumer group


@dataclass(frozen=True)
class Fault:
    at_s: float  # from the first payment
    target: str  # a worker or "broker"
    downtime_s: float


def schedule(plan: FaultPlan, rng: random.Random) -> list[Fault]:
    """Kills of each worker (of an instance drawn at random) and one broker restart, at
    random moments while paying."""
    window = plan.payments / plan.rate
    faults = [Fault(rng.uniform(0.3, 0.6) * window, "broker", rng.uniform(1, 3))]
    for worker in WORKERS:
        names = instance_names(worker, plan.instances)
        faults += [
            Fault(rng.uniform(0.05, 0.95) * window, rng.choice(names), rng.uniform(0.2, 3))
            for _ in range(plan.kills_per_worker)
        ]
    return sorted(faults, key=lambda f: f.at_s)


@dataclass
class Summary:
    payments: int = 0
    users: int = 0
    deliveries: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    kills: Counter[str] = field(default_factory=Counter)
    broker_restarts: int = 0
    brokers_killed: list[str] = field(default_factory=list)
    unplanned_exits: Counter[str] = field(default_factory=Counter)
    driver_redeliveries: int = 0
    paying_s: float = 0.0
    converge_s: float = 0.0
    total_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def payments_per_s(self) -> float:
        return self.payments / (self.paying_s + self.converge_s or 1)

    def report(self) -> str:
        answers = ", ".join(f"{status}: {n}" for status, n in sorted(self.answers.items()))
        return "\n".join(
            [
                f"payments {self.payments} by {self.users} users; "
                f"{self.deliveries} webhook deliveries; answers {answers}",
                f"kills {dict(self.kills)}, broker restarts {self.broker_restarts} "
                f"{self.brokers_killed}, "
                f"unplanned exits {dict(self.unplanned_exits)}, "
                f"redelivered by the driver {self.driver_redeliveries}",
                f"paying {self.paying_s:.1f} s, converged {self.converge_s:.1f} s after, "
                f"{self.payments_per_s:.1f} payments/s end to end, run {self.total_s:.1f} s",
                f"problems: {len(self.problems)}",
                *(f"  {p}" for p in self.problems[:30]),
            ]
        )


def run(plan: FaultPlan, work: Path, mongo_url: str, postgres_url: str) -> Summary:
    """Start everything under ``work``, run ``plan``, stop everything; the summary."""
    started = time.monotonic()
    with Rig(work, mongo_url, postgres_url, brokers=plan.brokers, instances=plan.instances) as rig:
        summary = asyncio.run(FaultRun(plan, rig).run())
    summary.total_s = time.monotonic() - started
    return summary


class FaultRun:
    def __init__(self, plan: FaultPlan, rig: Rig) -> None:
        self.plan = plan
        self.rig = rig
        self.rng = random.Random(plan.seed)
        self.summary = Summary(payments=plan.payments)
        self.captured: dict[str, datetime] = {}
        self.orders: list[Order] = []
        self.deliveries: list[dict[str, Any]] = []
        self._killing: set[str] = set()
        self.db = rig.db()
        self.in_flight = asyncio.Semaphore(plan.in_flight)
        # Calls that wait for webhooks last as long as YooKassa's retries (minutes). Idle
        # connections are dropped after 1 s: the emulator's uvicorn closes them after 5 s,
        # httpx's default expiry is the same 5 s, and a request sent on a connection the
        # server is closing at that moment fails with ReadError (seen under load).
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(600, connect=10),
            limits=httpx.Limits(max_connections=plan.in_flight + 8, keepalive_expiry=1.0),
        )

    async def run(self) -> Summary:
        watch = asyncio.create_task(self.supervise())
        try:
            self.orders = await self.create_orders()
            payers = sorted({o.telegram_id for o in self.orders})
            self.summary.users = len(payers)
            kafka = KafkaSettings(bootstrap=self.rig.bootstrap, topic_prefix=self.rig.topics.prefix)
            # A registration costs about as much as a payment: allow as long as converging.
            await users_started(kafka, self.db, payers, self.plan.converge_timeout_s)
            faults = schedule(self.plan, self.rng)
            started = time.monotonic()
            await asyncio.gather(self.pay_all(), self.inflict(faults, started))
            await self.settle_deliveries()
            self.summary.paying_s = time.monotonic() - started
            if not self.summary.problems:
                await self.converge()
        finally:
            watch.cancel()
            await self.http.aclose()
            self.db.client.close()
        return self.summary

    async def create_orders(self) -> list[Order]:
        users = self.plan.payments - int(self.plan.payments * self.plan.repeat_share)
        owners = list(range(FIRST_USER, FIRST_USER + users))
        owners += [self.rng.choice(owners) for _ in range(self.plan.payments - users)]
        self.rng.shuffle(owners)
        plans = [self.rng.choice(PLANS) for _ in owners]
        gate = asyncio.Semaphore(16)

        async def create(number: int, telegram_id: int, plan: str) -> Order:
            order = {"telegram_id": telegram_id, "plan": plan, "order_id": f"order-{number}"}
            async with gate:
                answer = await self.http.post(
                    f"{self.rig.ingest_url}/payments",
                    json=order,
                    headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
                )
            answer.raise_for_status()
            return Order(telegram_id, plan, str(answer.json()["payment_id"]))

        made = [create(n, tg, plan) for n, (tg, plan) in enumerate(zip(owners, plans, strict=True))]
        return list(await asyncio.gather(*made))

    async def pay_all(self) -> None:
        """Pay every order at the plan's rate; each webhook is delivered 1-3 times."""
        draws = []
        for order in self.orders:
            deliveries = self.rng.randint(1, 3)
            at_once = self.rng.randint(1, deliveries)
            later = [self.rng.uniform(0.5, 10) for _ in range(deliveries - at_once)]
            draws.append((order, at_once, later))
        started, paying = time.monotonic(), []
        for number, (order, at_once, later) in enumerate(draws):
            await asyncio.sleep(max(0.0, started + number / self.plan.rate - time.monotonic()))
            paying.append(asyncio.create_task(self.pay(order, at_once, later)))
        await asyncio.gather(*paying)

    async def pay(self, order: Order, copies: int, later: list[float]) -> None:
        """The payer pays; the webhook goes out ``copies`` times at once, then once more
        after each pause in ``later``. Each call returns once its webhooks were
        acknowledged (after any retries), so at most ``in_flight`` calls are out at a
        time: the emulator slows down badly with thousands of queued deliveries."""
        emulator, waiting = self.rig.emulator_url, {"wait": "true"}
        async with self.in_flight:
            answer = await self.http.post(
                f"{emulator}/emulator/payments/{order.payment_id}/pay",
                params={"copies": copies, **waiting},
            )
        answer.raise_for_status()
        paid = answer.json()
        self.captured[order.payment_id] = datetime.fromisoformat(paid["object"]["captured_at"])
        first = paid["deliveries"][0]["id"]
        for pause in later:  # the same notification again, as YooKassa does now and then
            await asyncio.sleep(pause)
            async with self.in_flight:
                again = await self.http.post(
                    f"{emulator}/emulator/deliveries/{first}/redeliver", params=waiting
                )
            again.raise_for_status()

    async def inflict(self, faults: list[Fault], started: float) -> None:
        """Each target's faults in order, the targets independently of each other."""
        targets = {f.target for f in faults}
        await asyncio.gather(
            *(self.strike([f for f in faults if f.target == t], started) for t in targets)
        )

    async def strike(self, faults: list[Fault], started: float) -> None:
        for fault in faults:
            await asyncio.sleep(max(0.0, started + fault.at_s - time.monotonic()))
            if fault.target == "broker":
                which = await asyncio.to_thread(self.rig.restart_broker, fault.downtime_s, self.rng)
                self.summary.brokers_killed.append(which)
                self.summary.broker_restarts += 1
                continue
            program = self.rig.programs[fault.target]
            self._killing.add(fault.target)
            try:
                if program.process is None or program.process.poll() is not None:
                    # It exited by itself, and the supervising loop has not restarted it
                    # yet: counted as such, started, and then killed as planned.
                    if program.process is not None:
                        self.summary.unplanned_exits[fault.target] += 1
                    program.start()
                await asyncio.to_thread(program.kill)
                self.summary.kills[fault.target] += 1
                await asyncio.sleep(fault.downtime_s)
                program.start()
            finally:
                self._killing.discard(fault.target)

    async def supervise(self) -> None:
        """Restart a program that exited by itself (the stack's supervisor would)."""
        while True:
            await asyncio.sleep(0.5)
            for name, program in self.rig.programs.items():
                process = program.process
                if name in self._killing or process is None or process.poll() is None:
                    continue
                self.summary.unplanned_exits[name] += 1
                program.start()

    async def settle_deliveries(self) -> None:
        """Wait until every payment's webhook was acknowledged, redelivering those whose
        attempts ran out (YooKassa goes on for a day); count the answers."""
        deadline = time.monotonic() + self.plan.converge_timeout_s
        while True:
            answer = await self.http.get(
                f"{self.rig.emulator_url}/emulator/deliveries", params={"wait": "true"}
            )
            answer.raise_for_status()
            self.deliveries = answer.json()["items"]
            acknowledged = {d["payment_id"] for d in self.deliveries if d["state"] == "delivered"}
            first = {d["payment_id"]: d["id"] for d in reversed(self.deliveries)}
            unanswered = [o for o in self.orders if o.payment_id not in acknowledged]
            if not unanswered:
                break
            if time.monotonic() > deadline:
                self.summary.problems = [
                    f"payment {o.payment_id}: webhook never acknowledged" for o in unanswered
                ]
                break
            for order in unanswered:
                again = await self.http.post(
                    f"{self.rig.emulator_url}/emulator/deliveries/{first[order.payment_id]}/redeliver"
                )
                again.raise_for_status()
                self.summary.driver_redeliveries += 1
        self.summary.deliveries = len(self.deliveries)
        for delivery in self.deliveries:
            for attempt in delivery["attempts"]:
                status = attempt["status"]
                self.summary.answers["no answer" if status is None else str(status)] += 1

    async def converge(self) -> None:
        """Poll the property until it holds (or cannot any more), then once more after a
        quiet pause: a late duplicate must not change anything."""
        started = time.monotonic()
        deadline = started + self.plan.converge_timeout_s
        while True:
            # Reading every user is a full scan on FerretDB that slows the processor
            # down; wait until the payments collection is complete first.
            recorded = await asyncio.to_thread(self.db.payments.count_documents, {})
            if recorded < len(self.orders) and time.monotonic() < deadline:
                await asyncio.sleep(5)
                continue
            problems, final = await self.problems()
            if not problems:
                break
            if final or time.monotonic() > deadline:
                self.summary.problems = problems
                self.summary.converge_s = time.monotonic() - started
                return
            await asyncio.sleep(5)
        self.summary.converge_s = time.monotonic() - started
        await asyncio.sleep(self.plan.quiet_s)
        self.summary.problems, _ = await self.problems()

    async def problems(self) -> tuple[list[str], bool]:
        """What is wrong now, cheapest checks first; True when it can no longer heal."""
        rig = self.rig
        letters = await dead_letters(rig.bootstrap, rig.topics)
        dead = [f"{topic}: {count} dead letters" for topic, count in letters.items() if count]
        credits = await asyncio.to_thread(credit_problems, self.db, self.orders, self.captured)
        problems = [
            *dead,
            *credits.excess,
            *credits.missing,
            *acknowledged_problems(self.deliveries, credits.credited),
        ]
        if problems:
            return problems, bool(dead or credits.excess)
        problems = await asyncio.to_thread(key_problems, self.db, self.orders, rig.nodes)
        if problems:
            return problems, False
        problems = await extension_problems(rig.bootstrap, rig.topics, self.orders)
        return problems, False
