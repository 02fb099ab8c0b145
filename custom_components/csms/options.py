"""Config entry options with their defaults filled in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .central.commissioning import DEFAULT_MEASURANDS, DEFAULT_SAMPLE_INTERVAL_S
from .central.load_management import SiteLimits
from .central.load_manager import ChargerSettings, SiteSettings
from .const import (
    CONF_LOAD_MANAGEMENT,
    CONF_MAX_CURRENT,
    CONF_MEASURANDS,
    CONF_PHASES,
    CONF_PRIORITY,
    CONF_PUSH_CONFIGURATION,
    CONF_REMOTE_START_ID_TAG,
    CONF_SAMPLE_INTERVAL,
    CONF_SITE_CURRENT_LIMIT,
    CONF_SITE_POWER_LIMIT,
    CONF_SOLAR_ONLY,
    DEFAULT_MAX_CURRENT,
    DEFAULT_PHASES,
    DEFAULT_PRIORITY,
    DEFAULT_REMOTE_START_ID_TAG,
)


def charge_point_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """A charge point entry's options with defaults filled in."""
    return {
        CONF_PUSH_CONFIGURATION: options.get(CONF_PUSH_CONFIGURATION, True),
        CONF_SAMPLE_INTERVAL: int(options.get(CONF_SAMPLE_INTERVAL, DEFAULT_SAMPLE_INTERVAL_S)),
        CONF_MEASURANDS: list(options.get(CONF_MEASURANDS, DEFAULT_MEASURANDS)),
        CONF_REMOTE_START_ID_TAG: options.get(
            CONF_REMOTE_START_ID_TAG, DEFAULT_REMOTE_START_ID_TAG
        ),
        CONF_PHASES: int(options.get(CONF_PHASES, DEFAULT_PHASES)),
        CONF_MAX_CURRENT: int(options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT)),
        CONF_PRIORITY: int(options.get(CONF_PRIORITY, DEFAULT_PRIORITY)),
    }


def charger_settings(options: Mapping[str, Any]) -> ChargerSettings:
    """How a charger takes part in load management."""
    filled = charge_point_options(options)
    return ChargerSettings(
        phases=filled[CONF_PHASES],
        max_current_a=float(filled[CONF_MAX_CURRENT]),
        priority=filled[CONF_PRIORITY],
    )


def site_settings(options: Mapping[str, Any]) -> SiteSettings:
    """A server's load management settings."""

    def number(key: str) -> float | None:
        value = options.get(key)
        return None if value is None else float(value)

    return SiteSettings(
        enabled=bool(options.get(CONF_LOAD_MANAGEMENT, False)),
        limits=SiteLimits(
            current_a=number(CONF_SITE_CURRENT_LIMIT),
            power_w=number(CONF_SITE_POWER_LIMIT),
            solar_only=bool(options.get(CONF_SOLAR_ONLY, False)),
        ),
    )
