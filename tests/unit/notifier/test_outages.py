"""A node down and back: who is told, once each way, and the admins (pure: no fixtures)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from events import Envelope
from events.bot_actions import RegionChosen
from events.keys import NodeRecovered, NodeUnreachable
from events.subscriptions import UserPurged
from services.notifier.adapters.rendering import notice_text
from services.notifier.domain.notices import Kind
from services.notifier.domain.outages import (
    OpenOutage,
    affected,
    down_notice,
    joins,
    node_notices,
    outage_key,
)
from services.notifier.domain.profiles import Profile, learn

SINCE = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
BACK = SINCE + timedelta(minutes=5)
NODE = "127.0.0.1:18082"
REGIONS = ["finland", "germany", "sweden"]
DOWN = NodeUnreachable(country="germany", node=NODE, error="connection refused", since=SINCE)
UP = NodeRecovered(country="germany", node=NODE, since=SINCE, back_at=BACK)


def profile(telegram_id: int, region: str | None, until: datetime | None) -> Profile:
    return Profile(telegram_id, registered=True, until=until, region=region)


def test_an_outage_and_its_recovery_share_one_key() -> None:
    assert outage_key(DOWN) == outage_key(UP)
    later = NodeUnreachable(country="germany", node=NODE, error="", since=BACK)
    assert outage_key(later) != outage_key(DOWN)


def test_only_users_of_the_region_with_access_are_affected() -> None:
    profiles = [
        profile(1, "germany", SINCE + timedelta(days=3)),
        profile(2, "finland", SINCE + timedelta(days=3)),
        profile(3, "germany", SINCE - timedelta(days=1)),  # lapsed
        profile(4, "germany", None),  # never had access
        Profile(5, registered=False, until=SINCE + timedelta(days=3), region="germany"),
        profile(6, "germany", SINCE + timedelta(days=30)),
    ]
    assert affected(profiles, "germany", SINCE) == [1, 6]


def test_the_users_told_are_offered_every_other_region_and_the_admins_alerted() -> None:
    envelope = Envelope.new(DOWN, producer="provisioner", occurred_at=SINCE)
    notices = node_notices(envelope, [11, 12], REGIONS, [7])
    [alert] = [n for n in notices if n.telegram_id == 7]
    assert alert.kind is Kind.NODE_DOWN_ALERT
    assert NODE in notice_text(alert, "en", SINCE)
    assert "Users told: 2" in notice_text(alert, "en", SINCE)
    users = [n for n in notices if n.telegram_id != 7]
    assert [(n.telegram_id, n.kind) for n in users] == [(11, Kind.NODE_DOWN), (12, Kind.NODE_DOWN)]
    assert users[0].buttons == (("region", "finland"), ("region", "sweden"))
    assert "Germany" in notice_text(users[0], "ru", SINCE)


def test_the_recovery_goes_to_the_same_users_with_a_way_back() -> None:
    envelope = Envelope.new(UP, producer="provisioner", occurred_at=BACK)
    notices = node_notices(envelope, [11], REGIONS, [7])
    assert [(n.telegram_id, n.kind) for n in notices] == [
        (7, Kind.NODE_BACK_ALERT),
        (11, Kind.NODE_BACK),
    ]
    assert notices[1].buttons == (("region", "germany"),)


@given(st.lists(st.integers(1, 10**9), unique=True, max_size=20), st.lists(st.integers(1, 99)))
def test_a_redelivered_event_plans_the_very_same_notices_each_once(
    told: list[int], admins: list[int]
) -> None:
    for event, at in ((DOWN, SINCE), (UP, BACK)):
        envelope = Envelope.new(event, producer="provisioner", occurred_at=at)
        first = node_notices(envelope, told, REGIONS, admins)
        assert first == node_notices(envelope, told, REGIONS, admins)
        assert len({n.id for n in first}) == len(told) + len(set(admins))
    down = node_notices(Envelope.new(DOWN, producer="p", occurred_at=SINCE), told, REGIONS, [])
    up = node_notices(Envelope.new(UP, producer="p", occurred_at=BACK), told, REGIONS, [])
    assert not {n.id for n in down} & {n.id for n in up}


def test_a_profile_keeps_the_latest_region_until_a_purge() -> None:
    chosen = learn(Profile(1), RegionChosen(telegram_id=1, region="germany"), SINCE)
    moved = learn(chosen, RegionChosen(telegram_id=1, region="finland"), BACK)
    assert (chosen.region, moved.region) == ("germany", "finland")
    assert learn(moved, UserPurged(telegram_id=1, key_id=uuid.uuid4()), BACK).region is None


ANNOUNCED = SINCE + timedelta(seconds=10)
OPEN = OpenOutage(outage_key(DOWN), "germany", str(uuid.uuid4()), ANNOUNCED, frozenset({11}))


@given(st.timedeltas(timedelta(minutes=-5), timedelta(minutes=5)))
def test_a_user_learnt_late_joins_an_open_outage_if_what_placed_them_happened_before_it(
    offset: timedelta,
) -> None:
    paid = profile(12, "germany", ANNOUNCED + timedelta(days=30))
    assert joins(OPEN, [(ANNOUNCED + offset, paid)]) == (offset <= timedelta(0))


def test_a_late_learnt_user_of_another_region_or_without_access_does_not_join() -> None:
    before = ANNOUNCED - timedelta(seconds=1)
    assert not joins(OPEN, [(before, profile(12, "finland", ANNOUNCED + timedelta(days=3)))])
    assert not joins(OPEN, [(before, profile(12, "germany", ANNOUNCED - timedelta(seconds=1)))])
    assert not joins(OPEN, [])


def test_a_late_joiner_hears_the_notice_those_counted_at_once_heard() -> None:
    envelope = Envelope.new(DOWN, producer="provisioner", occurred_at=ANNOUNCED)
    [at_once] = [n for n in node_notices(envelope, [12], REGIONS, []) if n.telegram_id == 12]
    assert down_notice(str(envelope.event_id), ANNOUNCED, "germany", 12, REGIONS) == at_once
