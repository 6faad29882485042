"""``keyland capacity``: every node's current load beside the capacity the last load run
measured (``bench/reports/capacity.json``, from ``python -m bench.capacity``) and the cost
per active user at the configured monthly price of a node."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import httpx
import typer
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from keyland.countries import CountriesError, CountriesFile
from keyland.settings import load
from keyland_tools.capacity_report import Report, summary_lines
from services.provisioner.config import NodeAccessSettings


class CapacitySettings(BaseSettings):
    """What ``keyland capacity`` reads: the load run's report and a node's price."""

    model_config = SettingsConfigDict(
        env_prefix="KEYLAND_CAPACITY_", env_file=".env", extra="ignore"
    )

    node_monthly_price: Decimal = Field(
        default=Decimal("5.00"), ge=0, description="What one node costs a month."
    )
    report: Path = Field(
        default=Path("bench/reports/capacity.json"), description="The load run's report."
    )


async def current_loads(addresses: list[str], access: NodeAccessSettings) -> dict[str, str]:
    """Each node agent's ``GET /v1/load`` in a line, or why there is none."""

    async def one(client: httpx.AsyncClient, address: str) -> str:
        token = access.token_for(address)
        if token is None:
            return "no token configured (KEYLAND_PROVISIONER_NODE_TOKEN)"
        try:
            answer = await client.get(
                f"{access.node_scheme}://{address}/v1/load",
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            )
        except httpx.HTTPError as error:
            return f"unreachable ({error.__class__.__name__})"
        if answer.status_code != httpx.codes.OK:
            return f"no load ({answer.status_code})"
        f = answer.json()
        return (
            f"{f['online_users']} online users, {f['connections']} connections, "
            f"CPU {f['cpu_cores']:.2f} of {f['host_cpu_cores']} cores, "
            f"memory {f['memory_bytes'] / 2**20:.0f} MiB, {f['throughput_bps'] * 8 / 1e6:.2f} Mbit/s"
        )

    async with httpx.AsyncClient(timeout=access.node_timeout_s) as client:
        lines = await asyncio.gather(*(one(client, address) for address in addresses))
    return dict(zip(addresses, lines, strict=True))


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
    loads = asyncio.run(current_loads(list(addresses), load(NodeAccessSettings)))
    typer.echo("Current load:")
    for address, country in addresses.items():
        typer.echo(f"  {country} {address}: {loads[address]}")
    if not settings.report.exists():
        typer.echo(f"No load run report at {settings.report}: run `python -m bench.capacity`.")
        return
    report = Report.from_json(json.loads(settings.report.read_text()), monthly_price=price)
    typer.echo(f"Load run of {report.measured_at} ({report.machine}; `{report.command}`):")
    for line in summary_lines(report):
        typer.echo(f"  {line}")
