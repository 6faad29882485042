"""Payments under faults: 2,000 payments, each webhook delivered 1-3 times, the
subscription and provisioner workers SIGKILLed at random moments, the broker restarted
once; every payment is credited exactly once and every payer's key is on both nodes.

The run itself is :mod:`tests.faults` (also ``python -m bench.faults`` at 10,000).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.endpoints import Endpoints
from tests.faults import FaultPlan, run

PLAN = FaultPlan(payments=2000, kills_per_worker=3, converge_timeout_s=600)


@pytest.mark.timeout(1500)
def test_every_payment_credited_once_and_every_payer_connected_despite_faults(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    summary = run(PLAN, tmp_path, endpoints.mongo_url, endpoints.postgres_url)
    print(summary.report())  # the figures, with -s or in the report of a failure
    assert summary.problems == [], summary.report()
    assert summary.kills == {worker: PLAN.kills_per_worker for worker in summary.kills}
    assert sorted(summary.kills) == ["provisioner", "subscription"]
    assert summary.broker_restarts == 1
    # The broker restart did hit the ingest: webhooks refused, redelivered, credited.
    assert summary.answers["503"] > 0, summary.report()
    assert summary.deliveries >= PLAN.payments
