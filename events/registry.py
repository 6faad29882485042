"""The topic catalog: each topic's events, producers, consumers and dead-letter topic.

Every topic is keyed by the user's Telegram id (so one user's events are ordered and one
consumer writes one user's documents), except where an event says otherwise. The topics
the subscription processor reads have the same partition count, so faust co-partitions
them: partition N of each lands on the same worker, and one user's records from every
topic are handled by one agent, one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from events import admin_commands, bot_actions, keys, payments, subscriptions, traffic
from events.base import Event


@dataclass(frozen=True)
class Consumer:
    """A service's worker that reads a topic; ``only``: the events it acts on, when it
    passes over the others (it still reads them)."""

    service: str
    only: tuple[type[Event], ...] = ()

    def __str__(self) -> str:
        if not self.only:
            return self.service
        return f"{self.service} ({', '.join(event.event_type for event in self.only)})"


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the catalog (its base name; see :class:`TopicNames` for prefixes)."""

    name: str
    partitions: int
    producers: tuple[str, ...]
    consumers: tuple[Consumer, ...]
    """Every worker that reads the topic: each one's input topics are exactly the topics
    naming it here (a test holds them to it)."""
    events: tuple[type[Event], ...]
    key: str = "telegram_id"
    purpose: str = ""
    """What a topic is for when no worker consumes it (yet)."""

    @property
    def dlq(self) -> str:
        return dlq_name(self.name)


def dlq_name(topic: str) -> str:
    """The dead-letter topic of ``topic``: the original record + error + consumer."""
    return f"{topic}.dlq"


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        name=bot_actions.TOPIC,
        partitions=6,
        producers=("bot",),
        consumers=(
            Consumer("subscription"),
            Consumer("provisioner", only=(bot_actions.RegionChosen,)),
            Consumer(
                "notifier",
                only=(bot_actions.UserStarted, bot_actions.UserSeen, bot_actions.RegionChosen),
            ),
        ),
        events=(
            bot_actions.UserStarted,
            bot_actions.TrialRequested,
            bot_actions.RegionChosen,
            bot_actions.UserSeen,
            bot_actions.RenewalTurnedOff,
            bot_actions.PromoCodeEntered,
        ),
        key="telegram_id (code for PromoCodeEntered)",
    ),
    TopicSpec(
        name=payments.TOPIC,
        partitions=6,
        producers=("payments_ingest", "bot"),
        consumers=(Consumer("subscription"), Consumer("notifier")),
        events=(
            payments.PaymentSucceeded,
            payments.PaymentCanceled,
            payments.RefundSucceeded,
            payments.PaymentHeld,
            payments.HeldPaymentRefunded,
            payments.PaymentMethodSaved,
            payments.RenewalDeclined,
            payments.GiftPurchased,
        ),
        key=(
            "telegram_id (payment_id for a PaymentHeld that names no user,"
            " HeldPaymentRefunded; code for GiftPurchased)"
        ),
    ),
    TopicSpec(
        name=admin_commands.TOPIC,
        partitions=6,
        producers=("bot", "cli", "subscription"),
        consumers=(Consumer("subscription"), Consumer("notifier")),
        events=(
            admin_commands.SubscriptionAdjusted,
            admin_commands.BroadcastRequested,
            admin_commands.TestNotificationRequested,
            admin_commands.UserPurgeRequested,
            admin_commands.HeldPaymentGranted,
            admin_commands.UserProvisioned,
            admin_commands.UserBlockRequested,
            admin_commands.PromoCodeCreated,
        ),
        key="telegram_id (broadcast_id for BroadcastRequested, code for PromoCodeCreated)",
    ),
    TopicSpec(
        name=subscriptions.TOPIC,
        partitions=6,
        producers=("subscription",),
        consumers=(
            Consumer("provisioner"),
            Consumer("notifier"),
            # Facts that change another user's figures or ledger, back to that user's
            # partition: the referrer's bonus and its revocation, and the lapse the expiry
            # sweep announced; the renewal charges the renewal sweep found due, made by
            # the worker that owns the user; and a promo code's use won on the code's
            # partition.
            Consumer(
                "subscription",
                only=(
                    subscriptions.ReferralBonusEarned,
                    subscriptions.ReferralBonusRevoked,
                    subscriptions.SubscriptionExpired,
                    subscriptions.RenewalDue,
                    subscriptions.PromoCodeRedeemed,
                ),
            ),
        ),
        events=(
            subscriptions.UserRegistered,
            subscriptions.CreditHeld,
            subscriptions.TrialActivated,
            subscriptions.SubscriptionExtended,
            subscriptions.SubscriptionShortened,
            subscriptions.AdjustmentRejected,
            subscriptions.ReferralBonusEarned,
            subscriptions.ReferralBonusRevoked,
            subscriptions.ReferralBonusCredited,
            subscriptions.SubscriptionExpired,
            subscriptions.UserPurged,
            subscriptions.UserBlockChanged,
            subscriptions.RenewalDue,
            subscriptions.PromoCodeRedeemed,
            subscriptions.PromoCodeRefused,
        ),
    ),
    TopicSpec(
        name=keys.TOPIC,
        partitions=6,
        producers=("provisioner",),
        consumers=(Consumer("notifier", only=(keys.NodeUnreachable, keys.NodeRecovered)),),
        events=(
            keys.KeyActivated,
            keys.KeyDeactivated,
            keys.KeyDeleted,
            keys.NodeUnreachable,
            keys.NodeRecovered,
            keys.NodeLoadReported,
        ),
        key="telegram_id (node for NodeUnreachable, NodeRecovered and NodeLoadReported)",
    ),
    TopicSpec(
        name=traffic.TOPIC,
        partitions=6,
        producers=("provisioner",),
        consumers=(Consumer("subscription"),),
        events=(traffic.TrafficCounted,),
    ),
)

TOPICS_BY_NAME: dict[str, TopicSpec] = {spec.name: spec for spec in TOPICS}

EVENT_CLASSES: dict[tuple[str, int], type[Event]] = {
    (cls.event_type, cls.event_version): cls for spec in TOPICS for cls in spec.events
}


@dataclass(frozen=True)
class TopicNames:
    """Actual topic names in one installation: the base names behind an optional prefix."""

    prefix: str = ""

    def __call__(self, base: str) -> str:
        if base not in TOPICS_BY_NAME:
            raise KeyError(f"unknown topic {base!r}")
        return f"{self.prefix}{base}"

    def of(self, event: type[Event] | Event) -> str:
        return self(event.topic)

    def dlq(self, base: str) -> str:
        return dlq_name(self(base))

    def base(self, actual: str) -> str:
        """The catalog name behind an actual topic name (without prefix or ``.dlq``)."""
        name = actual.removeprefix(self.prefix).removesuffix(".dlq")
        if not actual.startswith(self.prefix) or name not in TOPICS_BY_NAME:
            raise KeyError(f"{actual!r} is not a topic of this installation")
        return name
