"""Fault benchmark: payments through every real part while the processors are SIGKILLed
and the broker restarts once (see :mod:`tests.faults`); prints the run's figures.

Needs the shared database (``make infra``); starts its own broker, nodes, emulator and
services, and stops them at the end. Exits 1 when the property did not hold.

Run: ``.venv/bin/python -m bench.faults --payments 10000``; on a cluster of three brokers
with two instances of each worker: ``... --brokers 3 --instances 2``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import typer

from tests.endpoints import real_endpoints
from tests.faults import FaultPlan, Summary, run

RATE, KILLS = 60.0, 5


def drill(plan: FaultPlan, *, keep: bool = False) -> Summary:
    """Run ``plan`` in a fresh folder and print its figures; the folder (logs, broker
    data) is removed unless ``keep`` or the property did not hold."""
    work = Path(tempfile.mkdtemp(prefix="keyland-faults-"))
    typer.echo(f"fault run: {plan} in {work}")
    with real_endpoints() as endpoints:
        summary = run(plan, work, endpoints.mongo_url, endpoints.postgres_url)
    typer.echo(summary.report())
    if summary.problems or keep:
        typer.echo(f"logs kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def main(
    *,
    payments: int = typer.Option(10_000, min=1, help="How many payments."),
    seed: int = typer.Option(6, help="Seed of every random choice of the run."),
    rate: float = typer.Option(RATE, min=1, help="Payments paid per second."),
    kills: int = typer.Option(KILLS, min=0, help="SIGKILLs of each worker."),
    keep: bool = typer.Option(False, help="Keep the run's folder (logs, broker data)."),
    brokers: int = typer.Option(1, min=1, max=3, help="Brokers (one SIGKILLed mid-run)."),
    instances: int = typer.Option(1, min=1, max=3, help="Instances of each worker."),
) -> None:
    plan = FaultPlan(
        payments=payments,
        seed=seed,
        rate=rate,
        kills_per_worker=kills,
        brokers=brokers,
        instances=instances,
    )
    summary = drill(plan, keep=keep)
    raise typer.Exit(1 if summary.problems else 0)


if __name__ == "__main__":
    typer.run(main)
