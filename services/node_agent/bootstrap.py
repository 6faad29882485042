"""The one place the node agent's clients are built, when the server starts."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from starlette.applications import Starlette

from services.node_agent.adapters.connections import ConnectionCutter
from services.node_agent.adapters.host_load import XrayProcess
from services.node_agent.adapters.user_store import UserStore
from services.node_agent.adapters.xray_api import XrayApi
from services.node_agent.config import NodeAgentSettings
from services.node_agent.domain.links import LinkTemplate, RealityParams
from services.node_agent.entrypoints.http import create_app
from services.node_agent.entrypoints.load_sampler import LoadSampler
from services.node_agent.entrypoints.watcher import XrayWatcher
from services.node_agent.handlers import NodeUsers


@dataclass
class RunningAgent:
    """The built clients and the background tasks, closed together."""

    users: NodeUsers
    load: LoadSampler
    xray: XrayApi
    store: UserStore
    tasks: tuple[asyncio.Task[None], ...]

    async def aclose(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.xray.close()
        self.store.close()


def link_template(settings: NodeAgentSettings) -> LinkTemplate:
    reality = None
    if settings.security == "reality":
        reality = RealityParams(
            public_key=settings.reality_public_key,
            short_id=settings.reality_short_id,
            server_name=settings.reality_server_name,
            fingerprint=settings.reality_fingerprint,
        )
    return LinkTemplate(
        country=settings.country,
        host=settings.public_host,
        port=settings.public_port,
        flow=settings.flow,
        reality=reality,
    )


async def start_agent(settings: NodeAgentSettings) -> RunningAgent:
    """Open the record, connect to Xray, start the watcher and the load sampler (inside
    the event loop)."""
    store = UserStore.from_path(settings.state_file)
    xray = XrayApi.from_address(
        settings.xray_api,
        inbound_tag=settings.xray_inbound_tag,
        flow=settings.flow,
        timeout_s=settings.xray_timeout_s,
    )
    connections = None
    if settings.xray_access_log is not None:
        connections = ConnectionCutter.from_path(
            settings.xray_access_log, settings.xray_inbound_port or settings.public_port
        )
    users = NodeUsers(xray, store, link_template(settings), connections)
    watcher = XrayWatcher(users, settings.watch_interval_s)
    api_port = int(settings.xray_api.rsplit(":", 1)[1])
    load = LoadSampler(XrayProcess(xray, api_port), settings.load_interval_s)
    tasks = (
        asyncio.create_task(watcher.run(), name="xray-watcher"),
        asyncio.create_task(load.run(), name="load-sampler"),
    )
    return RunningAgent(users=users, load=load, xray=xray, store=store, tasks=tasks)


def build_app(settings: NodeAgentSettings) -> Starlette:
    """The ASGI app for ``settings``; nothing is connected until it starts."""
    return create_app(settings.token, lambda: start_agent(settings))
