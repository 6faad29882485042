"""Where each broker of the local Kafka cluster listens, derived from the configured
bootstrap addresses and controller port (pure: no sockets, no files)."""

from __future__ import annotations

from dataclasses import dataclass

# Ports of consecutive brokers are this far apart, so that the default client port 9092
# and controller port 9093 interleave: 9092/9093, 9094/9095, 9096/9097.
PORT_STRIDE = 2


class LayoutError(ValueError):
    """The configured addresses cannot hold the asked number of brokers."""


@dataclass(frozen=True)
class BrokerPlace:
    """One combined broker + controller: its KRaft node id and its two listeners."""

    node_id: int
    address: str
    controller: str


def broker_places(bootstrap: str, controller_port: int, brokers: int) -> list[BrokerPlace]:
    """Broker n (from 1) serves clients at the n-th address of ``bootstrap`` or, when it
    names one address, at that port + 2(n-1); its controller listens on the same host at
    ``controller_port`` + 2(n-1). Refuses layouts whose listeners would share a port."""
    if brokers < 1:
        raise LayoutError(f"a cluster needs one broker at least, not {brokers}")
    addresses = [_split(address) for address in bootstrap.split(",") if address.strip()]
    if len(addresses) == 1:
        host, port = addresses[0]
        addresses = [(host, port + PORT_STRIDE * n) for n in range(brokers)]
    elif len(addresses) != brokers:
        raise LayoutError(
            f"KEYLAND_KAFKA_BOOTSTRAP names {len(addresses)} addresses for {brokers} brokers: "
            "name one (the others follow it) or one per broker"
        )
    places = [
        BrokerPlace(n + 1, f"{host}:{port}", f"{host}:{controller_port + PORT_STRIDE * n}")
        for n, (host, port) in enumerate(addresses)
    ]
    listeners = [_split(a) for place in places for a in (place.address, place.controller)]
    if any(not 0 < port < 65536 for _, port in listeners):
        raise LayoutError(f"{brokers} brokers from {bootstrap} run past port 65535")
    if len(set(listeners)) != len(listeners):
        raise LayoutError(
            f"{brokers} brokers at {bootstrap} with KEYLAND_KAFKA_CONTROLLER_PORT="
            f"{controller_port} would share a port: move the controller port"
        )
    return places


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    if not host or not port.isdigit():
        raise LayoutError(f"{address.strip()!r} is not host:port")
    return host, int(port)
