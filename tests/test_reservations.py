"""Reservations end to end: services, the connector's sensor, expiry and restarts."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.csms.const import DOMAIN
from custom_components.csms.diagnostics import async_get_config_entry_diagnostics
from custom_components.csms.logbook import async_describe_events
from simulator import SimulatedChargePoint

from .conftest import entry_id_of, server_url, wait_for
from .test_energy import restart_integration
from .test_entities import get, state
from .test_services import call, device_id, received, runtime, settled

# The reservation sensors these tests watch are disabled by default.
pytestmark = pytest.mark.usefixtures("enable_all")

MADE = f"{DOMAIN}_reservation_made"
USED = f"{DOMAIN}_reservation_used"
ENDED = f"{DOMAIN}_reservation_ended"


def in_an_hour() -> datetime:
    return dt_util.utcnow().replace(microsecond=0) + timedelta(hours=1)


def ocpp(moment: datetime) -> str:
    """A timestamp as csms sends it."""
    return dt_util.as_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def reserve(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call reserve_now (CP001, its connector, ALICE for an hour unless told otherwise)."""
    fields: dict[str, Any] = {
        "charge_point_id": "CP001",
        "expiry_date": in_an_hour().isoformat(),
        "id_tag": "ALICE",
        **data,
    }
    fields = {key: value for key, value in fields.items() if value is not None}
    response = await call(hass, "reserve_now", fields)
    assert response is not None
    return dict(response)


async def settle(hass: HomeAssistant, charge_point: SimulatedChargePoint) -> None:
    """Let what a call set in motion at the charger reach Home Assistant."""
    await charge_point.wait_background()
    await hass.async_block_till_done()


async def configured(
    hass: HomeAssistant, connect: Any, charge_point_id: str = "CP001", **kwargs: Any
) -> SimulatedChargePoint:
    """A connected charger whose configuration (feature profiles) csms has read."""
    charge_point: SimulatedChargePoint = await connect(charge_point_id, **kwargs)
    model = runtime(hass, charge_point_id).charge_point
    await wait_for(lambda: bool(model.configuration))
    if model.supports_local_list:
        await settled(hass, charge_point_id)
    await hass.async_block_till_done()
    return charge_point


@pytest.fixture
async def charger(hass: HomeAssistant, connect: Any) -> SimulatedChargePoint:
    """A connected one-connector charger that takes reservations."""
    return await configured(hass, connect)


async def test_reserve_a_connector(hass: HomeAssistant, charger: SimulatedChargePoint) -> None:
    made = async_capture_events(hass, MADE)
    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNKNOWN
    expiry = in_an_hour()
    # Without an offset the time is Home Assistant's own.
    local = dt_util.as_local(expiry).replace(tzinfo=None)

    response = await reserve(hass, expiry_date=local.isoformat(), parent_id_tag="FAMILY")

    reservation_id = response["reservation_id"]
    assert response == {"status": "Accepted", "reservation_id": reservation_id}
    await received(
        charger,
        "ReserveNow",
        {
            "connectorId": 1,
            "expiryDate": ocpp(expiry),
            "idTag": "ALICE",
            "parentIdTag": "FAMILY",
            "reservationId": reservation_id,
        },
    )
    await settle(hass, charger)
    assert state(hass, "sensor", "CP001_1_status") == "reserved"
    sensor = get(hass, "sensor", "CP001_1_reservation")
    assert dt_util.parse_datetime(sensor.state) == expiry
    assert sensor.attributes["reservation_id"] == reservation_id
    assert sensor.attributes["id_tag"] == "ALICE"
    assert sensor.attributes["parent_id_tag"] == "FAMILY"
    assert sensor.attributes["connector_id"] == 1
    assert sensor.attributes["device_class"] == "timestamp"
    (event,) = made
    assert event.data["reservation_id"] == reservation_id
    assert event.data["connector_id"] == 1
    assert event.data["expiry_date"] == expiry.isoformat()


async def test_a_connector_device_names_the_connector(hass: HomeAssistant, connect: Any) -> None:
    twin = await configured(hass, connect, "CP002", connectors=2)
    second = device_id(hass, "CP002", 2)
    response = await reserve(hass, charge_point_id=None, device_id=second)
    assert response["status"] == "Accepted"
    await settle(hass, twin)
    assert state(hass, "sensor", "CP002_2_status") == "reserved"
    assert state(hass, "sensor", "CP002_1_status") == "available"
    assert state(hass, "sensor", "CP002_1_reservation") == STATE_UNKNOWN

    assert await call(hass, "cancel_reservation", {"device_id": second}) == {"status": "Accepted"}
    await settle(hass, twin)
    assert state(hass, "sensor", "CP002_2_status") == "available"
    assert state(hass, "sensor", "CP002_2_reservation") == STATE_UNKNOWN


async def test_reservation_ids_are_unique_over_the_chargers(
    hass: HomeAssistant, connect: Any, charger: SimulatedChargePoint
) -> None:
    await configured(hass, connect, "CP002")
    first = await reserve(hass)
    second = await reserve(hass, charge_point_id="CP002")
    # Refused by the charger (already reserved): its id is used up all the same.
    third = await reserve(hass, id_tag="BOB")
    assert third["status"] == "Occupied"
    fourth = await reserve(hass, charge_point_id="CP002", connector_id=1, id_tag="BOB")
    ids = [first["reservation_id"], second["reservation_id"], third["reservation_id"]]
    ids.append(fourth["reservation_id"])
    assert len(set(ids)) == 4


async def test_a_transaction_with_the_reservation_completes_it(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    used = async_capture_events(hass, USED)
    reservation_id = (await reserve(hass))["reservation_id"]
    await settle(hass, charger)

    transaction_id = await charger.start_transaction(1, "ALICE")
    await hass.async_block_till_done()

    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNKNOWN
    assert state(hass, "sensor", "CP001_1_status") == "charging"
    connector = runtime(hass, "CP001").charge_point.connectors[1]
    assert connector.reservation is None
    assert connector.transaction is not None
    assert connector.transaction.reservation_id == reservation_id
    (event,) = used
    assert event.data["reservation_id"] == reservation_id
    assert event.data["transaction_id"] == transaction_id


async def test_the_charger_expires_a_reservation(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    ended = async_capture_events(hass, ENDED)
    expiry = dt_util.utcnow() + timedelta(seconds=1)
    await reserve(hass, expiry_date=expiry.isoformat())
    await settle(hass, charger)
    assert state(hass, "sensor", "CP001_1_status") == "reserved"

    # The charger reports Available at the expiry date.
    await wait_for(lambda: state(hass, "sensor", "CP001_1_status") == "available", attempts=1000)
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNKNOWN
    (event,) = ended
    assert event.data["reason"] == "expired"


async def test_expiry_when_the_charger_says_nothing(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    ended = async_capture_events(hass, ENDED)
    expiry = in_an_hour()
    await reserve(hass, expiry_date=expiry.isoformat())
    await settle(hass, charger)
    # A charger that forgets to end it.
    reservation = charger.connectors[1].reservation
    assert reservation is not None
    assert reservation.expiry_task is not None
    reservation.expiry_task.cancel()

    async_fire_time_changed(hass, expiry - timedelta(seconds=1))
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_reservation") != STATE_UNKNOWN

    async_fire_time_changed(hass, expiry + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNKNOWN
    (event,) = ended
    assert event.data["reason"] == "expired"


async def test_expiry_while_the_charger_is_offline(
    hass: HomeAssistant, charger: SimulatedChargePoint, server_entry: MockConfigEntry
) -> None:
    expiry = in_an_hour()
    await reserve(hass, expiry_date=expiry.isoformat())
    await settle(hass, charger)
    await charger.disconnect()
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNAVAILABLE

    async_fire_time_changed(hass, expiry + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert runtime(hass, "CP001").charge_point.connectors[1].reservation is None

    # Back, with the reservation long gone: nothing to show.
    charger.connectors[1].reservation = None
    charger.connectors[1].status = "Available"
    await charger.connect(server_url(server_entry))
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNKNOWN


async def test_a_reservation_ended_at_the_charger(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    ended = async_capture_events(hass, ENDED)
    await reserve(hass)
    await settle(hass, charger)
    # Cancelled on the charger's own display.
    charger.connectors[1].reservation = None
    await charger.status(1, "Available")
    await hass.async_block_till_done()
    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNKNOWN
    (event,) = ended
    assert event.data["reason"] == "ended_at_charger"


@pytest.mark.parametrize(
    "by",
    [
        pytest.param(lambda reservation_id: {"reservation_id": reservation_id}, id="id"),
        pytest.param(
            lambda reservation_id: {"charge_point_id": "CP001", "reservation_id": reservation_id},
            id="charger and id",
        ),
        pytest.param(lambda _: {"charge_point_id": "CP001", "connector_id": 1}, id="connector"),
        pytest.param(lambda _: {"charge_point_id": "CP001"}, id="only connector"),
    ],
)
async def test_cancel_a_reservation(
    hass: HomeAssistant, charger: SimulatedChargePoint, by: Any
) -> None:
    ended = async_capture_events(hass, ENDED)
    reservation_id = (await reserve(hass))["reservation_id"]
    await settle(hass, charger)

    response = await call(hass, "cancel_reservation", by(reservation_id))

    assert response == {"status": "Accepted"}
    await received(charger, "CancelReservation", {"reservationId": reservation_id})
    await settle(hass, charger)
    assert state(hass, "sensor", "CP001_1_status") == "available"
    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNKNOWN
    (event,) = ended
    assert event.data["reason"] == "cancelled"


async def test_a_reservation_the_charger_does_not_know_is_forgotten(
    hass: HomeAssistant, charger: SimulatedChargePoint
) -> None:
    reservation_id = (await reserve(hass))["reservation_id"]
    await settle(hass, charger)
    # Lost at the charger (a reboot, say) without a word.
    charger.connectors[1].reservation = None

    response = await call(hass, "cancel_reservation", {"reservation_id": reservation_id})

    assert response == {"status": "Rejected"}
    assert runtime(hass, "CP001").charge_point.connectors[1].reservation is None
    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNKNOWN


async def test_refusals_are_answers(hass: HomeAssistant, connect: Any) -> None:
    charger = await configured(
        hass, connect, configuration={"ReserveConnectorZeroSupported": "true"}
    )
    await charger.plug_in(1)
    await hass.async_block_till_done()
    occupied = await reserve(hass)
    assert occupied == {"status": "Occupied", "reservation_id": occupied["reservation_id"]}

    await charger.status(1, "Faulted", error_code="GroundFailure")
    assert (await reserve(hass))["status"] == "Faulted"

    # The simulator does not reserve connector 0, whatever its configuration says.
    rejected = await reserve(hass, connector_id=0)
    assert rejected["status"] == "Rejected"
    action, payload = charger.calls_received[-1]
    assert (action, payload["connectorId"]) == ("ReserveNow", 0)
    await hass.async_block_till_done()
    connectors = runtime(hass, "CP001").charge_point.connectors
    assert all(connector.reservation is None for connector in connectors.values())
    assert state(hass, "sensor", "CP001_1_reservation") == STATE_UNKNOWN


@pytest.mark.parametrize(
    ("data", "translation_key"),
    [
        ({"expiry_date": "2020-01-01T00:00:00+00:00"}, "reservation_expiry_in_past"),
        ({"connector_id": 2}, "unknown_connector"),
        ({"connector_id": 0}, "reserve_connector_zero_not_supported"),
        ({"id_tag": "A" * 21}, "invalid_service_data"),
    ],
)
async def test_bad_reservations_are_refused(
    hass: HomeAssistant,
    charger: SimulatedChargePoint,
    data: dict[str, Any],
    translation_key: str,
) -> None:
    sent = [name for name, _ in charger.calls_received].count("ReserveNow")
    with pytest.raises(ServiceValidationError) as err:
        await reserve(hass, **data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == translation_key
    assert [name for name, _ in charger.calls_received].count("ReserveNow") == sent


async def test_connector_zero_refused_by_the_configuration(
    hass: HomeAssistant, connect: Any
) -> None:
    charger = await configured(
        hass, connect, configuration={"ReserveConnectorZeroSupported": "false"}
    )
    with pytest.raises(ServiceValidationError) as err:
        await reserve(hass, connector_id=0)
    assert err.value.translation_key == "reserve_connector_zero_not_supported"
    assert err.value.translation_placeholders == {"charge_point_id": "CP001"}
    assert "ReserveNow" not in [name for name, _ in charger.calls_received]


async def test_a_charger_without_reservations(hass: HomeAssistant, connect: Any) -> None:
    await configured(
        hass, connect, configuration={"SupportedFeatureProfiles": "Core,RemoteTrigger"}
    )
    with pytest.raises(ServiceValidationError) as err:
        await reserve(hass)
    assert err.value.translation_key == "reservation_not_supported"
    # Nothing to show either.
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, "CP001_1_status") is not None
    assert registry.async_get_entity_id("sensor", DOMAIN, "CP001_1_reservation") is None


@pytest.mark.parametrize(
    ("data", "translation_key"),
    [
        ({"reservation_id": 4711}, "unknown_reservation"),
        ({"charge_point_id": "CP001", "reservation_id": 4711}, "unknown_reservation"),
        ({"charge_point_id": "CP001", "connector_id": 1}, "no_reservation"),
        ({"charge_point_id": "CP001", "connector_id": 3}, "unknown_connector"),
        ({"connector_id": 1}, "charge_point_required"),
        ({"charge_point_id": "CP001", "reservation_id": 1, "connector_id": 1}, None),
    ],
)
async def test_bad_cancellations_are_refused(
    hass: HomeAssistant,
    charger: SimulatedChargePoint,
    data: dict[str, Any],
    translation_key: str | None,
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "cancel_reservation", data)
    assert err.value.translation_key == (translation_key or "invalid_service_data")
    assert "CancelReservation" not in [name for name, _ in charger.calls_received]


async def test_a_reservation_survives_a_restart(
    hass: HomeAssistant, server_entry: MockConfigEntry, charger: SimulatedChargePoint
) -> None:
    expiry = in_an_hour()
    first = (await reserve(hass, expiry_date=expiry.isoformat()))["reservation_id"]
    await settle(hass, charger)

    await restart_integration(hass, server_entry)
    await charger.wait_closed()
    await charger.connect(server_url(server_entry))
    await hass.async_block_till_done()

    sensor = get(hass, "sensor", "CP001_1_reservation")
    assert dt_util.parse_datetime(sensor.state) == expiry
    assert sensor.attributes["reservation_id"] == first
    assert state(hass, "sensor", "CP001_1_status") == "reserved"
    # No id is handed out twice, and the restored reservation can be cancelled.
    second = (await reserve(hass))["reservation_id"]
    assert second > first
    response = await call(hass, "cancel_reservation", {"reservation_id": first})
    assert response == {"status": "Accepted"}


async def test_logbook_and_diagnostics(hass: HomeAssistant, charger: SimulatedChargePoint) -> None:
    captured = {kind: async_capture_events(hass, kind) for kind in (MADE, USED, ENDED)}
    expiry = in_an_hour()
    first = (await reserve(hass, expiry_date=expiry.isoformat()))["reservation_id"]
    await settle(hass, charger)

    entry = hass.config_entries.async_get_entry(entry_id_of(hass, "CP001"))
    assert entry is not None
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    (connector,) = [c for c in diagnostics["charge_point"]["connectors"] if c["connector_id"] == 1]
    assert connector["reservation"]["reservation_id"] == first
    assert connector["reservation"]["id_tag"] == "**REDACTED**"
    assert "ALICE" not in str(diagnostics)

    await call(hass, "cancel_reservation", {"reservation_id": first})
    second = (await reserve(hass, expiry_date=expiry.isoformat()))["reservation_id"]
    await settle(hass, charger)
    await charger.start_transaction(1, "ALICE")
    await hass.async_block_till_done()

    described: dict[str, Any] = {}
    async_describe_events(
        hass, lambda _domain, event_type, describe: described.setdefault(event_type, describe)
    )
    lines = [
        described[kind](SimpleNamespace(event_type=kind, data=event.data))
        for kind in (MADE, ENDED, USED)
        for event in captured[kind]
    ]
    local = dt_util.as_local(expiry).strftime("%Y-%m-%d %H:%M")
    assert [line["message"] for line in lines] == [
        f"reserved for tag ALICE until {local} (reservation {first})",
        f"reserved for tag ALICE until {local} (reservation {second})",
        f"reservation {first} ended (cancelled)",
        f"reservation {second} used by tag ALICE",
    ]
    assert {line["name"] for line in lines} == {"CP001"}


async def test_the_simulator_replaces_a_reservation_with_the_same_id(
    hass: HomeAssistant, connect: Any
) -> None:
    """OCPP 1.6 section 5.13: the same reservation id again replaces the one held."""
    twin = await configured(hass, connect, "CP002", connectors=2)
    reservation_id = (await reserve(hass, charge_point_id="CP002", connector_id=1))[
        "reservation_id"
    ]
    await settle(hass, twin)

    answer = await runtime(hass, "CP002").request(
        "ReserveNow",
        {
            "connector_id": 2,
            "expiry_date": ocpp(in_an_hour()),
            "id_tag": "ALICE",
            "reservation_id": reservation_id,
        },
    )
    await settle(hass, twin)

    assert answer == {"status": "Accepted"}
    assert twin.connectors[1].reservation is None
    moved = twin.connectors[2].reservation
    assert moved is not None
    assert moved.reservation_id == reservation_id
    assert state(hass, "sensor", "CP002_1_status") == "available"
    assert state(hass, "sensor", "CP002_2_status") == "reserved"


async def test_the_simulator_rejects_reservations_without_the_profile(
    hass: HomeAssistant, connect: Any
) -> None:
    await configured(
        hass, connect, configuration={"SupportedFeatureProfiles": "Core,RemoteTrigger"}
    )
    answer = await runtime(hass, "CP001").request(
        "ReserveNow",
        {
            "connector_id": 1,
            "expiry_date": ocpp(in_an_hour()),
            "id_tag": "ALICE",
            "reservation_id": 1,
        },
    )
    assert answer == {"status": "Rejected"}
