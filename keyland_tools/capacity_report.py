"""The capacity report of a load run (``bench.capacity``) as the README shows it: its
Markdown, its chart, and the lines ``keyland capacity`` prints beside each node's current
load. The report itself (its JSON) is :mod:`keyland.load_run`."""

from __future__ import annotations

from keyland.capacity import Fit, Resource
from keyland.load_run import Report
from services.bot.domain.images import bar_chart_png

_UNITS = {Resource.CPU: "cores", Resource.MEMORY: "bytes", Resource.NETWORK: "bytes/s"}


def _held(fit: Fit) -> str:
    return "never" if fit.users_at_limit is None else f"{fit.users_at_limit:,}"


def summary_lines(report: Report) -> list[str]:
    """One line per node: where it saturates and what an active user costs."""
    lines = []
    for node in report.nodes:
        first = node.capacity.first
        cost = report.cost_per_user(node)
        lines.append(
            f"{node.name}: {first.resource} saturates first at {_held(first)} active users; "
            f"{report.monthly_price} a month per node = "
            f"{'n/a' if cost is None else cost} per active user"
        )
    return lines


def render_markdown(report: Report, chart: str) -> str:
    """The committed report: conditions, measured levels, fits and the saturation point."""
    limits = report.limits
    out = [
        "# Node capacity",
        "",
        f"Measured {report.measured_at} on {report.machine} with `{report.command}` "
        f"(the stack up: `make up`). Every active user is a real VLESS client (its own Xray "
        f"process) pulling a page at {report.user_mbps:g} Mbit/s through the node on "
        f"loopback; each level is measured over {report.window_s:g} s. Fetches that failed "
        f"and were retried: {report.failed_fetches}.",
        "",
        f"Limits of a node: {limits.cpu_cores:g} cores and "
        f"{limits.memory_bytes / 2**30:.1f} GiB (this machine's), a link of "
        f"{limits.network_bps * 8 / 1e6:g} Mbit/s (assumed: loopback has no limit of its own). "
        f"Each resource's use is fitted with a straight line over the levels measured "
        f"(up to {max(level.active_users for node in report.nodes for level in node.levels)} "
        f"active users per node) and extended to the limit: the users held are that line's "
        f"reach, not a load measured at saturation.",
        "",
        *[f"- **{line}**" for line in summary_lines(report)],
        "",
        f"![capacity]({chart})",
        "",
    ]
    for node in report.nodes:
        out += [
            f"## {node.name}",
            "",
            "| active users | Xray CPU (cores) | Xray memory (MiB) | throughput (Mbit/s) "
            "| per user (Mbit/s) |",
            "| ---: | ---: | ---: | ---: | ---: |",
        ]
        out += [
            f"| {level.active_users} | {level.cpu_cores:.3f} | "
            f"{level.memory_bytes / 2**20:.1f} | {level.throughput_bps * 8 / 1e6:.2f} | "
            f"{level.throughput_bps * 8 / 1e6 / max(level.active_users, 1):.2f} |"
            for level in node.levels
        ]
        out += [
            "",
            "| resource | use at 0 users | per active user | active users at the limit |",
            "| --- | ---: | ---: | ---: |",
        ]
        out += [
            f"| {fit.resource} | {fit.base:.4g} {_UNITS[fit.resource]} | "
            f"{fit.per_user:.4g} {_UNITS[fit.resource]} | {_held(fit)} |"
            for fit in node.capacity.fits
        ]
        out.append("")
    return "\n".join(out)


CHART_REACH = 10  # resources holding more than this many times the first's are left out


def chart_png(report: Report) -> bytes:
    """Per node, the active users each resource allows, for the resources within
    :data:`CHART_REACH` times the first to saturate (one far beyond would flatten the
    others; the Markdown table has them all). Drawn by the bot's bar chart, so the labels
    are Latin: node names and resources."""
    bars: list[tuple[str, float]] = []
    for node in report.nodes:
        first = node.capacity.active_users
        for fit in node.capacity.fits:
            held = fit.users_at_limit
            if first is not None and held is not None and held <= first * CHART_REACH:
                bars.append((f"{node.name} {fit.resource}", held))
    return bar_chart_png("Active users a node holds, by the resource that limits it", bars)
