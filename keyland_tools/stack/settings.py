"""Where the local stack keeps downloads, data and logs: ``KEYLAND_CACHE_DIR``,
``KEYLAND_STATE_DIR``, Kafka's version, heap, ports and broker count, the local PostgreSQL
port."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class StackSettings(BaseSettings):
    """Where the local stack keeps downloads, data and logs (``keyland stack``)."""

    model_config = SettingsConfigDict(env_prefix="KEYLAND_", env_file=".env", extra="ignore")

    cache_dir: Path = Field(default=Path.home() / ".cache" / "keyland")
    state_dir: Path = Field(default=Path("var"))
    kafka_version: str = "4.1.1"
    kafka_heap: str = "512m"
    kafka_controller_port: int = Field(default=9093, gt=0, lt=65536)
    kafka_brokers: int = Field(
        default=1,
        ge=1,
        le=9,
        description="Brokers (each also a controller) a fresh state directory is formatted "
        "for; `keyland stack up --brokers` overrides it.",
    )
    # Not 5432, where a system PostgreSQL may listen.
    postgres_port: int = Field(default=55432, gt=0, lt=65536)

    @field_validator("cache_dir", "state_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()
