"""Site load management: the chargers of one server share the building's connection.

The rules (budget, fair share, failsafe) are pure functions in
:mod:`.load_management`; this module runs them when something changes and
sends each charger what they decide, through its :class:`ChargingLimits`.
A run is debounced, sends lower limits before higher ones (so the sum stays
within the budget while the changes travel) and sends nothing a charger
already holds. With load management off, a charger's limits are its own
affair: a run then plans only the chargers that changed since the last one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
import logging
import time

from ocpp.v16.enums import ChargePointStatus, RegistrationStatus

from .central_system import CentralSystem
from .charging_limits import (
    LEASE,
    RENEW_BEFORE,
    ChargingLimits,
    ConnectorLimits,
    ProfileRejectedError,
    Request,
)
from .errors import RequestError
from .events import ChargePointEvent, EventKind
from .load_management import (
    Budget,
    GridReading,
    Participant,
    SiteLimits,
    Slot,
    allocate,
    demand_after_reading,
    ev_budget,
    failsafe_limits,
)
from .model import CHARGE_POINT_CONNECTOR_ID, ChargePoint, Connector
from .smart_charging import amps_to_watts

_LOGGER = logging.getLogger(__name__)

type ConnectorKey = tuple[str, int]

# Changes arriving within this time make one run.
DEBOUNCE_S = 1.0
# A connector's share rises at most this often (it falls at once): a grid
# sensor that wobbles must not cause a profile storm.
RAISE_HOLD_S = 30.0
_PHASES = ("L1", "L2", "L3")
# A connector plugged in but not charging yet will draw its default limit.
_ABOUT_TO_CHARGE = frozenset({ChargePointStatus.preparing.value})


@dataclass(frozen=True, slots=True)
class ChargerSettings:
    """How one charger takes part in load management."""

    phases: int = 3
    max_current_a: float = 32.0
    priority: int = 0


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """A server's load management: on or off, and the site's limits."""

    enabled: bool = False
    limits: SiteLimits = field(default_factory=lambda: SiteLimits(None, None))


@dataclass(frozen=True, slots=True)
class Decision:
    """What load management decided last: the budget and each session's share."""

    budget: Budget
    shares: dict[ConnectorKey, float]

    @property
    def allocated_a(self) -> float:
        """The current given to the sessions in total (A per phase)."""
        return sum(self.shares.values())

    @property
    def paused(self) -> list[ConnectorKey]:
        """The sessions that get nothing now."""
        return [key for key, share in self.shares.items() if share == 0]


class LoadManager:
    """Shares a site's headroom among the sessions of one server's chargers."""

    def __init__(
        self,
        central: CentralSystem,
        request: Callable[[str], Request],
        *,
        site_settings: Callable[[], SiteSettings],
        charger_settings: Callable[[str], ChargerSettings | None],
    ) -> None:
        """``charger_settings`` is None for a charger that is not managed (not admitted)."""
        self._central = central
        self._request = request
        self._site_settings = site_settings
        self._charger_settings = charger_settings
        self._limits: dict[str, ChargingLimits] = {}
        self._demand: dict[ConnectorKey, float | None] = {}
        self._read_at: dict[ConnectorKey, datetime] = {}
        self._seen: dict[ConnectorKey, tuple[object, ...]] = {}
        self._raised_at: dict[ConnectorKey, float] = {}
        self._listeners: list[Callable[[], None]] = []
        self._decision_listeners: list[Callable[[Decision], None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        # A delay asked for while a run was in progress.
        self._pending: float | None = None
        # What the next run plans when load management is off: the chargers
        # that changed, or all of them after a change of the whole site.
        self._changed: set[str] = set()
        self._all_changed = False
        self.grid_reading: GridReading | None = None
        self.decision: Decision | None = None

    # Wiring

    def start(self) -> Callable[[], None]:
        """Follow the central system's changes; returns the function that stops it."""
        unsubscribes = [
            self._central.subscribe_changes(self._connector_changed),
            self._central.subscribe_events(None, self._event),
        ]
        self.schedule()

        def stop() -> None:
            for unsubscribe in unsubscribes:
                unsubscribe()
            if self._timer is not None:
                self._timer.cancel()
            if self._task is not None:
                self._task.cancel()

        return stop

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after every run (the site's entities)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def subscribe_decisions(self, listener: Callable[[Decision], None]) -> Callable[[], None]:
        """Call ``listener(decision)`` when the shares change (the logbook)."""
        self._decision_listeners.append(listener)
        return lambda: self._decision_listeners.remove(listener)

    def limits(self, charge_point_id: str) -> ChargingLimits:
        """The managed profiles of a charger."""
        limits = self._limits.get(charge_point_id)
        if limits is None:
            charge_point = self._central.charge_point(charge_point_id)

            def changed(connector_id: int) -> None:
                self._central.connector_updated(charge_point, connector_id)
                self._central.charge_point_updated(charge_point, persist=True)

            limits = self._limits[charge_point_id] = ChargingLimits(
                charge_point, self._request(charge_point_id), changed
            )
        return limits

    @property
    def enabled(self) -> bool:
        """Whether the site's headroom is shared now."""
        return self._site_settings().enabled

    # User limits

    async def async_set_limit(
        self, charge_point_id: str, connector_id: int, limit_a: float | None
    ) -> None:
        """Set a connector's own limit (None: none); raises when the charger refuses it."""
        charge_point = self._central.charge_point(charge_point_id)
        connector = self._central.connector(charge_point, connector_id)
        settings = self._charger_settings(charge_point_id) or ChargerSettings()
        managed = self.enabled
        await self.limits(charge_point_id).async_apply(
            connector_id,
            ConnectorLimits(
                user_a=limit_a,
                share_a=connector.allocated_a if managed else None,
                failsafe_a=connector.failsafe_a if managed else None,
                phases=settings.phases,
            ),
        )
        # The connector's share may grow or shrink with its new limit.
        self.schedule(charge_point_id=charge_point_id)

    async def async_set_charge_point_limit(
        self, charge_point_id: str, limit_a: float | None
    ) -> None:
        """Limit a charge point as a whole (ChargePointMaxProfile)."""
        settings = self._charger_settings(charge_point_id) or ChargerSettings()
        await self.limits(charge_point_id).async_set_charge_point_limit(limit_a, settings.phases)

    # Triggers

    def schedule(self, delay: float | None = None, *, charge_point_id: str | None = None) -> None:
        """Run soon; changes within ``delay`` (default: a second) make one run.

        ``charge_point_id`` names the one charger whose change this is; without
        it the change concerns the whole site and the run plans every charger.
        """
        self._mark(charge_point_id)
        if delay is None:
            delay = DEBOUNCE_S
        if self._task is not None and not self._task.done():
            # Once the run in progress is over.
            self._pending = delay if self._pending is None else min(self._pending, delay)
            return
        self._set_timer(delay)

    def _mark(self, charge_point_id: str | None) -> None:
        if charge_point_id is None:
            self._all_changed = True
        else:
            self._changed.add(charge_point_id)

    def _take_changes(self, site: SiteSettings) -> set[str] | None:
        """The chargers a run plans (None: all); what changes from now on is the next run's."""
        # Shares depend on every session; and after the last shares, all go.
        everything = self._all_changed or site.enabled or self.decision is not None
        changed, self._changed, self._all_changed = self._changed, set(), False
        return None if everything else changed

    def _set_timer(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        if self._timer is not None:
            if self._timer.when() <= when:
                return
            self._timer.cancel()
        self._timer = loop.call_at(when, self._start_run)

    def _start_run(self) -> None:
        self._timer = None
        self._task = asyncio.get_running_loop().create_task(self._async_run())

    async def async_run(self) -> None:
        """Run now, after a run in progress (whose findings may be out of date)."""
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._mark(None)
        self._task = asyncio.get_running_loop().create_task(self._async_run())
        await asyncio.shield(self._task)

    async def _async_run(self) -> None:
        scope: set[str] | None = None
        try:
            site = self._site_settings()
            scope = self._take_changes(site)
            await self._async_run_once(site, scope)
        except Exception:
            # A run that fails must not end load management for good; the next
            # run plans its chargers again.
            _LOGGER.exception("Load management run failed")
            for charge_point_id in [None] if scope is None else scope:
                self._mark(charge_point_id)
        for listener in list(self._listeners):
            listener()
        pending, self._pending = self._pending, None
        if pending is not None:
            self._set_timer(pending)
        elif self.enabled:
            # Renew the leases before they end.
            self._mark(None)
            self._set_timer((LEASE - RENEW_BEFORE).total_seconds())

    def _event(self, event: ChargePointEvent) -> None:
        charge_point_id = event.charge_point_id
        if event.kind is EventKind.BOOTED:
            if event.data.get("registration_status") == RegistrationStatus.accepted:
                # Whatever the charger held before its boot, it gets again.
                self.limits(charge_point_id).forget_profiles()
                self.schedule(charge_point_id=charge_point_id)
        elif event.kind is EventKind.TRANSACTION_STOPPED:
            self.limits(charge_point_id).transaction_ended(event.connector_id)
            self._demand.pop((charge_point_id, event.connector_id), None)
            self.schedule(charge_point_id=charge_point_id)
        elif event.kind is EventKind.TRANSACTION_STARTED:
            self.schedule(charge_point_id=charge_point_id)

    def _connector_changed(self, charge_point: ChargePoint, connector_id: int) -> None:
        """Run when a session's state or its car's demand changed; not for every reading."""
        if connector_id == CHARGE_POINT_CONNECTOR_ID:
            # Also what it takes: read after its boot, it decides the unit.
            seen: tuple[object, ...] = (
                charge_point.connected,
                charge_point.registration_status,
                charge_point.charging_capabilities,
            )
            key = (charge_point.charge_point_id, connector_id)
        else:
            key = (charge_point.charge_point_id, connector_id)
            connector = charge_point.connectors[connector_id]
            self._track_demand(key, connector)
            transaction = connector.transaction
            seen = (
                connector.status,
                transaction.answered if transaction is not None else None,
                self._demand.get(key),
            )
        if self._seen.get(key) != seen:
            self._seen[key] = seen
            # Also without load management: a charger back online, or one whose
            # configuration now tells that it takes profiles, gets its own limits.
            if connector_id == CHARGE_POINT_CONNECTOR_ID or self.enabled:
                self.schedule(charge_point_id=charge_point.charge_point_id)

    def _track_demand(self, key: ConnectorKey, connector: Connector) -> None:
        """Reclaim what a car leaves unused (Current.Import below its share).

        Only a new reading counts, against the share the car had when it was
        taken: a reading seen again after a change of share says nothing new.
        """
        if connector.transaction is None or connector.allocated_a is None:
            self._demand.pop(key, None)
            self._read_at.pop(key, None)
            return
        measured_at = connector.measured_at
        if not connector.current_a or measured_at is None or self._read_at.get(key) == measured_at:
            return
        self._read_at[key] = measured_at
        share = (
            connector.allocated_before_a
            if connector.allocated_at is not None and measured_at < connector.allocated_at
            else connector.allocated_a
        )
        if share is None:
            return
        self._demand[key] = demand_after_reading(
            allocated_a=share,
            measured_a=max(connector.current_a.values()),
            previous=self._demand.get(key),
        )

    # The run

    async def _async_run_once(self, site: SiteSettings, scope: set[str] | None) -> None:
        managed = self._managed_chargers(scope)
        plans = self._plan(site, managed)
        current = {key: _limits_held(self._connector(key)) for key in plans}
        lower = [key for key, plan in plans.items() if _is_lower(plan, current[key])]
        # The others too: a lease may need renewing (nothing is sent otherwise).
        higher = [key for key in plans if key not in lower]
        await asyncio.gather(
            *(self._async_restore(charge_point, settings) for charge_point, settings in managed)
        )
        # Nothing may be raised before what is lowered has been accepted.
        await self._async_apply_all(lower, plans)
        await self._async_apply_all(self._hold_raises(higher, plans, current), plans)

    def _managed_chargers(
        self, scope: set[str] | None
    ) -> list[tuple[ChargePoint, ChargerSettings]]:
        """The chargers of this server that take charging profiles (of ``scope``; None: all)."""
        charge_points = self._central.charge_points
        if scope is None:
            candidates = list(charge_points.values())
        else:
            candidates = [charge_points[cp_id] for cp_id in sorted(scope) if cp_id in charge_points]
        chargers = []
        for charge_point in candidates:
            settings = self._charger_settings(charge_point.charge_point_id)
            if settings is not None and charge_point.charging_capabilities.supported:
                chargers.append((charge_point, settings))
        return chargers

    def _unmanaged_draw(self) -> tuple[float, float]:
        """What sessions at chargers without smart charging may draw (A, W): their maximum."""
        current_a = power_w = 0.0
        for charge_point in list(self._central.charge_points.values()):
            settings = self._charger_settings(charge_point.charge_point_id)
            if settings is None or charge_point.charging_capabilities.supported:
                continue
            for connector in charge_point.connectors.values():
                if connector.connector_id and connector.transaction is not None:
                    current_a += settings.max_current_a
                    power_w += amps_to_watts(settings.max_current_a, settings.phases)
        return current_a, power_w

    def _plan(
        self, site: SiteSettings, chargers: list[tuple[ChargePoint, ChargerSettings]]
    ) -> dict[ConnectorKey, ConnectorLimits]:
        """Each connector's limits: the user's, and under load management its shares."""
        plans: dict[ConnectorKey, ConnectorLimits] = {}
        for charge_point, settings in chargers:
            for connector_id in charge_point.announced_outlet_ids:
                connector = self._central.connector(charge_point, connector_id)
                plans[(charge_point.charge_point_id, connector_id)] = ConnectorLimits(
                    user_a=connector.limit_a,
                    phases=settings.phases,
                )
        if not site.enabled:
            self._decide(None)
            return plans
        failsafe = failsafe_limits(
            [
                Slot(
                    key=key,
                    max_a=_cap(plan.user_a, settings.max_current_a),
                    phases=plan.phases,
                    priority=settings.priority,
                    voltage_v=plan.voltage_v,
                )
                for charge_point, settings in chargers
                for key, plan in plans.items()
                if key[0] == charge_point.charge_point_id
            ],
            site.limits,
        )
        participants: list[Participant] = []
        # Sessions at chargers that take no limits draw what they like.
        reserved_a, reserved_w = self._unmanaged_draw()
        ev_power_w = 0.0
        ev_phases_a = dict.fromkeys(_PHASES, 0.0)
        for charge_point, settings in chargers:
            # Managed chargers are admitted; one back after our restart need not boot.
            online = charge_point.connected
            for connector_id in charge_point.announced_outlet_ids:
                key = (charge_point.charge_point_id, connector_id)
                connector = charge_point.connectors[connector_id]
                plan = plans[key] = replace(plans[key], failsafe_a=failsafe.get(key, 0.0))
                _add_phase_currents(ev_phases_a, connector, settings.phases, self.grid_reading)
                ev_power_w += connector.power_w or 0.0
                drawn = None
                if connector.transaction is not None and online:
                    participants.append(
                        Participant(
                            key=key,
                            max_a=_cap(plan.user_a, settings.max_current_a),
                            phases=plan.phases,
                            priority=settings.priority,
                            demand_a=self._demand.get(key),
                            order=connector.transaction.started_at.timestamp(),
                            voltage_v=plan.voltage_v,
                        )
                    )
                elif connector.transaction is not None:
                    # Out of reach: it keeps drawing what it was given last.
                    drawn = connector.allocated_a if connector.allocated_a is not None else None
                    drawn = drawn if drawn is not None else plan.default_a
                elif connector.status in _ABOUT_TO_CHARGE:
                    drawn = plan.default_a
                if drawn:
                    reserved_a += drawn
                    reserved_w += drawn * plan.phases * plan.voltage_v
        # The grid sensor shows its highest phase; which one that is, is unknown:
        # count the chargers' least loaded phase, so other load is never underrated.
        budget = ev_budget(
            site.limits,
            self.grid_reading,
            ev_current_a=min(ev_phases_a.values()),
            ev_power_w=ev_power_w,
        )
        shares = allocate(participants, _less(budget, reserved_a, reserved_w))
        for key, share in shares.items():
            plans[key] = replace(plans[key], share_a=share)
        self._decide(Decision(budget, shares))
        return plans

    def _decide(self, decision: Decision | None) -> None:
        previous = self.decision
        self.decision = decision
        if decision is not None and (previous is None or previous.shares != decision.shares):
            for listener in list(self._decision_listeners):
                listener(decision)

    def _hold_raises(
        self,
        keys: list[ConnectorKey],
        plans: dict[ConnectorKey, ConnectorLimits],
        current: dict[ConnectorKey, ConnectorLimits],
    ) -> list[ConnectorKey]:
        """Raise a share only if it has not been raised just now; lower ones always go."""
        now = time.monotonic()
        ready = []
        for key in keys:
            held = current[key].share_a
            wanted = plans[key].share_a
            raising = held is not None and wanted is not None and wanted > held
            if raising and now - self._raised_at.get(key, -RAISE_HOLD_S) < RAISE_HOLD_S:
                plans[key] = replace(plans[key], share_a=held)
                self.schedule(RAISE_HOLD_S - (now - self._raised_at[key]), charge_point_id=key[0])
                continue
            if raising:
                self._raised_at[key] = now
            ready.append(key)
        return ready

    async def _async_apply_all(
        self, keys: list[ConnectorKey], plans: dict[ConnectorKey, ConnectorLimits]
    ) -> None:
        await asyncio.gather(*(self._async_apply(key, plans[key]) for key in keys))

    async def _async_restore(self, charge_point: ChargePoint, settings: ChargerSettings) -> None:
        """The charge point's own limit, after a boot or a cleared profile."""
        if not charge_point.connected:
            return
        try:
            await self.limits(charge_point.charge_point_id).async_restore_charge_point_limit(
                settings.phases
            )
        except (RequestError, ProfileRejectedError) as err:
            _LOGGER.warning("%s keeps no limit of its own: %s", charge_point.charge_point_id, err)

    async def _async_apply(self, key: ConnectorKey, plan: ConnectorLimits) -> None:
        charge_point = self._central.charge_points.get(key[0])
        if charge_point is None or not charge_point.connected:
            return
        try:
            await self.limits(key[0]).async_apply(key[1], plan)
        except (RequestError, ProfileRejectedError) as err:
            _LOGGER.warning("%s: connector %s keeps its limit: %s", key[0], key[1], err)

    def _connector(self, key: ConnectorKey) -> Connector:
        return self._central.charge_points[key[0]].connectors[key[1]]


def _add_phase_currents(
    phases_a: dict[str, float], connector: Connector, phases: int, grid: GridReading | None
) -> None:
    """Add what a connector drew when the grid was measured, per phase.

    A reading without phase counts on each phase of a 3-phase connector. The
    car's last reading (up to a minute old) is capped at the share it had
    when the grid sensor measured: after a lower share it cannot draw more.
    """
    share = connector.allocated_a
    if (
        grid is not None
        and grid.at is not None
        and connector.allocated_at is not None
        and grid.at < connector.allocated_at
    ):
        share = connector.allocated_before_a
    for phase in _PHASES:
        value = connector.current_a.get(phase, connector.current_a.get(f"{phase}-N"))
        if value is None and phases == 3:
            value = connector.current_a.get("total")
        if value is not None and share is not None:
            value = min(value, share)
        phases_a[phase] += value or 0.0


def _cap(user_a: float | None, max_current_a: float) -> float:
    return max_current_a if user_a is None else min(user_a, max_current_a)


def _less(budget: Budget, current_a: float, power_w: float) -> Budget:
    return Budget(
        current_a=None if budget.current_a is None else max(0.0, budget.current_a - current_a),
        power_w=None if budget.power_w is None else max(0.0, budget.power_w - power_w),
    )


def _limits_held(connector: Connector) -> ConnectorLimits:
    """What a connector's profiles hold now, as limits."""
    return ConnectorLimits(
        user_a=connector.limit_a,
        share_a=connector.allocated_a,
        failsafe_a=connector.failsafe_a,
    )


def _is_lower(plan: ConnectorLimits, held: ConnectorLimits) -> bool:
    """Whether a plan lowers what the connector may draw now or by default."""
    return _below(plan.now_a, held.now_a) or _below(plan.default_a, held.default_a)


def _below(new: float | None, old: float | None) -> bool:
    return new is not None and (old is None or new < old)
