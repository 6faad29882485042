"""Which events change a user's access, and how (checked on the committed samples)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from events import decode
from services.provisioner.domain.access import (
    Blocked,
    KeySeen,
    Lapsed,
    Purged,
    RegionPicked,
    UntilSet,
)
from services.provisioner.domain.changes import to_change

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "samples"

EXPECTED = {
    "UserRegistered": KeySeen,
    "TrialActivated": UntilSet,
    "SubscriptionExtended": UntilSet,
    "SubscriptionShortened": UntilSet,
    "ReferralBonusCredited": UntilSet,
    "SubscriptionExpired": Lapsed,
    "UserPurged": Purged,
    "UserBlockChanged": Blocked,
    "RegionChosen": RegionPicked,
}


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_each_event_makes_its_change_or_none(sample: Path) -> None:
    envelope = decode(sample.read_bytes())
    change = to_change(envelope.payload)
    expected = EXPECTED.get(envelope.type)
    if expected is None:
        assert change is None
        return
    assert isinstance(change, expected)
    for field in ("key_id", "until", "revision"):
        if hasattr(change, field) and getattr(change, field) is not None:
            assert getattr(change, field) == getattr(envelope.payload, field)


@pytest.mark.parametrize(
    "name", ["TrialActivated", "SubscriptionExtended", "ReferralBonusCredited"]
)
def test_a_fact_written_before_revisions_makes_an_until_without_one(name: str) -> None:
    document = json.loads((SAMPLES / f"{name}.v1.json").read_bytes())
    del document["payload"]["revision"]
    change = to_change(decode(json.dumps(document).encode()).payload)
    assert isinstance(change, UntilSet)
    assert change.revision is None
