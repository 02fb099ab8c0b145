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
        # Security Whitepaper edition 2. AuthorizationKey is write-only: the
        # password it sets lives in the charge point, never in this table.
        "SecurityProfile": "0",
        "AuthorizationKey": "",
        # Security extension: the organizationName of the charger's CSR.
        "CpoName": "Csms Simulator CPO",
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
        # Security extension keys the whitepaper makes read-only.
        "CertificateSignedMaxChainSize": "10000",
        "CertificateStoreMaxLength": "10",
        "AdditionalRootCertificateCheck": "false",
    }
    configuration = {key: ConfigurationKey(value, False) for key, value in writable.items()}
    configuration.update({key: ConfigurationKey(value, True) for key, value in readonly.items()})
    return configuration


def password_from_authorization_key(value: str) -> str | None:
    """The password an AuthorizationKey value sets; None when a charger would reject it.

    Whitepaper edition 2: the hexadecimal representation of 16 to 20 bytes.
    Bytes that are no password text (control characters, ':' that would end
    the user name of a Basic header) make the key itself the password, as
    chargers that use the key verbatim do.
    """
    if not 32 <= len(value) <= 40 or len(value) % 2:
        return None
    try:
        decoded = bytes.fromhex(value)
    except ValueError:
        return None
    if not all(0x21 <= byte <= 0x7E and byte != ord(":") for byte in decoded):
        return value
    return decoded.decode("ascii")


def accepts_security_profile(
    current: int, value: str, *, has_password: bool, has_tls: bool
) -> bool:
    """Whether a charger takes SecurityProfile `value` (0-3).

    Never lower than now (no downgrade); 1 and 2 need a password, 2 and 3
    a TLS setup.
    """
    if value not in {"0", "1", "2", "3"}:
        return False
    profile = int(value)
    if profile < current:
        return False
    if profile in (1, 2) and not has_password:
        return False
    return not (profile >= 2 and not has_tls)


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
