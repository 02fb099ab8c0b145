"""Config flow: one entry per OCPP server (listening address and port)."""

from __future__ import annotations

from contextlib import ExitStack
import errno
import ipaddress
import socket
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.helpers import selector
import probatio

from .const import DEFAULT_HOST, DEFAULT_PORT, DOMAIN

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


class CsmsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an OCPP server."""

    VERSION = 1
    MINOR_VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the listening address and port."""
        return await self._async_step_address("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Move the server to another address or port."""
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
