"""Idempotent topic creation from the catalog."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from events.registry import TOPICS, TopicNames, TopicSpec

_ALREADY_EXISTS = TopicAlreadyExistsError.errno


async def ensure_topics(
    bootstrap: str,
    topics: TopicNames,
    specs: tuple[TopicSpec, ...] = TOPICS,
    *,
    replication_factor: int = 1,
) -> list[str]:
    """Create every catalog topic and its DLQ that does not exist yet; return the created.

    ``create_topics`` does not raise when a topic exists (error code 36), so the
    response is checked: "already exists" is fine, any other error code raises.
    """
    wanted = [
        NewTopic(name, spec.partitions, replication_factor)
        for spec in specs
        for name in (topics(spec.name), topics.dlq(spec.name))
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(wanted)
    finally:
        await admin.close()
    created = []
    for name, code, *_ in response.topic_errors:
        if code == 0:
            created.append(name)
        elif code != _ALREADY_EXISTS:
            raise for_code(code)(f"cannot create topic {name}")
    return created
