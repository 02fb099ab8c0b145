"""Config flow: OCPP servers, and the chargers that connect to them.

A server entry is set up by the user (listening address and port). A
charge point entry comes from a discovery flow the server starts when an
unknown charger boots: the user accepts it (or ignores it), or the server
accepts every charger on its own.
"""

from __future__ import annotations

from contextlib import ExitStack
import errno
import ipaddress
import socket
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers import selector
import probatio

from .central.commissioning import SUPPORTED_MEASURANDS
from .const import (
    CONF_CHARGE_POINT_ID,
    CONF_MEASURANDS,
    CONF_ONBOARDING,
    CONF_PUSH_CONFIGURATION,
    CONF_REMOTE_START_ID_TAG,
    CONF_SAMPLE_INTERVAL,
    CONF_SERVER_ENTRY_ID,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DOMAIN,
    ONBOARDING_ACCEPT,
    ONBOARDING_ASK,
)
from .runtime import charge_point_options

_PORT_SELECTOR = selector.NumberSelector(
    selector.NumberSelectorConfig(min=1, max=65535, step=1, mode=selector.NumberSelectorMode.BOX)
)


def _schema(host: str, port: int) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_HOST, default=host): selector.TextSelector(),
            probatio.Required(CONF_PORT, default=port): _PORT_SELECTOR,
        }
    )


def check_host(host: str) -> str | None:
    """The bind address must be an IP address of this machine (or 0.0.0.0 / ::)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "invalid_host"
    return None


def _bind_targets(host: str) -> list[tuple[socket.AddressFamily, str]]:
    """The sockets the server binds for a host (see ``central.server.listen_host``)."""
    if host == "::":
        return [(socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")]
    if ipaddress.ip_address(host).version == 6:
        return [(socket.AF_INET6, host)]
    return [(socket.AF_INET, host)]


def check_address(host: str, port: int) -> str | None:
    """Try to bind the address as the server will; an error key, or None when free."""
    if error := check_host(host):
        return error
    with ExitStack() as sockets:
        for family, address in _bind_targets(host):
            sock = sockets.enter_context(socket.socket(family, socket.SOCK_STREAM))
            # The server binds the same way (asyncio sets these options).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((address, port))
            except OSError as err:
                if err.errno == errno.EADDRINUSE:
                    return "port_in_use"
                if err.errno == errno.EACCES:
                    return "port_forbidden"
                return "cannot_bind"
    return None


def _charge_point_schema(name: str, options: dict[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_NAME, default=name): selector.TextSelector(),
            probatio.Required(
                CONF_PUSH_CONFIGURATION, default=options[CONF_PUSH_CONFIGURATION]
            ): selector.BooleanSelector(),
            probatio.Required(
                CONF_SAMPLE_INTERVAL, default=options[CONF_SAMPLE_INTERVAL]
            ): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=5,
                    max=3600,
                    step=1,
                    unit_of_measurement="s",
                    mode=selector.NumberSelectorMode.BOX,
                )
            ),
            probatio.Required(CONF_MEASURANDS, default=options[CONF_MEASURANDS]): (
                selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=list(SUPPORTED_MEASURANDS),
                        multiple=True,
                        mode=selector.SelectSelectorMode.LIST,
                    )
                )
            ),
            probatio.Required(
                CONF_REMOTE_START_ID_TAG, default=options[CONF_REMOTE_START_ID_TAG]
            ): selector.TextSelector(),
        }
    )


def _settings_from_input(user_input: dict[str, Any]) -> dict[str, Any]:
    settings = dict(user_input)
    settings.pop(CONF_NAME)
    settings[CONF_SAMPLE_INTERVAL] = int(settings[CONF_SAMPLE_INTERVAL])
    settings[CONF_REMOTE_START_ID_TAG] = settings[CONF_REMOTE_START_ID_TAG].strip()
    return settings


def _check_settings(user_input: dict[str, Any]) -> str | None:
    """An error key for settings a charger could not take, else None."""
    if not user_input[CONF_NAME].strip():
        return "name_required"
    if not user_input[CONF_MEASURANDS]:
        return "measurands_required"
    # IdToken is CiString20Type (OCPP 1.6 section 7.17).
    if not 0 < len(user_input[CONF_REMOTE_START_ID_TAG].strip()) <= 20:
        return "invalid_id_tag"
    return None


class CsmsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an OCPP server, or accept a charger that connected to one."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with no discovered charger."""
        self._discovery: dict[str, Any] = {}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Charge point settings, or a server's onboarding policy."""
        if CONF_CHARGE_POINT_ID in config_entry.data:
            return ChargePointOptionsFlow()
        return ServerOptionsFlow()

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """An unknown charger booted at one of our servers."""
        charge_point_id: str = discovery_info[CONF_CHARGE_POINT_ID]
        await self.async_set_unique_id(charge_point_id)
        self._abort_if_unique_id_configured()
        self._discovery = discovery_info
        if discovery_info.get("accept"):
            # The server accepts every charger.
            return self._create_charge_point_entry(charge_point_id, {})
        self.context["title_placeholders"] = {"name": self._describe()}
        return await self.async_step_discovery_confirm()

    def _describe(self) -> str:
        """'CP001 — Vendor Model Serial', as much as the charger told."""
        info = self._discovery
        details = " ".join(
            str(info[key]) for key in ("vendor", "model", "serial_number") if info.get(key)
        )
        charge_point_id = info[CONF_CHARGE_POINT_ID]
        return f"{charge_point_id} — {details}" if details else charge_point_id

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user accept the charger, naming it."""
        charge_point_id: str = self._discovery[CONF_CHARGE_POINT_ID]
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if name:
                return self._create_charge_point_entry(name, {})
            errors[CONF_NAME] = "name_required"
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=probatio.Schema(
                {probatio.Required(CONF_NAME, default=charge_point_id): selector.TextSelector()}
            ),
            description_placeholders={
                "charge_point_id": charge_point_id,
                "vendor": self._discovery.get("vendor") or "-",
                "model": self._discovery.get("model") or "-",
                "serial_number": self._discovery.get("serial_number") or "-",
            },
            errors=errors,
        )

    def _create_charge_point_entry(self, title: str, options: dict[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(
            title=title,
            data={
                CONF_SERVER_ENTRY_ID: self._discovery[CONF_SERVER_ENTRY_ID],
                CONF_CHARGE_POINT_ID: self._discovery[CONF_CHARGE_POINT_ID],
            },
            options=options,
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the listening address and port."""
        return await self._async_step_address("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the server to another address or port."""
        if CONF_CHARGE_POINT_ID in self._get_reconfigure_entry().data:
            # A charger's settings are its options ("Configure").
            return self.async_abort(reason="charge_point_reconfigure")
        return await self._async_step_address("reconfigure", user_input)

    async def _async_step_address(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        reconfiguring = self.source == SOURCE_RECONFIGURE
        current: dict[str, Any] = (
            dict(self._get_reconfigure_entry().data)
            if reconfiguring
            else {CONF_HOST: DEFAULT_HOST, CONF_PORT: DEFAULT_PORT}
        )
        errors: dict[str, str] = {}
        if user_input is not None:
            host = user_input[CONF_HOST].strip()
            port = int(user_input[CONF_PORT])
            # One server per port: the port is the entry's unique id.
            if not reconfiguring or port != current[CONF_PORT]:
                await self.async_set_unique_id(str(port))
                self._abort_if_unique_id_configured()
                error = await self.hass.async_add_executor_job(check_address, host, port)
            else:
                # Our own running server holds the port; only the host can be checked.
                error = check_host(host)
            if error is None:
                data = {CONF_HOST: host, CONF_PORT: port}
                if reconfiguring:
                    return self.async_update_reload_and_abort(
                        self._get_reconfigure_entry(),
                        unique_id=str(port),
                        title=_title(port),
                        data=data,
                    )
                return self.async_create_entry(title=_title(port), data=data)
            errors["base"] = error
            current = {CONF_HOST: host, CONF_PORT: port}
        return self.async_show_form(
            step_id=step_id,
            data_schema=_schema(current[CONF_HOST], current[CONF_PORT]),
            errors=errors,
        )


def _title(port: int) -> str:
    return f"OCPP server on port {port}"


class ServerOptionsFlow(OptionsFlow):
    """What a server does with chargers it does not know."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the onboarding policy."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        current = self.config_entry.options.get(CONF_ONBOARDING, ONBOARDING_ASK)
        return self.async_show_form(
            step_id="init",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_ONBOARDING, default=current): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=[ONBOARDING_ASK, ONBOARDING_ACCEPT],
                            translation_key=CONF_ONBOARDING,
                            mode=selector.SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
        )


class ChargePointOptionsFlow(OptionsFlow):
    """A charger's name and how the central system configures it."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the settings, with the facts the charger reported."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        name = entry.title
        options = charge_point_options(entry.options)
        if user_input is not None:
            if (error := _check_settings(user_input)) is None:
                self.hass.config_entries.async_update_entry(
                    entry, title=user_input[CONF_NAME].strip()
                )
                return self.async_create_entry(data=_settings_from_input(user_input))
            errors["base"] = error
            name = user_input[CONF_NAME]
            options = _settings_from_input(user_input)
        return self.async_show_form(
            step_id="init",
            data_schema=_charge_point_schema(name, charge_point_options(options)),
            description_placeholders=_facts(entry),
            errors=errors,
        )


def _facts(entry: ConfigEntry) -> dict[str, str]:
    """What the charger reported about itself, for the settings form."""
    runtime = getattr(entry, "runtime_data", None)
    charge_point = runtime.charge_point if runtime is not None else None
    configuration = charge_point.configuration if charge_point is not None else {}

    def known(value: str | None) -> str:
        return value or "-"

    return {
        "charge_point_id": entry.data[CONF_CHARGE_POINT_ID],
        "vendor": known(charge_point.vendor if charge_point else None),
        "model": known(charge_point.model if charge_point else None),
        "serial_number": known(charge_point.serial_number if charge_point else None),
        "firmware_version": known(charge_point.firmware_version if charge_point else None),
        "connectors": known(configuration.get("NumberOfConnectors")),
        "feature_profiles": known(configuration.get("SupportedFeatureProfiles")),
    }
