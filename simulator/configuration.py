"""Configuration keys of the simulated charge point (OCPP 1.6 chapter 9)."""

from typing import NamedTuple

from ._ocpp import enums

FEATURE_PROFILES = (
    "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"
)
SAMPLED_MEASURANDS = (
    "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC,Temperature"
)

_INTEGER_KEYS = frozenset(
    {
        "ClockAlignedDataInterval",
        "ConnectionTimeOut",
        "HeartbeatInterval",
        "MeterValueSampleInterval",
        "WebSocketPingInterval",
    }
)
_BOOLEAN_KEYS = frozenset(
    {
        "AllowOfflineTxForUnknownId",
        "AuthorizationCacheEnabled",
        "AuthorizeRemoteTxRequests",
        "LocalAuthListEnabled",
        "LocalAuthorizeOffline",
    }
)
_MEASURAND_KEYS = frozenset(
    {"MeterValuesAlignedData", "MeterValuesSampledData", "StopTxnSampledData"}
)
_MEASURANDS = frozenset(str(measurand) for measurand in enums.Measurand)


class ConfigurationKey(NamedTuple):
    """Value of a configuration key and whether the central system may change it."""

    value: str
    readonly: bool


def default_configuration(connectors: int) -> dict[str, ConfigurationKey]:
    """Return the factory configuration of a charge point with `connectors`."""
    writable = {
        "HeartbeatInterval": "300",
        "MeterValueSampleInterval": "60",
        "ClockAlignedDataInterval": "0",
        "MeterValuesSampledData": SAMPLED_MEASURANDS,
        "MeterValuesAlignedData": "Energy.Active.Import.Register",
        "StopTxnSampledData": "Energy.Active.Import.Register",
        "WebSocketPingInterval": "20",
        "ConnectionTimeOut": "60",
        "AuthorizeRemoteTxRequests": "false",
        "LocalAuthorizeOffline": "true",
        "LocalAuthListEnabled": "true",
        "AuthorizationCacheEnabled": "true",
        "AllowOfflineTxForUnknownId": "false",
    }
    # OCPP 1.6 defines these as read-only ("R" in the key tables).
    readonly = {
        "NumberOfConnectors": str(connectors),
        "SupportedFeatureProfiles": FEATURE_PROFILES,
        "ChargeProfileMaxStackLevel": "8",
        "ChargingScheduleAllowedChargingRateUnit": "Current,Power",
        "ChargingScheduleMaxPeriods": "24",
        # Charging profiles may move a session to fewer phases (numberPhases).
        "ConnectorSwitch3to1PhaseSupported": "true",
        "LocalAuthListMaxLength": "100",
        "SendLocalListMaxLength": "100",
    }
    configuration = {key: ConfigurationKey(value, False) for key, value in writable.items()}
    configuration.update({key: ConfigurationKey(value, True) for key, value in readonly.items()})
    return configuration


def find_key(configuration: dict[str, ConfigurationKey], key: str) -> str | None:
    """Return the stored spelling of `key`; OCPP keys are case-insensitive."""
    if key in configuration:
        return key
    wanted = key.casefold()
    return next((name for name in configuration if name.casefold() == wanted), None)


def normalized_value(key: str, value: str) -> str | None:
    """Return `value` as stored for `key`, or None when a charger would reject it."""
    value = value.strip()
    if key in _INTEGER_KEYS:
        return str(int(value)) if value.isdigit() else None
    if key in _BOOLEAN_KEYS:
        return value.lower() if value.lower() in {"true", "false"} else None
    if key in _MEASURAND_KEYS:
        items = [item.strip() for item in value.split(",") if item.strip()]
        return ",".join(items) if all(item in _MEASURANDS for item in items) else None
    return value


def as_int(configuration: dict[str, ConfigurationKey], key: str) -> int:
    """Integer value of `key`, 0 when missing or malformed."""
    entry = configuration.get(key)
    if entry is None or not entry.value.strip().isdigit():
        return 0
    return int(entry.value)


def as_bool(configuration: dict[str, ConfigurationKey], key: str) -> bool:
    """Boolean value of `key`, False when missing."""
    entry = configuration.get(key)
    return entry is not None and entry.value.strip().lower() == "true"


def as_set(configuration: dict[str, ConfigurationKey], key: str) -> frozenset[str]:
    """Comma separated list value of `key` as a set."""
    entry = configuration.get(key)
    if entry is None:
        return frozenset()
    return frozenset(item.strip() for item in entry.value.split(",") if item.strip())
