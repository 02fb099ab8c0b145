"""The load manager's runs: which chargers a run plans, with load management off and on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from custom_components.csms.central import CentralSystem, load_manager as load_manager_module
from custom_components.csms.central.charging_limits import Request
from custom_components.csms.central.events import ChargePointEvent, EventKind
from custom_components.csms.central.load_management import SiteLimits
from custom_components.csms.central.load_manager import (
    ChargerSettings,
    LoadManager,
    SiteSettings,
)
from custom_components.csms.central.timestamps import utcnow

from .memory_store import MemoryStore

CHARGERS = ("A", "B")
# A user limit on each charger's connector: a planned charger gets a TxDefaultProfile.
USER_LIMIT_A = 16.0
MANAGED = SiteSettings(enabled=True, limits=SiteLimits(current_a=20.0, power_w=None))
RUN_TIMEOUT_S = 10.0


@dataclass
class Site:
    """A central system with chargers A and B, its load manager, and what the manager did."""

    central: CentralSystem
    settings: SiteSettings = field(default_factory=SiteSettings)
    # The chargers whose settings a run asked for, and the requests it sent (charger, action).
    consulted: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # A charger's requests wait for its gate, when it has one; ``held`` is set meanwhile.
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    held: asyncio.Event = field(default_factory=asyncio.Event)
    runs: asyncio.Queue[None] = field(default_factory=asyncio.Queue)
    manager: LoadManager = field(init=False)

    def __post_init__(self) -> None:
        self.manager = LoadManager(
            self.central,
            self.request,
            site_settings=lambda: self.settings,
            charger_settings=self.charger_settings,
        )
        self.manager.subscribe(lambda: self.runs.put_nowait(None))

    def charger_settings(self, charge_point_id: str) -> ChargerSettings:
        self.consulted.append(charge_point_id)
        return ChargerSettings()

    def request(self, charge_point_id: str) -> Request:
        async def send(action: str, payload: dict[str, Any]) -> dict[str, Any]:
            self.requests.append((charge_point_id, action))
            if (gate := self.gates.get(charge_point_id)) is not None:
                self.held.set()
                await gate.wait()
            return {"status": "Accepted"}

        return send

    async def next_run(self) -> None:
        await asyncio.wait_for(self.runs.get(), RUN_TIMEOUT_S)

    def forget(self) -> None:
        """Start afresh: nothing recorded, and every charger's profiles lost (unnoticed)."""
        self.consulted.clear()
        self.requests.clear()
        for charge_point in self.central.charge_points.values():
            for connector in charge_point.connectors.values():
                connector.profiles.clear()

    def planned(self) -> set[str]:
        return set(self.consulted)

    def sent_to(self) -> set[str]:
        return {charge_point_id for charge_point_id, _ in self.requests}


@pytest.fixture(autouse=True)
def no_delays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_manager_module, "DEBOUNCE_S", 0.0)
    monkeypatch.setattr(load_manager_module, "RAISE_HOLD_S", 0.0)


def _add_charger(central: CentralSystem, charge_point_id: str) -> None:
    charge_point = central.charge_point(charge_point_id)
    charge_point.configuration = {
        "SupportedFeatureProfiles": "Core,SmartCharging",
        "NumberOfConnectors": "1",
        "ChargingScheduleAllowedChargingRateUnit": "Current",
    }
    charge_point.connected = True
    charge_point.registration_status = "Accepted"
    connector = central.connector(charge_point, 1)
    connector.status = "Available"
    connector.limit_a = USER_LIMIT_A


async def _started(site: Site) -> AsyncIterator[Site]:
    for charge_point_id in CHARGERS:
        _add_charger(site.central, charge_point_id)
    stop = site.manager.start()
    # The first run plans every charger.
    await site.next_run()
    assert site.planned() >= set(CHARGERS)
    assert site.sent_to() == set(CHARGERS)
    # Whatever the first run's changes asked for is over, too.
    await site.manager.async_run()
    while not site.runs.empty():
        site.runs.get_nowait()
    site.forget()
    yield site
    stop()


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async for started in _started(Site(CentralSystem(MemoryStore()))):
        yield started


@pytest.fixture
async def managed_site() -> AsyncIterator[Site]:
    async for started in _started(Site(CentralSystem(MemoryStore()), MANAGED)):
        yield started


async def _start_transaction(site: Site, charge_point_id: str) -> None:
    await site.central.start_transaction(
        site.central.charge_points[charge_point_id],
        connector_id=1,
        id_tag="TAG1",
        meter_start_wh=0,
        started_at=utcnow(),
        reservation_id=None,
    )


def _boot(site: Site, charge_point_id: str) -> None:
    site.central.fire_event(
        ChargePointEvent(
            EventKind.BOOTED, charge_point_id, data={"registration_status": "Accepted"}
        )
    )


# Load management off: only the charger that changed


async def test_a_session_of_one_charger_plans_only_that_charger(site: Site) -> None:
    await _start_transaction(site, "A")
    await site.next_run()

    assert site.planned() == {"A"}
    assert site.sent_to() == {"A"}
    assert site.central.charge_points["B"].connectors[1].profiles == {}


@pytest.mark.parametrize(
    "trigger",
    [
        pytest.param(lambda site: _boot(site, "A"), id="boot"),
        pytest.param(
            lambda site: site.central.fire_event(
                ChargePointEvent(EventKind.TRANSACTION_STOPPED, "A", 1)
            ),
            id="transaction_stopped",
        ),
        pytest.param(
            lambda site: site.manager.schedule(charge_point_id="A"), id="schedule_for_a_charger"
        ),
    ],
)
async def test_a_change_of_one_charger_plans_only_that_charger(
    site: Site, trigger: Callable[[Site], None]
) -> None:
    trigger(site)
    await site.next_run()

    assert site.planned() == {"A"}
    assert site.sent_to() == {"A"}


async def test_a_user_limit_replans_only_its_charger(site: Site) -> None:
    await site.manager.async_set_limit("A", 1, 10.0)
    site.forget()
    await site.next_run()

    assert site.planned() == {"A"}


async def test_a_change_of_the_site_plans_every_charger(site: Site) -> None:
    site.manager.schedule()
    await site.next_run()

    assert site.planned() == set(CHARGERS)
    assert site.sent_to() == set(CHARGERS)


async def test_a_charger_back_online_gets_its_own_limits(site: Site) -> None:
    charge_point = site.central.charge_points["B"]
    charge_point.connected = False
    site.central.connection_changed(charge_point)
    await site.next_run()
    site.forget()

    charge_point.connected = True
    site.central.connection_changed(charge_point)
    await site.next_run()

    assert site.planned() == {"B"}
    assert site.sent_to() == {"B"}


async def test_a_change_during_a_run_is_planned_in_the_next_run(site: Site) -> None:
    site.gates["A"] = gate = asyncio.Event()
    _boot(site, "A")
    await asyncio.wait_for(site.held.wait(), RUN_TIMEOUT_S)
    # A's run waits for its answer; B boots meanwhile.
    _boot(site, "B")
    gate.set()
    await site.next_run()

    assert site.planned() == {"A"}
    assert site.sent_to() == {"A"}
    site.consulted.clear()
    site.requests.clear()

    await site.next_run()

    assert site.planned() == {"B"}
    assert site.sent_to() == {"B"}


# Load management on: shares depend on every session


async def test_with_load_management_a_change_plans_every_charger(managed_site: Site) -> None:
    await _start_transaction(managed_site, "A")
    await managed_site.next_run()

    assert managed_site.planned() == set(CHARGERS)
    assert managed_site.sent_to() == set(CHARGERS)


async def test_switching_load_management_off_plans_every_charger_once(
    managed_site: Site,
) -> None:
    site = managed_site
    failsafes = [site.central.charge_points[cp_id].connectors[1].failsafe_a for cp_id in CHARGERS]
    assert None not in failsafes
    site.consulted.clear()

    site.settings = SiteSettings(enabled=False)
    _boot(site, "A")
    await site.next_run()

    # The shares are gone from both chargers: their user limits alone remain.
    assert site.planned() == set(CHARGERS)
    assert [site.central.charge_points[cp_id].connectors[1].failsafe_a for cp_id in CHARGERS] == [
        None,
        None,
    ]
    site.consulted.clear()

    _boot(site, "A")
    await site.next_run()

    assert site.planned() == {"A"}


async def test_with_load_management_a_change_during_a_run_replans_every_charger(
    managed_site: Site,
) -> None:
    site = managed_site
    site.gates["A"] = gate = asyncio.Event()
    _boot(site, "A")
    await asyncio.wait_for(site.held.wait(), RUN_TIMEOUT_S)
    _boot(site, "B")
    gate.set()
    await site.next_run()
    site.forget()

    await site.next_run()

    assert site.planned() == set(CHARGERS)
    assert site.sent_to() == set(CHARGERS)


async def test_load_management_switched_off_during_a_run_still_removes_every_share(
    managed_site: Site,
) -> None:
    site = managed_site
    site.gates["A"] = gate = asyncio.Event()
    _boot(site, "A")
    await asyncio.wait_for(site.held.wait(), RUN_TIMEOUT_S)
    site.settings = SiteSettings(enabled=False)
    _boot(site, "A")
    gate.set()
    await site.next_run()
    site.consulted.clear()

    await site.next_run()

    assert site.planned() == set(CHARGERS)
    assert [site.central.charge_points[cp_id].connectors[1].failsafe_a for cp_id in CHARGERS] == [
        None,
        None,
    ]
