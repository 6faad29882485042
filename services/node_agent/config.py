"""The node agent's settings, read from ``KEYLAND_NODE_*`` variables (or ``.env``).

Build them with :func:`keyland.settings.load`, which stops start-up with a message naming
the variable that is missing or malformed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_REALITY_FIELDS = ("reality_public_key", "reality_short_id", "reality_server_name")


class NodeAgentSettings(BaseSettings):
    """One country server: where the agent listens, where Xray is, what links look like."""

    model_config = SettingsConfigDict(
        env_prefix="KEYLAND_NODE_", env_file=".env", extra="ignore", validate_default=True
    )

    token: SecretStr = Field(min_length=16, description="Bearer token the provisioner sends.")
    country: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$", description="e.g. finland")
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8470, gt=0, lt=65536)
    state_file: Path = Field(
        default=Path("var/node_agent/users.sqlite3"),
        description="The agent's durable record of enabled users.",
    )

    xray_api: str = Field(default="127.0.0.1:10085", pattern=r"^[^\s:]+:\d{1,5}$")
    xray_inbound_tag: str = Field(default="vless-in", min_length=1)
    xray_timeout_s: float = Field(default=5.0, gt=0)
    xray_access_log: Path | None = Field(
        default=None,
        description="Xray's access log: with it, a disabled user's open connections end.",
    )
    xray_inbound_port: int | None = Field(
        default=None, gt=0, lt=65536, description="The VLESS inbound's port; public_port if unset."
    )
    watch_interval_s: float = Field(
        default=1.0, gt=0, description="How often the watcher compares Xray with the record."
    )
    load_interval_s: float = Field(
        default=10.0, gt=0, description="How often the agent measures Xray's load (/v1/load)."
    )

    public_host: str = Field(min_length=1, description="Host in the users' links.")
    public_port: int = Field(gt=0, lt=65536, description="Port in the users' links.")
    security: Literal["none", "reality"] = "none"
    flow: Literal["", "xtls-rprx-vision"] = ""
    reality_public_key: str = ""
    reality_short_id: str = Field(default="", pattern=r"^[0-9a-f]{0,16}$")
    reality_server_name: str = ""
    reality_fingerprint: str = "chrome"

    @field_validator(*_REALITY_FIELDS)
    @classmethod
    def _required_with_reality(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("security") == "reality" and not value:
            raise ValueError("required when KEYLAND_NODE_SECURITY=reality")
        return value
