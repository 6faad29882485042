"""A YooKassa API v3 emulator: payments, refunds and webhook notifications on loopback.

Start it with ``python -m emulators.yookassa --shop-id ... --secret-key ...`` or build the
ASGI app with :func:`build_app`; point the SDK at it with
``yookassa.Configuration.configure(shop_id, secret_key, api_url="http://127.0.0.1:PORT/v3")``.
"""

from emulators.yookassa.app import EmulatorConfig, build_app
from emulators.yookassa.delivery import DeliveryPolicy

__all__ = ["DeliveryPolicy", "EmulatorConfig", "build_app"]
