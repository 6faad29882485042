"""Every benchmark in one run against the local stack (``make up``), then the issue's
targets side by side with PASS or MISS (``make bench``).

In order: ``bench.payments``, ``bench.notifier``, ``bench.users`` (Keyland and the
baseline), ``bench.journey_latency``, ``bench.flat_cost``, ``bench.capacity`` (its
report rewritten in ``bench/reports/``), ``bench.rebalance`` and ``bench.scale`` (worker
instances in one group: the takeover after a SIGKILL, the scale curve) and, unless
``--fault-payments 0``, the fault drill (``bench.faults``: its own cluster of three brokers,
nodes and two instances of each worker beside the stack, ``--fault-brokers`` and
``--fault-instances`` to change them; 10,000 payments by default, judged against 15 minutes; 2,000
against CI's 3 minutes).

Run: ``.venv/bin/python -m bench [--levels 1 10 100 1000] [--fault-payments N]
[--fault-brokers 3] [--fault-instances 2]``.
"""

from __future__ import annotations

import argparse
import asyncio

from bench import (
    capacity,
    faults,
    flat_cost,
    journey_latency,
    notifier,
    payments,
    rebalance,
    scale,
    targets,
    users,
)
from keyland.settings import KafkaSettings, load
from tests.faults import FaultPlan


def main(
    levels: tuple[int, ...], fault_payments: int, fault_brokers: int, fault_instances: int
) -> None:
    load(KafkaSettings)  # a clear error before anything starts when misconfigured
    rows: list[targets.Target] = []
    asyncio.run(payments.main())
    rows += targets.notifier(*asyncio.run(notifier.main(1500)))
    rows += targets.user_creation(*asyncio.run(users.main(levels, {"keyland", "baseline"})))
    yookassa, stars = asyncio.run(journey_latency.main(100))
    rows += targets.payment_to_key(yookassa)
    rows += targets.stars_to_key(stars, yookassa)
    rows += targets.flat_cost(asyncio.run(flat_cost.main(list(flat_cost.SIZES), flat_cost.EVENTS)))
    rows += targets.capacity(capacity.main(*capacity.DEFAULTS))
    rows += targets.rebalance(asyncio.run(rebalance.main()))
    rows += targets.scale_curve(asyncio.run(scale.main()))
    if fault_payments:
        plan = FaultPlan(
            payments=fault_payments,
            rate=faults.RATE,
            kills_per_worker=faults.KILLS,
            brokers=fault_brokers,
            instances=fault_instances,
        )
        rows += targets.fault_drill(faults.drill(plan))
    targets.print_targets(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", nargs="+", type=int, default=list(users.LEVELS))
    parser.add_argument("--fault-payments", type=int, default=10_000)
    parser.add_argument("--fault-brokers", type=int, default=3)
    parser.add_argument("--fault-instances", type=int, default=2)
    arguments = parser.parse_args()
    main(
        tuple(arguments.levels),
        arguments.fault_payments,
        arguments.fault_brokers,
        arguments.fault_instances,
    )
