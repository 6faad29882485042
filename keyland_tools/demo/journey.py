"""The scripted journey, one method per step, read top to bottom in :meth:`Journey.play`.

Everything happens through the stack's front doors: people write and press buttons in
the emulated Telegram, YooKassa's emulator confirms the payment, an operator uses the
bot's admin menu, and a real VLESS client carries a page through a node. What the demo
checks it reads from the stack's own views, the node agents and the ``subscriptions``
topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from events.subscriptions import SubscriptionExpired
from keyland_tools.demo.driver import (
    DemoFailed,
    FactWatch,
    Person,
    StackView,
    has_button,
    moment,
    opening,
    shown,
    until,
)
from keyland_tools.demo.timeline import Timeline
from keyland_tools.stack.vless_client import PAGE, PageServer, VlessClient
from services.bot.locales import TEXTS as BOT
from services.notifier.locales import TEXTS as NOTICES

PLAN = "month_1"
REFERRAL_DAYS = 10


def _date(value: datetime | None) -> str:
    return "never" if value is None else f"{value:%d.%m.%Y %H:%M} UTC"


class Journey:
    def __init__(
        self,
        http: httpx.AsyncClient,
        view: StackView,
        timeline: Timeline,
        home: Path,
        first_id: int,
    ) -> None:
        self.http, self.view, self.timeline, self.home = http, view, timeline, home
        self.referrer = Person(http, view.telegram, first_id, "Rita")
        self.friend = Person(http, view.telegram, first_id + 1, "Ivan")
        self.operator = Person(http, view.telegram, view.admin_id, "Operator")
        self.countries = sorted(view.agents)
        self.resources = contextlib.ExitStack()  # the page server and the VLESS client

    async def play(self) -> None:
        with self.resources:
            await self.referral()
            await self.trial()
            await self.traffic()
            await self.payment()
            await self.region()
            await self.reminder()
            await self.expiry()

    def step(self, what: str, since: float) -> None:
        self.timeline.record(what, since)

    async def account(self) -> dict[str, Any]:
        return await self.view.user(self.http, self.friend.id)

    async def access_until(self) -> datetime | None:
        return moment((await self.account()).get("until"))

    async def referral(self) -> None:
        started = self.timeline.now()
        await self.referrer.send("/start")
        await self.referrer.received(lambda m: has_button(m, "menu:trial"), "the referrer's menu")

        async def registered() -> bool:
            return (await self.view.user(self.http, self.referrer.id)).get("registered") is True

        # A link refers only someone the /start registered already.
        await until(registered, "the referrer's registration")
        self.step(f"referrer {self.referrer.id} starts the bot, is registered", started)

        started = self.timeline.now()
        await self.friend.send(f"/start ref_{self.referrer.id}")
        self.menu = await self.friend.received(
            lambda m: has_button(m, "menu:trial"), "the friend's menu"
        )

        async def recorded() -> bool:
            return (await self.account()).get("referrer_id") == self.referrer.id

        await until(recorded, "the referral recorded")
        self.step(f"friend {self.friend.id} opens the referral link; referrer recorded", started)

    async def trial(self) -> None:
        self.key_id = str((await self.account())["key_id"])  # the user's for life
        pressed = self.timeline.now()
        await self.friend.press(self.menu, "menu:trial")
        await asyncio.gather(self.granted(pressed), self.keys(pressed))

    async def granted(self, pressed: float) -> None:
        async def active() -> datetime | None:
            account = await self.account()
            return moment(account.get("until")) if account.get("trial_used") else None

        self.trial_until = await until(active, "the trial")
        self.step(f"friend takes the trial: access until {_date(self.trial_until)}", pressed)

    async def keys(self, pressed: float) -> None:
        async def everywhere() -> set[str] | None:
            on = await self.view.enabled_on(self.http, self.key_id)
            return on if on == set(self.countries) else None

        await until(everywhere, "the key on every node")
        short = self.key_id[:8]
        self.step(f"key {short}… enabled on {', '.join(self.countries)}", pressed)

    async def traffic(self) -> None:
        started = self.timeline.now()
        before = len(await self.friend.inbox())
        await self.friend.press(self.menu, "menu:connect")
        shown_links = await self.friend.received(
            lambda m: "vless://" in shown(m), "the links in the bot", after=before
        )
        links = re.findall(r"vless://\S+", shown(shown_links))
        if len(links) != len(self.countries):
            raise DemoFailed(f"the bot showed {len(links)} links for {len(self.countries)} nodes")
        self.step(f"bot shows the friend {len(links)} vless:// links", started)

        country = self.countries[0]
        link = next((x for x in links if country in x.lower()), links[0])
        self.page = self.resources.enter_context(PageServer())
        self.vless = self.resources.enter_context(VlessClient(link, self.view.xray, self.home))
        started = self.timeline.now()
        body = await asyncio.to_thread(self.vless.fetch, self.page)
        if body != PAGE:
            raise DemoFailed(f"the page came back damaged through {country}")
        self.step(f"real VLESS client fetches {len(body):,} bytes through {country}", started)

        async def counted() -> int | None:
            down = await self.view.downlink(self.http, country, self.key_id)
            return down if down >= len(body) else None

        down = await until(counted, f"{country}'s traffic counter", timeout_s=20)
        self.step(f"{country}'s Xray counted {down:,} bytes down for the key", started)

    async def payment(self) -> None:
        started = self.timeline.now()
        await self.friend.press(self.menu, "menu:buy")
        plans = await self.friend.received(lambda m: has_button(m, f"buy:{PLAN}"), "the plans")
        before = len(await self.friend.inbox())
        await self.friend.press(plans, f"buy:{PLAN}")
        pay = await self.friend.received(
            lambda m: any("url" in b for row in m.get("buttons") or [] for b in row),
            "the payment link",
            after=before,
        )
        url = next(b["url"] for row in pay["buttons"] for b in row if "url" in b)
        self.step("friend buys a month: YooKassa payment created", started)

        self.paid = self.timeline.now()
        payment_id = url.rsplit("/", 1)[-1]
        confirm = f"{self.view.yookassa}/emulator/payments/{payment_id}/pay"
        (await self.http.post(confirm)).raise_for_status()
        await asyncio.gather(self.extended(), self.asked_for_region(), self.referral_bonus())

    async def extended(self) -> None:
        async def moved() -> datetime | None:
            paid = await self.access_until()
            return paid if paid and paid > self.trial_until else None

        paid = await until(moved, "the paid-until date moved by the plan")
        added = (paid - self.trial_until).days
        self.step(f"payment extends access to {_date(paid)} (+{added} days)", self.paid)

    async def asked_for_region(self) -> None:
        first = f"region:{self.countries[0]}"
        self.choose = await self.friend.received(lambda m: has_button(m, first), "region prompt")
        self.step("bot asks the new customer to choose a region", self.paid)

    async def region(self) -> None:
        started, region = self.timeline.now(), self.countries[0]
        await self.friend.press(self.choose, f"region:{region}")

        async def picked() -> bool:
            return (await self.account()).get("region") == region

        await until(picked, "the region")
        self.step(f"friend picks {region}", started)

    async def referral_bonus(self) -> None:
        bonus = opening(NOTICES, "notice_referral_bonus")
        await self.referrer.received(lambda m: shown(m).startswith(bonus), "the referral bonus")
        self.step(f"referrer earns {REFERRAL_DAYS} bonus days, told in Telegram", self.paid)

    async def take_days(self, days: int) -> float:
        """The operator removes ``days`` in the admin menu; when the order went out."""
        started = self.timeline.now()
        before = len(await self.operator.inbox())
        await self.operator.send("/addtime")
        prompt = opening(BOT, "admin_add_time_prompt")
        await self.operator.received(
            lambda m: shown(m).startswith(prompt), "the admin menu's prompt", after=before
        )
        before = len(await self.operator.inbox())
        ordered = self.timeline.now()
        await self.operator.send(f"tgid={self.friend.id} days-={days}")
        sent = opening(BOT, "admin_adjustment_sent")
        await self.operator.received(
            lambda m: shown(m).startswith(sent), "the admin's confirmation", after=before
        )
        self.step(f"operator takes {days} days in the bot's admin menu", started)
        return ordered

    async def reminder(self) -> None:
        paid = await self.access_until()
        assert paid is not None
        days = (paid - datetime.now(UTC)).days - 1  # leaves one to two days
        before = len(await self.friend.inbox())
        ordered = await self.take_days(days)

        async def shortened() -> datetime | None:
            now = await self.access_until()
            return now if now and now < paid else None

        async def reminded() -> None:
            reminder = opening(NOTICES, "notice_reminder")
            message = await self.friend.received(
                lambda m: shown(m).startswith(reminder), "the reminder", after=before
            )
            said = shown(message).split(". ")[0]
            self.step(f"reminder reaches the friend: “{said}”", ordered)

        async def cut() -> None:
            ends = await until(shortened, "the shortened access")
            self.step(f"access now ends {_date(ends)}: inside the 3-day window", ordered)

        await asyncio.gather(cut(), reminded())

    async def expiry(self) -> None:
        paid = await self.access_until()
        assert paid is not None
        days = (paid - datetime.now(UTC)).days + 1  # more than is left: access ends now
        before = len(await self.friend.inbox())
        async with FactWatch.of(self.view.kafka, SubscriptionExpired) as facts:
            ordered = await self.take_days(days)
            await asyncio.gather(
                self.announced(facts, ordered),
                self.blocked(ordered),
                self.refused(ordered),
                self.told_of_expiry(before, ordered),
            )

    async def announced(self, facts: FactWatch, ordered: float) -> None:
        await facts.first(
            lambda e: getattr(e, "telegram_id", None) == self.friend.id, "SubscriptionExpired"
        )
        self.step("access ended: SubscriptionExpired on the subscriptions topic", ordered)

    async def blocked(self, ordered: float) -> None:
        async def nowhere() -> bool:
            return not await self.view.enabled_on(self.http, self.key_id)

        await until(nowhere, "the key disabled on every node")
        self.step(f"key disabled on {', '.join(self.countries)}", ordered)

    async def refused(self, ordered: float) -> None:
        async def refused() -> bool:
            return not await asyncio.to_thread(self.vless.can_fetch, self.page)

        await until(refused, "the node refusing the VLESS client")
        self.step(f"VLESS client refused: no new connection through {self.countries[0]}", ordered)

    async def told_of_expiry(self, before: int, ordered: float) -> None:
        ended = opening(NOTICES, "notice_expired")
        await self.friend.received(
            lambda m: shown(m).startswith(ended), "the expiry notice", after=before
        )
        self.step("expiry notice reaches the friend", ordered)
