"""Settings the local stack invents for itself: secrets and emulator endpoints.

On first ``keyland stack up`` random tokens are written to ``<state_dir>/local.env``
and reused afterwards; a variable already set (environment or ``.env``) always wins.
Without real YooKassa credentials the YooKassa emulator stands in for the API.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from dotenv import dotenv_values

YOOKASSA_EMULATOR_PORT = 8765
PAYMENTS_PORT = 8080
SUBSCRIPTION_API_PORT = 8081


def _configured(name: str) -> str | None:
    return os.environ.get(name) or dotenv_values(".env").get(name) or None


def local_env(state_dir: Path) -> dict[str, str]:
    """Variables to give the local services: what is configured, else invented defaults."""
    path = state_dir / "local.env"
    saved = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.exists() else {}
    generated = {
        "KEYLAND_SUBSCRIPTION_API_TOKEN": saved.get("KEYLAND_SUBSCRIPTION_API_TOKEN")
        or secrets.token_urlsafe(24),
        "KEYLAND_PAYMENTS_INTERNAL_TOKEN": saved.get("KEYLAND_PAYMENTS_INTERNAL_TOKEN")
        or secrets.token_urlsafe(24),
        "KEYLAND_EMULATED_YOOKASSA_SECRET": saved.get("KEYLAND_EMULATED_YOOKASSA_SECRET")
        or secrets.token_urlsafe(16),
    }
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in generated.items()))
    path.chmod(0o600)
    defaults = {
        **generated,
        "KEYLAND_PAYMENTS_PORT": str(PAYMENTS_PORT),
        "KEYLAND_SUBSCRIPTION_API_PORT": str(SUBSCRIPTION_API_PORT),
    }
    env = {k: _configured(k) or v for k, v in defaults.items()}
    if not _configured("KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID"):
        env |= {
            "KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID": "local-shop",
            "KEYLAND_PAYMENTS_YOOKASSA_SECRET_KEY": generated["KEYLAND_EMULATED_YOOKASSA_SECRET"],
            "KEYLAND_PAYMENTS_YOOKASSA_API_URL": f"http://127.0.0.1:{YOOKASSA_EMULATOR_PORT}/v3",
            "KEYLAND_PAYMENTS_EXTRA_TRUSTED_NETWORKS": '["127.0.0.1/32"]',
        }
    return env


def emulating_yookassa(env: dict[str, str]) -> bool:
    return env.get("KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID") == "local-shop"
