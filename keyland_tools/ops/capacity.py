"""``keyland capacity``: every node's current load beside the capacity the last load run
measured (``bench/reports/capacity.json``, from ``python -m bench.capacity``) and the cost
per active user at the configured monthly price of a node."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import typer

from keyland.countries import CountriesError, CountriesFile
from keyland.load_run import UnreadableReport, read_report
from keyland.settings import load
from keyland_tools.capacity_report import summary_lines
from services.provisioner.adapters.node_client import NodeClients
from services.provisioner.config import CapacitySettings, NodeAccessSettings
from services.provisioner.domain.capacity import NodeLoad


def _line(load: NodeLoad | str) -> str:
    if isinstance(load, str):
        return f"no load: {load}"
    return (
        f"{load.online_users} online users, {load.connections} connections, "
        f"CPU {load.cpu_cores:.2f} of {load.host_cpu_cores} cores, "
        f"memory {load.memory_bytes / 2**20:.0f} MiB, {load.throughput_bps * 8 / 1e6:.2f} Mbit/s"
    )


async def current_loads(addresses: list[str]) -> dict[str, NodeLoad | str]:
    clients = NodeClients.from_settings(load(NodeAccessSettings))
    try:
        return await clients.loads(addresses)
    finally:
        await clients.close()


def capacity_command(
    countries_file: Path = typer.Option(
        Path("var/countries.json"),
        "--countries-file",
        envvar="KEYLAND_PROVISIONER_COUNTRIES_FILE",
        help="The provisioner's countries file: the nodes asked for their load.",
    ),
    monthly_price: Decimal | None = typer.Option(
        None,
        "--monthly-price",
        help="A node's monthly price (default KEYLAND_CAPACITY_NODE_MONTHLY_PRICE).",
    ),
) -> None:
    """Per node: its current load, which resource saturates first and at how many active
    users (from the last load run), and the cost per active user."""
    settings = load(CapacitySettings)
    price = settings.node_monthly_price if monthly_price is None else monthly_price
    if price < 0:
        typer.echo("--monthly-price cannot be negative", err=True)
        raise typer.Exit(2)
    try:
        countries = CountriesFile(countries_file).read()
    except (OSError, CountriesError) as error:
        typer.echo(f"cannot read the countries file {countries_file}: {error}", err=True)
        raise typer.Exit(2) from error
    addresses = dict(sorted(countries.items(), key=lambda item: (item[1], item[0])))
    loads = asyncio.run(current_loads(list(addresses)))
    typer.echo("Current load:")
    for address, country in addresses.items():
        typer.echo(f"  {country} {address}: {_line(loads[address])}")
    try:
        report = read_report(settings.report, monthly_price=price)
    except (OSError, UnreadableReport) as error:
        typer.echo(f"cannot read the load run report: {error}", err=True)
        raise typer.Exit(2) from error
    if report is None:
        typer.echo(f"No load run report at {settings.report}: run `python -m bench.capacity`.")
        return
    typer.echo(f"Load run of {report.measured_at} ({report.machine}; `{report.command}`):")
    for line in summary_lines(report):
        typer.echo(f"  {line}")
