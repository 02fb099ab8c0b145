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
from urllib.parse import quote

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_HOST,
    CONF_NAME,
    CONF_PORT,
    UnitOfElectricCurrent,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import selector
from homeassistant.util import dt as dt_util
from ocpp.v16.enums import AuthorizationStatus
import probatio

from .central.authorization import MAX_ID_TAG_LENGTH, TAG_STATUSES, IdTagRecord
from .central.commissioning import SUPPORTED_MEASURANDS
from .central.passwords import generate_password
from .central.server import charge_point_id_from_path
from .charger_security import async_set_password
from .const import (
    CERTIFICATE_SIGNING_EXTERNAL,
    CERTIFICATE_SIGNING_LOCAL_CA,
    CONF_CERTIFICATE_FILE,
    CONF_CERTIFICATE_SIGNING,
    CONF_CHARGE_POINT_ID,
    CONF_CLIENT_CA_FILE,
    CONF_ENERGY_PRICE,
    CONF_GRID_SENSOR,
    CONF_LEDGER_RETENTION,
    CONF_LOAD_MANAGEMENT,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_CURRENT,
    CONF_MAX_FRAME_KIB,
    CONF_MEASURANDS,
    CONF_ONBOARDING,
    CONF_PHASES,
    CONF_PRICE_ENTITY,
    CONF_PRIORITY,
    CONF_PRIVATE_KEY_FILE,
    CONF_PUSH_CONFIGURATION,
    CONF_REMOTE_START_ID_TAG,
    CONF_SAMPLE_INTERVAL,
    CONF_SERVER_ENTRY_ID,
    CONF_SET_PASSWORD,
    CONF_SITE_CURRENT_LIMIT,
    CONF_SITE_POWER_LIMIT,
    CONF_SOLAR_ONLY,
    CONF_TLS_PORT,
    CONF_UNKNOWN_ID_TAGS,
    DEFAULT_HOST,
    DEFAULT_LEDGER_RETENTION_MONTHS,
    DEFAULT_PORT,
    DOMAIN,
    ONBOARDING_ACCEPT,
    ONBOARDING_ASK,
    ONBOARDING_REFUSE,
    UNKNOWN_ID_TAGS_ACCEPTED,
    UNKNOWN_ID_TAGS_INVALID,
)
from .hub import async_get_hub
from .id_tags import (
    ATTR_CHARGE_POINTS,
    ATTR_EXPIRY_DATE,
    ATTR_GROUP_LIMIT,
    ATTR_PARENT_ID_TAG,
    ATTR_STATUS,
    ATTR_TENANT,
    ID_TAGS,
    apply_changes,
    known_charge_points,
)
from .options import charge_point_options
from .server_security import DEFAULT_LIMITS, TlsSetupError, load_ssl_context, tls_files
from .site import GRID_POWER_UNITS, GRID_SENSOR_UNITS

ATTR_ID_TAG = "id_tag"

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
            probatio.Required(CONF_PHASES, default=str(options[CONF_PHASES])): _list_selector(
                CONF_PHASES, ["1", "3"]
            ),
            probatio.Required(CONF_MAX_CURRENT, default=options[CONF_MAX_CURRENT]): _number(
                6, 80, UnitOfElectricCurrent.AMPERE
            ),
            probatio.Required(CONF_PRIORITY, default=options[CONF_PRIORITY]): _number(0, 10),
        }
    )


def _number(minimum: float, maximum: float, unit: str | None = None) -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(
        min=minimum, max=maximum, step=1, mode=selector.NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def _settings_from_input(user_input: dict[str, Any]) -> dict[str, Any]:
    settings = dict(user_input)
    settings.pop(CONF_NAME)
    for key in (CONF_SAMPLE_INTERVAL, CONF_PHASES, CONF_MAX_CURRENT, CONF_PRIORITY):
        settings[key] = int(settings[key])
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


_SECURITY_OPTIONS = (
    CONF_TLS_PORT,
    CONF_CERTIFICATE_FILE,
    CONF_PRIVATE_KEY_FILE,
    CONF_CLIENT_CA_FILE,
    CONF_CERTIFICATE_SIGNING,
    CONF_MAX_CONNECTIONS,
    CONF_MAX_FRAME_KIB,
)


def check_charge_point_id(charge_point_id: str) -> str | None:
    """An id a charger can put at the end of the server's URL, as the server reads it."""
    if charge_point_id_from_path(f"/{quote(charge_point_id, safe='')}") != charge_point_id:
        return "invalid_charge_point_id"
    return None


_SITE_OPTIONS = (
    CONF_LOAD_MANAGEMENT,
    CONF_SITE_CURRENT_LIMIT,
    CONF_SITE_POWER_LIMIT,
    CONF_GRID_SENSOR,
    CONF_SOLAR_ONLY,
)


def _check_site(hass: HomeAssistant, user_input: dict[str, Any]) -> str | None:
    """An error key for load management settings that cannot work, else None."""
    sensor = user_input.get(CONF_GRID_SENSOR)
    state = hass.states.get(sensor) if sensor else None
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) if state is not None else None
    if state is not None and unit not in GRID_SENSOR_UNITS:
        return "grid_sensor_unit"
    # The surplus is the power exported: only a power sensor shows it.
    if user_input[CONF_SOLAR_ONLY] and (state is None or unit not in GRID_POWER_UNITS):
        return "grid_power_sensor_required"
    if (
        user_input[CONF_LOAD_MANAGEMENT]
        and not user_input[CONF_SOLAR_ONLY]
        and CONF_SITE_CURRENT_LIMIT not in user_input
        and CONF_SITE_POWER_LIMIT not in user_input
    ):
        return "site_limit_required"
    return None


class CsmsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an OCPP server, or accept a charger that connected to one."""

    VERSION = 1
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Start with no discovered charger."""
        self._discovery: dict[str, Any] = {}
        self._title = ""

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
            # The server accepts every charger, or the installer added this one.
            return self._create_charge_point_entry(
                discovery_info.get(CONF_NAME) or charge_point_id, {}
            )
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
            if name and user_input.get(CONF_SET_PASSWORD):
                self._title = name
                return await self.async_step_charger_password()
            if name:
                return self._create_charge_point_entry(name, {})
            errors[CONF_NAME] = "name_required"
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_NAME, default=charge_point_id): selector.TextSelector(),
                    probatio.Required(CONF_SET_PASSWORD, default=True): selector.BooleanSelector(),
                }
            ),
            description_placeholders={
                "charge_point_id": charge_point_id,
                "vendor": self._discovery.get("vendor") or "-",
                "model": self._discovery.get("model") or "-",
                "serial_number": self._discovery.get("serial_number") or "-",
            },
            errors=errors,
        )

    async def async_step_charger_password(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Give the charger a password and show it once (security profile 1)."""
        charge_point_id: str = self._discovery[CONF_CHARGE_POINT_ID]
        hub = await async_get_hub(self.hass, self._discovery[CONF_SERVER_ENTRY_ID])
        password = generate_password()
        try:
            sent = await async_set_password(self.hass, hub, charge_point_id, password)
        except HomeAssistantError:
            # The charger did not take it over OCPP: the installer enters it there.
            await async_set_password(self.hass, hub, charge_point_id, password, send=False)
            sent = False
        return self.async_show_form(
            # The text differs: whether the installer still has to enter it.
            step_id="password_sent" if sent else "password_manual",
            description_placeholders={"charge_point_id": charge_point_id, "password": password},
            last_step=True,
        )

    async def async_step_password_sent(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The installer has seen the password: add the charger."""
        return self._create_charge_point_entry(self._title, {})

    async def async_step_password_manual(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The installer has noted the password to enter at the charger: add the charger."""
        return self._create_charge_point_entry(self._title, {})

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
    """A server's policies, and the id tags of every server."""

    def __init__(self) -> None:
        """No tag chosen yet."""
        self._id_tag: str | None = None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Start at the menu (a step of its own: "init" is a charger's form)."""
        return await self.async_step_server()

    async def async_step_server(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the server's settings and the id tags."""
        menu = ["settings", "security", "add_charger", "load_management", "add_tag"]
        if self.hass.data[ID_TAGS].records:
            menu += ["edit_tag", "remove_tag"]
        return self.async_show_menu(step_id="server", menu_options=menu)

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the onboarding and unknown id tag policies, the price and the retention."""
        if user_input is not None:
            # An emptied optional field is missing from the input: it is cleared.
            kept = {
                key: value
                for key, value in self.config_entry.options.items()
                if key not in (CONF_ENERGY_PRICE, CONF_PRICE_ENTITY)
            }
            return self.async_create_entry(data={**kept, **user_input})
        options = self.config_entry.options
        schema = probatio.Schema(
            {
                probatio.Required(
                    CONF_ONBOARDING, default=options.get(CONF_ONBOARDING, ONBOARDING_ASK)
                ): _list_selector(
                    CONF_ONBOARDING, [ONBOARDING_ASK, ONBOARDING_ACCEPT, ONBOARDING_REFUSE]
                ),
                probatio.Required(
                    CONF_UNKNOWN_ID_TAGS,
                    default=options.get(CONF_UNKNOWN_ID_TAGS, UNKNOWN_ID_TAGS_INVALID),
                ): _list_selector(
                    CONF_UNKNOWN_ID_TAGS, [UNKNOWN_ID_TAGS_INVALID, UNKNOWN_ID_TAGS_ACCEPTED]
                ),
                probatio.Optional(CONF_ENERGY_PRICE): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=0, max=100, step="any", mode=selector.NumberSelectorMode.BOX
                    )
                ),
                probatio.Optional(CONF_PRICE_ENTITY): selector.EntitySelector(
                    selector.EntitySelectorConfig(domain=["sensor", "input_number", "number"])
                ),
                probatio.Required(
                    CONF_LEDGER_RETENTION,
                    default=options.get(CONF_LEDGER_RETENTION, DEFAULT_LEDGER_RETENTION_MONTHS),
                ): probatio.All(
                    selector.NumberSelector(
                        selector.NumberSelectorConfig(
                            min=1, max=120, step=1, mode=selector.NumberSelectorMode.BOX
                        )
                    ),
                    probatio.Coerce(int),
                ),
            }
        )
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(schema, dict(options)),
        )

    async def async_step_security(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the TLS port and its files, the limits and who signs certificates."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            if (error := await self._async_check_security(user_input)) is None:
                kept = {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if key not in _SECURITY_OPTIONS
                }
                # A new port or certificate takes a restart of the server.
                self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
                return self.async_create_entry(data={**kept, **user_input})
            errors["base"], placeholders["error"] = error
        schema = probatio.Schema(
            {
                probatio.Optional(CONF_TLS_PORT): probatio.All(
                    _PORT_SELECTOR, probatio.Coerce(int)
                ),
                probatio.Optional(CONF_CERTIFICATE_FILE): selector.TextSelector(),
                probatio.Optional(CONF_PRIVATE_KEY_FILE): selector.TextSelector(),
                probatio.Optional(CONF_CLIENT_CA_FILE): selector.TextSelector(),
                probatio.Required(
                    CONF_CERTIFICATE_SIGNING, default=CERTIFICATE_SIGNING_LOCAL_CA
                ): _list_selector(
                    CONF_CERTIFICATE_SIGNING,
                    [CERTIFICATE_SIGNING_LOCAL_CA, CERTIFICATE_SIGNING_EXTERNAL],
                ),
                probatio.Required(
                    CONF_MAX_CONNECTIONS, default=DEFAULT_LIMITS.max_connections
                ): probatio.All(_number(10, 100_000), probatio.Coerce(int)),
                probatio.Required(
                    CONF_MAX_FRAME_KIB, default=DEFAULT_LIMITS.max_frame_bytes // 1024
                ): probatio.All(_number(64, 16_384, "KiB"), probatio.Coerce(int)),
            }
        )
        return self.async_show_form(
            step_id="security",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or dict(self.config_entry.options)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_check_security(self, user_input: dict[str, Any]) -> tuple[str, str] | None:
        """An error key and detail, or None when the TLS port can be opened."""
        tls_port = user_input.get(CONF_TLS_PORT)
        if not tls_port:
            return None
        data = self.config_entry.data
        running = self.config_entry.state is ConfigEntryState.LOADED
        server = self.config_entry.runtime_data.server if running else None
        if tls_port in (data[CONF_PORT], server.port if server is not None else None):
            return "tls_port_taken", ""
        in_use_by_us = running and self.config_entry.options.get(CONF_TLS_PORT) == tls_port
        if not in_use_by_us and (
            error := await self.hass.async_add_executor_job(
                check_address, data[CONF_HOST], tls_port
            )
        ):
            return error, ""
        files = tls_files(self.hass, user_input)
        if files is None:
            return "no_certificate", ""
        try:
            await self.hass.async_add_executor_job(load_ssl_context, files)
        except TlsSetupError as err:
            return "tls_files", err.reason
        return None

    async def async_step_add_charger(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a charger before it first connects, with a password to enter at the charger."""
        errors: dict[str, str] = {}
        if user_input is not None:
            charge_point_id = user_input[CONF_CHARGE_POINT_ID].strip()
            if (error := check_charge_point_id(charge_point_id)) is not None:
                errors[CONF_CHARGE_POINT_ID] = error
            elif self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charge_point_id):
                errors[CONF_CHARGE_POINT_ID] = "charger_exists"
            else:
                return await self._async_add_charger(charge_point_id, user_input)
        schema = probatio.Schema(
            {
                probatio.Required(CONF_CHARGE_POINT_ID): selector.TextSelector(),
                probatio.Optional(CONF_NAME): selector.TextSelector(),
                probatio.Required(CONF_SET_PASSWORD, default=True): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="add_charger",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

    async def _async_add_charger(
        self, charge_point_id: str, user_input: dict[str, Any]
    ) -> ConfigFlowResult:
        server_entry_id = self.config_entry.entry_id
        flows = self.hass.config_entries.flow
        for flow in flows.async_progress_by_handler(DOMAIN):
            # It waits as a discovered charger: adding it here answers that too.
            if flow["context"].get("unique_id") == charge_point_id:
                flows.async_abort(flow["flow_id"])
        await flows.async_init(
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={
                CONF_SERVER_ENTRY_ID: server_entry_id,
                CONF_CHARGE_POINT_ID: charge_point_id,
                CONF_NAME: (user_input.get(CONF_NAME) or "").strip() or None,
                "accept": True,
            },
        )
        password: str | None = None
        if user_input[CONF_SET_PASSWORD]:
            hub = await async_get_hub(self.hass, server_entry_id)
            password = generate_password()
            # Entered at the charger by the installer: required from its next connection.
            await async_set_password(self.hass, hub, charge_point_id, password, send=False)
        if password is None:
            return self.async_create_entry(data=dict(self.config_entry.options))
        return self.async_show_form(
            step_id="charger_added",
            description_placeholders={"charge_point_id": charge_point_id, "password": password},
            last_step=True,
        )

    async def async_step_charger_added(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The installer has noted the password: done, nothing changes in the server's options."""
        return self.async_create_entry(data=dict(self.config_entry.options))

    async def async_step_load_management(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the site's limits and the grid sensor load management follows."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if (error := _check_site(self.hass, user_input)) is None:
                # An emptied optional field is missing from the input: it is cleared.
                kept = {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if key not in _SITE_OPTIONS
                }
                return self.async_create_entry(data={**kept, **user_input})
            errors["base"] = error
        schema = probatio.Schema(
            {
                probatio.Required(CONF_LOAD_MANAGEMENT, default=False): selector.BooleanSelector(),
                probatio.Optional(CONF_SITE_CURRENT_LIMIT): _number(
                    6, 10_000, UnitOfElectricCurrent.AMPERE
                ),
                probatio.Optional(CONF_SITE_POWER_LIMIT): _number(
                    1000, 10_000_000, UnitOfPower.WATT
                ),
                probatio.Optional(CONF_GRID_SENSOR): selector.EntitySelector(
                    selector.EntitySelectorConfig(
                        domain="sensor",
                        device_class=[SensorDeviceClass.CURRENT, SensorDeviceClass.POWER],
                    )
                ),
                probatio.Required(CONF_SOLAR_ONLY, default=False): selector.BooleanSelector(),
            }
        )
        return self.async_show_form(
            step_id="load_management",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or dict(self.config_entry.options)
            ),
            errors=errors,
        )

    async def async_step_add_tag(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Register an id tag: a card read at a charger is one pick away."""
        registry = self.hass.data[ID_TAGS]
        errors: dict[str, str] = {}
        if user_input is not None:
            id_tag = str(user_input[ATTR_ID_TAG]).strip()
            if not 0 < len(id_tag) <= MAX_ID_TAG_LENGTH:
                errors[ATTR_ID_TAG] = "invalid_id_tag"
            elif id_tag in registry.records:
                errors[ATTR_ID_TAG] = "id_tag_exists"
            elif (error := await self._async_save(IdTagRecord(id_tag), user_input)) is None:
                return self.async_create_entry(data=dict(self.config_entry.options))
            else:
                errors["base"] = error
        schema = probatio.Schema(
            {
                probatio.Required(ATTR_ID_TAG): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=[
                            selector.SelectOptionDict(value=id_tag, label=label)
                            for id_tag, label in registry.unregistered_tags().items()
                        ],
                        custom_value=True,
                        mode=selector.SelectSelectorMode.DROPDOWN,
                    )
                ),
                **self._record_fields(),
            }
        )
        return self.async_show_form(
            step_id="add_tag",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or {}),
            errors=errors,
        )

    async def async_step_edit_tag(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the id tag to change."""
        if user_input is not None:
            self._id_tag = user_input[ATTR_ID_TAG]
            return await self.async_step_tag()
        return self.async_show_form(
            step_id="edit_tag",
            data_schema=probatio.Schema({probatio.Required(ATTR_ID_TAG): self._tag_selector()}),
        )

    async def async_step_tag(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change an id tag's name, standing, group, tenant and chargers."""
        registry = self.hass.data[ID_TAGS]
        assert self._id_tag is not None
        record = registry.records[self._id_tag]
        errors: dict[str, str] = {}
        if user_input is not None:
            if (error := await self._async_save(record, user_input)) is None:
                return self.async_create_entry(data=dict(self.config_entry.options))
            errors["base"] = error
        current = user_input or _form_values(record, registry.name(record.id_tag))
        return self.async_show_form(
            step_id="tag",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(self._record_fields(record)), current
            ),
            description_placeholders={"id_tag": record.id_tag},
            errors=errors,
        )

    async def async_step_remove_tag(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Forget id tags (their Home Assistant tags stay)."""
        registry = self.hass.data[ID_TAGS]
        if user_input is not None:
            for id_tag in user_input[ATTR_ID_TAG]:
                await registry.async_remove(id_tag)
            return self.async_create_entry(data=dict(self.config_entry.options))
        return self.async_show_form(
            step_id="remove_tag",
            data_schema=probatio.Schema(
                {probatio.Required(ATTR_ID_TAG): self._tag_selector(multiple=True)}
            ),
        )

    def _tag_selector(self, *, multiple: bool = False) -> selector.SelectSelector:
        registry = self.hass.data[ID_TAGS]
        options = []
        for id_tag, record in sorted(registry.records.items()):
            details = [detail for detail in (registry.name(id_tag), record.tenant) if detail]
            label = f"{id_tag} ({', '.join(details)})" if details else id_tag
            options.append(selector.SelectOptionDict(value=id_tag, label=label))
        return selector.SelectSelector(
            selector.SelectSelectorConfig(
                options=options, multiple=multiple, mode=selector.SelectSelectorMode.DROPDOWN
            )
        )

    def _record_fields(self, record: IdTagRecord | None = None) -> dict[Any, Any]:
        """The form fields of an id tag; an empty optional field clears it."""
        # A removed charger the tag still names stays selectable (by its id).
        charge_points = {
            **dict.fromkeys(record.charge_points or () if record else ()),
            **known_charge_points(self.hass),
        }
        return {
            probatio.Optional(CONF_NAME): selector.TextSelector(),
            probatio.Required(ATTR_STATUS, default=str(AuthorizationStatus.accepted)): (
                selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=list(TAG_STATUSES),
                        translation_key=ATTR_STATUS,
                        mode=selector.SelectSelectorMode.DROPDOWN,
                    )
                )
            ),
            probatio.Optional(ATTR_EXPIRY_DATE): selector.DateTimeSelector(),
            probatio.Optional(ATTR_PARENT_ID_TAG): selector.TextSelector(),
            probatio.Optional(ATTR_TENANT): selector.TextSelector(),
            probatio.Optional(ATTR_CHARGE_POINTS): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=[
                        selector.SelectOptionDict(
                            value=charge_point_id, label=title or charge_point_id
                        )
                        for charge_point_id, title in sorted(charge_points.items())
                    ],
                    multiple=True,
                    mode=selector.SelectSelectorMode.DROPDOWN,
                )
            ),
            probatio.Optional(ATTR_GROUP_LIMIT): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=1, max=1000, step=1, mode=selector.NumberSelectorMode.BOX
                )
            ),
        }

    async def _async_save(self, record: IdTagRecord, user_input: dict[str, Any]) -> str | None:
        """Store the form's id tag (new or changed); an error key when it cannot be."""
        registry = self.hass.data[ID_TAGS]
        # The date selector lets only valid dates through.
        expiry_text = user_input.get(ATTR_EXPIRY_DATE)
        expiry = dt_util.parse_datetime(expiry_text) if expiry_text else None
        parent = str(user_input.get(ATTR_PARENT_ID_TAG) or "").strip()
        if len(parent) > MAX_ID_TAG_LENGTH:
            return "invalid_parent_id_tag"
        limit = user_input.get(ATTR_GROUP_LIMIT)
        changes = {
            ATTR_STATUS: user_input[ATTR_STATUS],
            ATTR_EXPIRY_DATE: expiry,
            ATTR_PARENT_ID_TAG: parent,
            ATTR_TENANT: user_input.get(ATTR_TENANT),
            ATTR_CHARGE_POINTS: user_input.get(ATTR_CHARGE_POINTS),
            ATTR_GROUP_LIMIT: int(limit) if limit else None,
        }
        try:
            record = apply_changes(record, changes, known_charge_points(self.hass))
        except ServiceValidationError as err:
            return str(err.translation_key)
        name = str(user_input.get(CONF_NAME) or "").strip() or None
        if record.id_tag in registry.records:
            await registry.async_update(record, name)
        else:
            await registry.async_add(record, name)
        return None


def _list_selector(translation_key: str, options: list[str]) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=options,
            translation_key=translation_key,
            mode=selector.SelectSelectorMode.LIST,
        )
    )


def _form_values(record: IdTagRecord, name: str | None) -> dict[str, Any]:
    """An id tag's fields as the form shows them."""
    values: dict[str, Any] = {
        CONF_NAME: name,
        ATTR_STATUS: str(record.status),
        ATTR_EXPIRY_DATE: (
            dt_util.as_local(record.expiry_date).strftime("%Y-%m-%d %H:%M:%S")
            if record.expiry_date
            else None
        ),
        ATTR_PARENT_ID_TAG: record.parent_id_tag,
        ATTR_TENANT: record.tenant,
        ATTR_CHARGE_POINTS: sorted(record.charge_points) if record.charge_points else None,
        ATTR_GROUP_LIMIT: record.group_limit,
    }
    return {key: value for key, value in values.items() if value is not None}


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
