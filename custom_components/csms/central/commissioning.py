"""Setting up a charger once it is accepted: recommended configuration and facts.

OCPP 1.6 section 9 configuration keys, written with ChangeConfiguration and
read with GetConfiguration. Plain protocol steps over a ``request`` function,
so any host can run them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
import logging
from typing import Any

from .errors import CallErrorResponse
from .redaction import redact_configuration_value

_LOGGER = logging.getLogger(__name__)

Request = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]

# Clock-aligned readings every 15 minutes feed the billing ledger.
CLOCK_ALIGNED_INTERVAL_S = 900
# How often the charger pings us; a dead link is noticed within ~2 minutes.
WEBSOCKET_PING_INTERVAL_S = 60
DEFAULT_SAMPLE_INTERVAL_S = 60
DEFAULT_MEASURANDS: tuple[str, ...] = (
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Current.Import",
)
# Measurands a user may ask for (OCPP 1.6 section 7.31, the ones we show).
SUPPORTED_MEASURANDS: tuple[str, ...] = (
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Current.Import",
    "Current.Offered",
    "Voltage",
    "SoC",
    "Temperature",
    "Power.Offered",
    "Frequency",
)
# Read-only facts worth keeping (core and feature profile keys).
FACT_KEYS: tuple[str, ...] = (
    "NumberOfConnectors",
    "SupportedFeatureProfiles",
    "ChargeProfileMaxStackLevel",
    "ChargingScheduleAllowedChargingRateUnit",
    "ChargingScheduleMaxPeriods",
    "LocalAuthListEnabled",
    "AuthorizeRemoteTxRequests",
    "MeterValueSampleInterval",
    "MeterValuesSampledData",
    "ClockAlignedDataInterval",
    "HeartbeatInterval",
    "LocalAuthorizeOffline",
    "AuthorizationCacheEnabled",
    "AllowOfflineTxForUnknownId",
    "LocalAuthListMaxLength",
    "SendLocalListMaxLength",
    "StopTransactionOnInvalidId",
)


def recommended_configuration(
    sample_interval_s: int,
    measurands: Iterable[str],
    facts: Mapping[str, str] | None = None,
    *,
    accept_unknown_id_tags: bool = False,
) -> dict[str, str]:
    """The configuration keys and values to push to an accepted charger.

    Offline authorization is included: known cards keep working while the
    central system is out of reach (local list and cache), unknown ones do
    not, unless the server accepts unknown tags anyway. Given the charger's
    ``facts`` (from an earlier boot), keys it does not have are left out;
    without them a charger answers NotSupported, which is harmless.
    """
    configuration = {
        "MeterValueSampleInterval": str(sample_interval_s),
        "MeterValuesSampledData": ",".join(measurands),
        "ClockAlignedDataInterval": str(CLOCK_ALIGNED_INTERVAL_S),
        "MeterValuesAlignedData": "Energy.Active.Import.Register",
        "WebSocketPingInterval": str(WEBSOCKET_PING_INTERVAL_S),
    }
    offline = {
        "LocalAuthorizeOffline": "true",
        "AuthorizationCacheEnabled": "true",
        "AllowOfflineTxForUnknownId": "true" if accept_unknown_id_tags else "false",
        "LocalAuthListEnabled": "true",
    }
    if facts:
        offline = {key: value for key, value in offline.items() if key in facts}
        if not supports_profile(facts, "LocalAuthListManagement"):
            offline.pop("LocalAuthListEnabled", None)
    configuration.update(offline)
    return configuration


# Keys recommended_configuration may write: read before writing, to write only changes.
CONFIGURED_KEYS: tuple[str, ...] = (
    "MeterValueSampleInterval",
    "MeterValuesSampledData",
    "ClockAlignedDataInterval",
    "MeterValuesAlignedData",
    "WebSocketPingInterval",
    "LocalAuthorizeOffline",
    "AuthorizationCacheEnabled",
    "AllowOfflineTxForUnknownId",
    "LocalAuthListEnabled",
)


def configuration_changes(wanted: Mapping[str, str], current: Mapping[str, str]) -> dict[str, str]:
    """The wanted keys whose value the charger does not hold already.

    Chargers answer GetConfiguration in their own spelling: lists compare as
    sets, case and spaces aside ("true" is "True", "a, b" is "b,a"). After a
    reboot, or a reconnect storm of a whole parking lot, this leaves nothing
    to write instead of nine ChangeConfiguration calls per charger.
    """
    return {
        key: value
        for key, value in wanted.items()
        if _normalized(current.get(key)) != _normalized(value)
    }


def _normalized(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(part.strip().lower() for part in value.split(","))


def supports_profile(facts: Mapping[str, str], profile: str) -> bool:
    """Whether SupportedFeatureProfiles names a feature profile."""
    profiles = facts.get("SupportedFeatureProfiles", "")
    return profile in {name.strip() for name in profiles.split(",")}


@dataclass(slots=True)
class ConfigurationResult:
    """How a charger took a configuration: status per key (Accepted, Rejected, ...)."""

    statuses: dict[str, str] = field(default_factory=dict)

    @property
    def rejected(self) -> list[str]:
        """Keys the charger refused (NotSupported keys are simply absent there)."""
        return [key for key, status in self.statuses.items() if status == "Rejected"]


async def push_configuration(
    request: Request, configuration: dict[str, str]
) -> ConfigurationResult:
    """Write each key with ChangeConfiguration; one refusal does not stop the rest.

    A lost connection or a charger that stops answering ends the push.
    """
    result = ConfigurationResult()
    for key, value in configuration.items():
        try:
            answer = await request("ChangeConfiguration", {"key": key, "value": value})
        except CallErrorResponse as err:
            _LOGGER.warning(
                "ChangeConfiguration %s=%s failed: %s",
                key,
                redact_configuration_value(key, value),
                err,
            )
            result.statuses[key] = "Failed"
            continue
        result.statuses[key] = str(answer.get("status"))
    return result


async def read_facts(request: Request, keys: Iterable[str] = FACT_KEYS) -> dict[str, str]:
    """Read configuration keys; the ones the charger does not know are left out."""
    answer = await request("GetConfiguration", {"key": list(keys)})
    facts: dict[str, str] = {}
    for item in answer.get("configuration_key") or []:
        if isinstance(item, dict) and "key" in item and item.get("value") is not None:
            facts[str(item["key"])] = str(item["value"])
    return facts
