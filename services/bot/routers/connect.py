"""The "connect" button (also the notifier's "My keys"): the user's link for every country, the
subscription URL, and its QR code."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile
from aiogram.utils.formatting import Bold, Code, Text, as_line

from events.buttons import MenuAction
from services.bot.adapters.links import Links, UserLinks
from services.bot.domain.images import qr_png
from services.bot.keyboards.menu import back_to_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import Trigger, chat_of, respond

MESSAGE_LIMIT = 4000  # Telegram's is 4096 characters; leave room for the header


def _messages(viewer: Viewer, found: UserLinks, preferred: str | None) -> list[Text]:
    """The links as tap-to-copy code, split so no message passes Telegram's limit."""
    sections = [
        as_line(Bold(country.capitalize()), "\n", Code(link), "\n")
        for country, link in found.ordered(preferred)
    ]
    sections.append(
        as_line(Bold(viewer.t("connect_subscription")), "\n", Code(found.subscription_url), "\n")
    )
    sections.append(Text(viewer.t("connect_help")))
    messages: list[Text] = []
    current = Text(viewer.t("connect_header"), "\n\n")
    for section in sections:
        if len(current.render()[0]) + len(section.render()[0]) > MESSAGE_LIMIT:
            messages.append(current)
            current = Text()
        current = Text(current, section)
    messages.append(current)
    return messages


async def connect(trigger: Trigger, bot: Bot, viewer: Viewer, links: Links) -> None:
    found = await links.of(viewer.telegram_id)
    if found is None:
        await respond(
            trigger,
            bot,
            viewer.t("connect_no_keys"),
            reply_markup=back_to_menu(viewer, "trial", "buy"),
        )
        return
    if not found.links:
        await respond(
            trigger, bot, viewer.t("connect_keys_pending"), reply_markup=back_to_menu(viewer)
        )
        return
    account = await viewer.account_if_known()
    first, *rest = _messages(viewer, found, account.region if account is not None else None)
    await respond(trigger, bot, **first.as_kwargs())
    for part in rest:
        await bot.send_message(chat_of(trigger), **part.as_kwargs())
    await bot.send_photo(
        chat_of(trigger),
        BufferedInputFile(qr_png(found.subscription_url), filename="keyland-subscription.png"),
        caption=viewer.t("connect_qr_caption"),
        reply_markup=back_to_menu(viewer),
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(connect, Command("connect", "keys"))
    router.callback_query.register(connect, MenuAction.filter(F.action.in_({"connect", "myKeys"})))
    return router
