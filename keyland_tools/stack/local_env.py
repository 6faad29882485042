"""Settings the local stack invents for itself: secrets, ports and emulator endpoints.

On first ``keyland stack up`` random tokens are written to ``<state_dir>/local.env``
and reused afterwards; a variable already set (environment or ``.env``) always wins.
Without real YooKassa credentials the YooKassa emulator stands in for the API; without a
real bot token, the Telegram emulator stands in for the Bot API.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dotenv import dotenv_values

from keyland.settings import KafkaSettings, load
from keyland_tools.stack.kafka import Kafka
from keyland_tools.stack.postgres import postgres_url
from keyland_tools.stack.settings import StackSettings

YOOKASSA_EMULATOR_PORT = 8765
TELEGRAM_EMULATOR_PORT = 8766
PAYMENTS_PORT = 8080
SUBSCRIPTION_API_PORT = 8081
PROVISIONER_API_PORT = 8082
CABINET_PORT = 8084
# /health and /metrics of the workers without an HTTP API of their own.
OPS_PORTS = {"SUBSCRIPTION": 9101, "PROVISIONER": 9102, "NOTIFIER": 9103, "BOT": 9104}
EMULATED_BOT_USERNAME = "keyland_local_bot"
DEMO_ADMIN_ID = 1
# Two local country nodes: (country, VLESS port, Xray API port, agent port).
LOCAL_NODES = (("finland", 10443, 10085, 18471), ("germany", 10444, 10086, 18472))

_SECRETS = (
    "KEYLAND_SUBSCRIPTION_API_TOKEN",
    "KEYLAND_SUBSCRIPTION_ADMIN_TOKEN",
    "KEYLAND_SUBSCRIPTION_KEY_SECRET",
    "KEYLAND_PAYMENTS_INTERNAL_TOKEN",
    "KEYLAND_PROVISIONER_API_TOKEN",
    "KEYLAND_PROVISIONER_NODE_TOKEN",
    "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET",
    "KEYLAND_EMULATED_YOOKASSA_SECRET",
    "KEYLAND_EMULATED_BOT_SECRET",
)


def _configured(name: str) -> str | None:
    return os.environ.get(name) or dotenv_values(".env").get(name) or None


def _secrets(state_dir: Path) -> dict[str, str]:
    path = state_dir / "local.env"
    saved = {k: v for k, v in dotenv_values(path).items() if v} if path.exists() else {}
    generated = {name: saved.get(name) or secrets.token_urlsafe(24) for name in _SECRETS}
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in generated.items()))
    path.chmod(0o600)
    return generated


def local_env(stack: StackSettings) -> dict[str, str]:
    """Variables to give the local services: what is configured, else invented defaults."""
    made = _secrets(stack.state_dir)
    defaults = {
        "KEYLAND_SUBSCRIPTION_API_TOKEN": made["KEYLAND_SUBSCRIPTION_API_TOKEN"],
        "KEYLAND_SUBSCRIPTION_ADMIN_TOKEN": made["KEYLAND_SUBSCRIPTION_ADMIN_TOKEN"],
        "KEYLAND_SUBSCRIPTION_KEY_SECRET": made["KEYLAND_SUBSCRIPTION_KEY_SECRET"],
        "KEYLAND_PAYMENTS_INTERNAL_TOKEN": made["KEYLAND_PAYMENTS_INTERNAL_TOKEN"],
        "KEYLAND_PAYMENTS_PORT": str(PAYMENTS_PORT),
        "KEYLAND_SUBSCRIPTION_API_PORT": str(SUBSCRIPTION_API_PORT),
        # The local FerretDB's PostgreSQL, where the services create their lookup indexes.
        "KEYLAND_MONGO_POSTGRES_URL": postgres_url(stack),
    }
    env = {k: _configured(k) or v for k, v in defaults.items()}
    # Every local broker, so that a service starting while one is down still finds the others.
    env["KEYLAND_KAFKA_BOOTSTRAP"] = Kafka(stack, load(KafkaSettings)).bootstrap
    env |= {
        "KEYLAND_BOT_READ_API_URL": f"http://127.0.0.1:{env['KEYLAND_SUBSCRIPTION_API_PORT']}",
        "KEYLAND_BOT_READ_API_TOKEN": env["KEYLAND_SUBSCRIPTION_API_TOKEN"],
        "KEYLAND_BOT_PAYMENTS_URL": f"http://127.0.0.1:{env['KEYLAND_PAYMENTS_PORT']}",
        "KEYLAND_BOT_PAYMENTS_TOKEN": env["KEYLAND_PAYMENTS_INTERNAL_TOKEN"],
        # The subscription worker has the ingest charge saved methods for renewals.
        "KEYLAND_SUBSCRIPTION_PAYMENTS_URL": f"http://127.0.0.1:{env['KEYLAND_PAYMENTS_PORT']}",
        "KEYLAND_SUBSCRIPTION_PAYMENTS_TOKEN": env["KEYLAND_PAYMENTS_INTERNAL_TOKEN"],
        "KEYLAND_BOT_CABINET_PORT": _configured("KEYLAND_BOT_CABINET_PORT") or str(CABINET_PORT),
        "KEYLAND_BOT_LINKS_URL": f"http://127.0.0.1:{PROVISIONER_API_PORT}",
        "KEYLAND_BOT_LINKS_TOKEN": _configured("KEYLAND_PROVISIONER_API_TOKEN")
        or made["KEYLAND_PROVISIONER_API_TOKEN"],
    }
    countries = str((stack.state_dir / "countries.json").resolve())
    node_token = (
        _configured("KEYLAND_PROVISIONER_NODE_TOKEN") or made["KEYLAND_PROVISIONER_NODE_TOKEN"]
    )
    env |= {
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": _configured("KEYLAND_PROVISIONER_COUNTRIES_FILE")
        or countries,
        "KEYLAND_PROVISIONER_NODE_TOKEN": node_token,
        "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET": _configured(
            "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET"
        )
        or made["KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET"],
        "KEYLAND_PROVISIONER_API_TOKEN": env["KEYLAND_BOT_LINKS_TOKEN"],
        "KEYLAND_PROVISIONER_API_PORT": str(PROVISIONER_API_PORT),
        # The subscription page a browser gets shows the read API's monthly traffic.
        "KEYLAND_PROVISIONER_READ_API_URL": env["KEYLAND_BOT_READ_API_URL"],
        "KEYLAND_PROVISIONER_READ_API_TOKEN": env["KEYLAND_SUBSCRIPTION_API_TOKEN"],
    }
    env |= {f"KEYLAND_{name}_OPS_PORT": str(port) for name, port in OPS_PORTS.items()}
    env["KEYLAND_BOT_COUNTRIES_FILE"] = env["KEYLAND_NOTIFIER_COUNTRIES_FILE"] = env[
        "KEYLAND_PROVISIONER_COUNTRIES_FILE"
    ]
    if not _configured("KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID"):
        env |= {
            "KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID": "local-shop",
            "KEYLAND_PAYMENTS_YOOKASSA_SECRET_KEY": made["KEYLAND_EMULATED_YOOKASSA_SECRET"],
            "KEYLAND_PAYMENTS_YOOKASSA_API_URL": f"http://127.0.0.1:{YOOKASSA_EMULATOR_PORT}/v3",
            "KEYLAND_PAYMENTS_EXTRA_TRUSTED_NETWORKS": '["127.0.0.1/32"]',
        }
    token = _configured("KEYLAND_BOT_TOKEN")
    if token is None:
        token = f"7000000001:{made['KEYLAND_EMULATED_BOT_SECRET']}"
        emulator = f"http://127.0.0.1:{TELEGRAM_EMULATOR_PORT}"
        env |= {
            "KEYLAND_BOT_TELEGRAM_API_URL": emulator,
            "KEYLAND_NOTIFIER_TELEGRAM_API_URL": emulator,
            "KEYLAND_BOT_USERNAME": EMULATED_BOT_USERNAME,
            "KEYLAND_PROVISIONER_BOT_USERNAME": EMULATED_BOT_USERNAME,
            "KEYLAND_BOT_ADMIN_IDS": _configured("KEYLAND_BOT_ADMIN_IDS") or str(DEMO_ADMIN_ID),
            # The demo admin is told of held payments too (the owner's alerts).
            "KEYLAND_NOTIFIER_ALERT_IDS": _configured("KEYLAND_NOTIFIER_ALERT_IDS")
            or f"[{DEMO_ADMIN_ID}]",
            "KEYLAND_EMULATED_BOT_TOKEN": token,
        }
    # The bot's menu button opens the cabinet: on loopback for the emulated Telegram; a
    # real one opens only a public https URL, which only the operator can give.
    cabinet_url = _configured("KEYLAND_BOT_CABINET_URL")
    if cabinet_url is None and emulating_telegram(env):
        cabinet_url = f"http://127.0.0.1:{env['KEYLAND_BOT_CABINET_PORT']}/app"
    if cabinet_url is not None:
        env["KEYLAND_BOT_CABINET_URL"] = cabinet_url
    env |= {
        "KEYLAND_BOT_TOKEN": token,
        "KEYLAND_NOTIFIER_BOT_TOKEN": _configured("KEYLAND_NOTIFIER_BOT_TOKEN") or token,
    }
    return env


def emulating_yookassa(env: dict[str, str]) -> bool:
    return env.get("KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID") == "local-shop"


def emulating_telegram(env: dict[str, str]) -> bool:
    return "KEYLAND_EMULATED_BOT_TOKEN" in env
