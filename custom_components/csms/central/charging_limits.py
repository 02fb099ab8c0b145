"""The charging profiles csms keeps on a charger for its limits.

Each has a fixed id, so a new one replaces its predecessor on the charger
(OCPP 1.6 section 5.16.3):

- ChargePointMaxProfile on connector 0: the charge point's own limit;
- TxDefaultProfile on each connector: its limit for any session (at most its
  failsafe share of the site under load management);
- TxProfile for a connector's running transaction: its limit now (at most
  its share of the site). Under load management it is valid for a lease
  only and renewed while the central system is there: a charger that loses
  it falls back to its failsafe default, which keeps the building's fuse safe.

A per-connector limit is never written to connector 0, so it never touches
another connector. A profile the charger already holds is not sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
from typing import Any

from .model import CHARGE_POINT_CONNECTOR_ID, ChargePoint, Connector, Transaction
from .smart_charging import (
    CHARGE_POINT_MAX_PROFILE,
    NOMINAL_VOLTAGE_V,
    TX_DEFAULT_PROFILE,
    TX_PROFILE,
    ChargingCapabilities,
    limit_profile,
    same_limit,
)
from .timestamps import parse_timestamp, utcnow

_LOGGER = logging.getLogger(__name__)

# Profile ids csms uses: base + connector id (connectors 0..99).
_PROFILE_ID_BASE = {
    CHARGE_POINT_MAX_PROFILE: 9100,
    TX_DEFAULT_PROFILE: 9200,
    TX_PROFILE: 9300,
}
MANAGED_PROFILE_IDS = range(9100, 9400)
# How long load management's share stays valid without renewal, and how
# long before its end it is renewed.
LEASE = timedelta(minutes=15)
RENEW_BEFORE = timedelta(minutes=5)

type Request = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class ProfileRejectedError(Exception):
    """The charger refused a charging profile (or could not clear it)."""

    def __init__(self, action: str, status: str) -> None:
        """Keep the charger's answer."""
        super().__init__(f"{action} answered {status}")
        self.action = action
        self.status = status


def managed_profile_id(purpose: str, connector_id: int) -> int:
    """The id of the profile csms keeps for a purpose on a connector."""
    return _PROFILE_ID_BASE[purpose] + connector_id


def _lowest(*limits: float | None) -> float | None:
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


@dataclass(frozen=True, slots=True)
class ConnectorLimits:
    """What limits a connector: the user, and load management (None: not managed)."""

    user_a: float | None = None
    share_a: float | None = None
    failsafe_a: float | None = None
    phases: int = 3
    voltage_v: float = NOMINAL_VOLTAGE_V

    @property
    def default_a(self) -> float | None:
        """The TxDefaultProfile's limit: any session, also without the central system."""
        return _lowest(self.user_a, self.failsafe_a)

    @property
    def now_a(self) -> float | None:
        """The running transaction's limit."""
        return _lowest(self.user_a, self.share_a)


class ChargingLimits:
    """One charger's managed profiles: sent when they change, one change at a time."""

    def __init__(
        self,
        charge_point: ChargePoint,
        request: Request,
        changed: Callable[[int], None],
    ) -> None:
        """Send through ``request``; ``changed(connector_id)`` after a limit changed."""
        self._charge_point = charge_point
        self._request = request
        self._changed = changed
        self._lock = asyncio.Lock()

    @property
    def capabilities(self) -> ChargingCapabilities:
        """What the charger's configuration says it can take."""
        return self._charge_point.charging_capabilities

    def forget_profiles(self) -> None:
        """The charger may have lost its profiles (it booted): send them again."""
        for connector in self._charge_point.connectors.values():
            connector.profiles.clear()

    def transaction_ended(self, connector_id: int) -> None:
        """A TxProfile ends with its transaction (OCPP 1.6 section 3.13.2)."""
        connector = self._charge_point.connectors.get(connector_id)
        if connector is not None:
            connector.profiles.pop(TX_PROFILE, None)
            connector.allocated_a = None

    async def async_restore_charge_point_limit(self, phases: int = 3) -> None:
        """Send the charge point's own limit again if the charger may have lost it."""
        limit_a = self._charge_point.connector(CHARGE_POINT_CONNECTOR_ID).limit_a
        if limit_a is not None:
            await self.async_set_charge_point_limit(limit_a, phases)

    async def async_set_charge_point_limit(self, limit_a: float | None, phases: int = 3) -> None:
        """Limit the charge point as a whole (None: no limit of ours)."""
        async with self._lock:
            connector = self._charge_point.connector(CHARGE_POINT_CONNECTOR_ID)
            await self._async_keep(
                connector, CHARGE_POINT_MAX_PROFILE, limit_a, phases, NOMINAL_VOLTAGE_V
            )
            connector.limit_a = limit_a
        self._changed(CHARGE_POINT_CONNECTOR_ID)

    async def async_apply(self, connector_id: int, limits: ConnectorLimits) -> None:
        """Bring a connector's profiles to its limits.

        The transaction's profile goes first: it is what limits the current
        now. Raises :class:`ProfileRejectedError` or a request error; what
        the charger accepted before that is kept.
        """
        async with self._lock:
            connector = self._charge_point.connector(connector_id)
            before = (connector.limit_a, connector.allocated_a, connector.failsafe_a)
            try:
                if (transaction := _profiled_transaction(connector)) is not None:
                    valid_to = utcnow() + LEASE if limits.share_a is not None else None
                    await self._async_keep(
                        connector,
                        TX_PROFILE,
                        limits.now_a,
                        limits.phases,
                        limits.voltage_v,
                        transaction_id=transaction.transaction_id,
                        valid_to=valid_to,
                    )
                    if connector.allocated_a != limits.share_a:
                        connector.allocated_before_a = connector.allocated_a
                        connector.allocated_at = utcnow()
                        connector.allocated_a = limits.share_a
                await self._async_keep(
                    connector, TX_DEFAULT_PROFILE, limits.default_a, limits.phases, limits.voltage_v
                )
                connector.failsafe_a = limits.failsafe_a
                connector.limit_a = limits.user_a
            finally:
                if before != (connector.limit_a, connector.allocated_a, connector.failsafe_a):
                    self._changed(connector_id)

    async def _async_keep(
        self,
        connector: Connector,
        purpose: str,
        limit_a: float | None,
        phases: int,
        voltage_v: float,
        *,
        transaction_id: int | None = None,
        valid_to: datetime | None = None,
    ) -> None:
        """Send, replace or clear one managed profile, unless the charger has it already."""
        held = connector.profiles.get(purpose)
        profile_id = managed_profile_id(purpose, connector.connector_id)
        if limit_a is None:
            if held is not None:
                await self._async_clear(profile_id)
                del connector.profiles[purpose]
            return
        capabilities = self.capabilities
        profile = limit_profile(
            profile_id=profile_id,
            purpose=purpose,
            limit_a=limit_a,
            unit=capabilities.unit,
            phases=phases,
            voltage_v=voltage_v,
            # Above whatever another central system may have left behind.
            stack_level=capabilities.max_stack_level or 0,
            transaction_id=transaction_id,
            valid_to=valid_to,
            start=utcnow(),
        )
        if held is not None and same_limit(held, profile) and not _lease_ending(held, valid_to):
            return
        response = await self._request(
            "SetChargingProfile",
            {"connector_id": connector.connector_id, "cs_charging_profiles": profile},
        )
        if (status := str(response.get("status"))) != "Accepted":
            raise ProfileRejectedError("SetChargingProfile", status)
        _LOGGER.debug(
            "%s: %s on connector %s at %s A",
            self._charge_point.charge_point_id,
            purpose,
            connector.connector_id,
            limit_a,
        )
        connector.profiles[purpose] = profile

    async def _async_clear(self, profile_id: int) -> None:
        response = await self._request("ClearChargingProfile", {"id": profile_id})
        # Unknown: it is gone already (the charger rebooted or someone cleared it).
        if (status := str(response.get("status"))) not in ("Accepted", "Unknown"):
            raise ProfileRejectedError("ClearChargingProfile", status)


# A connector in one of these has begun its transaction on its side.
_SESSION_STATUSES = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE"})


def _profiled_transaction(connector: Connector) -> Transaction | None:
    """The transaction a TxProfile may name now, if any.

    The charger must know the transaction: it got its id (the StartTransaction
    answer) and reported the session under way. Sooner, a charger that still
    handles that answer refuses a profile naming it.
    """
    transaction = connector.transaction
    if transaction is None or not transaction.answered:
        return None
    return transaction if connector.status in _SESSION_STATUSES else None


def _lease_ending(held: dict[str, Any], valid_to: datetime | None) -> bool:
    """Whether a held profile's lease must be renewed (or a lease begins or ends)."""
    held_until = held.get("valid_to")
    if held_until is None or valid_to is None:
        return (held_until is None) != (valid_to is None)
    until = parse_timestamp(held_until, fallback=utcnow())
    return until - utcnow() < RENEW_BEFORE
