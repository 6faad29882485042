"""``GET /v1/nodes/capacity``: the admins' capacity view (the bot draws it as a chart).

Per node of the countries file: its current load (each agent asked at once, ``GET
/v1/load``), whether it is announced down, and from the last load run
(``KEYLAND_CAPACITY_REPORT``) which resource saturates first, at how many active users,
and the cost per active user at ``KEYLAND_CAPACITY_NODE_MONTHLY_PRICE``. An admin's
occasional question: it asks every agent and reads the node records of those nodes only
(one find by ``_id`` each), never the users.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from keyland.countries import CountriesError
from keyland.load_run import Report, UnreadableReport, read_report
from services.provisioner.bootstrap import ApiContainer
from services.provisioner.config import CapacitySettings
from services.provisioner.domain.capacity import node_capacities


def _run(report: Report | None, error: str | None) -> dict[str, Any]:
    if report is None:
        return {"measured": False, "error": error}
    return {
        "measured": True,
        "measured_at": report.measured_at,
        "machine": report.machine,
        "command": report.command,
        "monthly_price": str(report.monthly_price),
    }


def _load_run(settings: CapacitySettings) -> tuple[Report | None, str | None]:
    """The last load run's report, or why there is none."""
    try:
        report = read_report(settings.report, settings.node_monthly_price)
    except (OSError, UnreadableReport) as error:
        return None, str(error)
    if report is None:
        return None, f"no load run report at {settings.report} (python -m bench.capacity)"
    return report, None


def capacity_route(container: ApiContainer) -> Route:
    settings = container.capacity

    async def node_capacity(_: Request) -> Response:
        if container.countries_file is None:
            return JSONResponse(
                {"error": "no nodes: KEYLAND_PROVISIONER_COUNTRIES_FILE is not set"}, 503
            )
        try:
            countries = container.countries_file.read()
        except (OSError, CountriesError) as error:
            return JSONResponse({"error": f"the countries file cannot be read: {error}"}, 503)
        report, problem = _load_run(container.capacity)
        loads = await container.clients.loads(countries)
        down = await container.records.down(countries)
        views = node_capacities(countries, loads, down, report, settings.node_monthly_price)
        return JSONResponse(
            {"load_run": _run(report, problem), "nodes": [view.as_json() for view in views]}
        )

    return Route("/nodes/capacity", node_capacity)
