"""Authorization at real chargers: id tag decisions, tag_scanned, offline transactions, restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from homeassistant.components.tag import EVENT_TAG_SCANNED, TAG_DATA
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.csms.central.authorization import IdTagRecord
from custom_components.csms.const import DOMAIN
from custom_components.csms.hub import async_drop_hub
from custom_components.csms.id_tags import ID_TAGS, async_setup_id_tags
from simulator import SimulatedChargePoint

from .conftest import add_charge_point, entry_id_of, server_config_entry, server_url, wait_for

NOW = datetime.now(UTC)
FAMILY = "FAMILY-12"


async def register(hass: HomeAssistant, *records: IdTagRecord) -> None:
    for record in records:
        await hass.data[ID_TAGS].async_add(record, None)


def start_payload(
    id_tag: str, *, connector_id: int = 1, at: datetime | None = None
) -> dict[str, Any]:
    timestamp = (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
    return {
        "connectorId": connector_id,
        "idTag": id_tag,
        "meterStart": 1000,
        "timestamp": timestamp,
    }


def charge_point_device_id(hass: HomeAssistant, charge_point_id: str) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, charge_point_id), entry_id_of(hass, charge_point_id)
    )
    assert device is not None
    return device.id


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (None, {"status": "Invalid"}),
        (IdTagRecord("CARD"), {"status": "Accepted"}),
        (IdTagRecord("CARD", status="Blocked"), {"status": "Blocked"}),
        (IdTagRecord("CARD", status="Expired"), {"status": "Expired"}),
        (
            IdTagRecord("CARD", expiry_date=NOW - timedelta(days=1)),
            {"status": "Expired", "expiryDate": (NOW - timedelta(days=1)).isoformat()},
        ),
        (
            IdTagRecord("CARD", parent_id_tag=FAMILY),
            {"status": "Accepted", "parentIdTag": FAMILY},
        ),
        (IdTagRecord("CARD", charge_points=frozenset({"OTHER"})), {"status": "Invalid"}),
    ],
    ids=["unknown", "accepted", "blocked", "expired", "expiry-date-passed", "parent", "elsewhere"],
)
async def test_authorize_and_start_transaction_answer_the_tags_standing(
    hass: HomeAssistant, connect: Any, record: IdTagRecord | None, expected: dict[str, Any]
) -> None:
    if record is not None:
        await register(hass, record)
    charge_point: SimulatedChargePoint = await connect("CP001")

    authorized = await charge_point.call_raw("Authorize", {"idTag": "CARD"})
    started = await charge_point.call_raw("StartTransaction", start_payload("CARD"))

    assert _comparable(authorized["idTagInfo"]) == _comparable(expected)
    assert _comparable(started["idTagInfo"]) == _comparable(expected)
    # Whatever the standing, the transaction is recorded: the charger decides
    # whether to stop it (StopTransactionOnInvalidId).
    assert started["transactionId"] > 0


def _comparable(info: dict[str, Any]) -> dict[str, Any]:
    """idTagInfo with its expiry date as a time, whatever its spelling."""
    if "expiryDate" not in info:
        return info
    expiry = datetime.fromisoformat(info["expiryDate"].replace("Z", "+00:00"))
    return {**info, "expiryDate": expiry.replace(microsecond=expiry.microsecond // 1000 * 1000)}


async def test_a_blocked_group_blocks_its_tags(hass: HomeAssistant, connect: Any) -> None:
    expiry = datetime(2030, 1, 1, tzinfo=UTC)
    await register(
        hass,
        IdTagRecord(FAMILY, expiry_date=expiry),
        IdTagRecord("KID", parent_id_tag=FAMILY, expiry_date=expiry + timedelta(days=30)),
    )
    charge_point: SimulatedChargePoint = await connect("CP001")

    answer = await charge_point.call_raw("Authorize", {"idTag": "KID"})
    # The group's earlier expiry applies to its tag.
    assert answer["idTagInfo"] == {
        "status": "Accepted",
        "parentIdTag": FAMILY,
        "expiryDate": "2030-01-01T00:00:00.000Z",
    }

    registry = hass.data[ID_TAGS]
    await registry.async_update(registry.records[FAMILY].updated(status="Blocked"), None)
    answer = await charge_point.call_raw("Authorize", {"idTag": "KID"})
    assert answer["idTagInfo"]["status"] == "Blocked"


async def test_a_tag_charging_elsewhere_is_concurrent(hass: HomeAssistant, connect: Any) -> None:
    await register(hass, IdTagRecord("CARD"))
    carport: SimulatedChargePoint = await connect("CP001", connectors=2)
    garage: SimulatedChargePoint = await connect("CP002")
    started = await carport.call_raw("StartTransaction", start_payload("CARD"))
    assert started["idTagInfo"]["status"] == "Accepted"

    # Another charger: ConcurrentTx.
    answer = await garage.call_raw("Authorize", {"idTag": "CARD"})
    assert answer["idTagInfo"]["status"] == "ConcurrentTx"
    # The charger it charges at may ask to stop it: Accepted.
    answer = await carport.call_raw("Authorize", {"idTag": "CARD"})
    assert answer["idTagInfo"]["status"] == "Accepted"
    # A second transaction on its other connector: ConcurrentTx, yet recorded.
    second = await carport.call_raw("StartTransaction", start_payload("CARD", connector_id=2))
    assert second["idTagInfo"]["status"] == "ConcurrentTx"
    assert second["transactionId"] != started["transactionId"]
    # The stop is never refused and its answer is no ConcurrentTx.
    stopped = await carport.call_raw(
        "StopTransaction",
        {
            "transactionId": second["transactionId"],
            "meterStop": 1000,
            "timestamp": datetime.now(UTC).isoformat(),
            "idTag": "CARD",
        },
    )
    assert stopped == {"idTagInfo": {"status": "Accepted"}}


async def test_a_group_over_its_limit_is_concurrent(hass: HomeAssistant, connect: Any) -> None:
    await register(
        hass,
        IdTagRecord(FAMILY, group_limit=1),
        IdTagRecord("MUM", parent_id_tag=FAMILY),
        IdTagRecord("DAD", parent_id_tag=FAMILY),
    )
    carport: SimulatedChargePoint = await connect("CP001")
    garage: SimulatedChargePoint = await connect("CP002")

    await carport.call_raw("StartTransaction", start_payload("MUM"))

    answer = await garage.call_raw("Authorize", {"idTag": "DAD"})
    assert answer["idTagInfo"] == {"status": "ConcurrentTx", "parentIdTag": FAMILY}
    registry = hass.data[ID_TAGS]
    await registry.async_update(registry.records[FAMILY].updated(group_limit=2), None)
    answer = await garage.call_raw("Authorize", {"idTag": "DAD"})
    assert answer["idTagInfo"] == {"status": "Accepted", "parentIdTag": FAMILY}


async def test_the_remote_start_tag_may_charge_at_its_charger(
    hass: HomeAssistant, connect: Any
) -> None:
    carport: SimulatedChargePoint = await connect("CP001", connectors=2)
    garage: SimulatedChargePoint = await connect("CP002")

    answer = await carport.call_raw("Authorize", {"idTag": "HomeAssistant"})
    assert answer["idTagInfo"]["status"] == "Accepted"
    # Both connectors started from Home Assistant: no ConcurrentTx.
    for connector_id in (1, 2):
        started = await carport.call_raw(
            "StartTransaction", start_payload("HomeAssistant", connector_id=connector_id)
        )
        assert started["idTagInfo"]["status"] == "Accepted"
    # It is no card: another charger does not know it.
    hass.config_entries.async_update_entry(
        hass.config_entries.async_get_entry(entry_id_of(hass, "CP002")),  # type: ignore[arg-type]
        options={"remote_start_id_tag": "GARAGE-HA"},
    )
    await hass.async_block_till_done()
    answer = await garage.call_raw("Authorize", {"idTag": "HomeAssistant"})
    assert answer["idTagInfo"]["status"] == "Invalid"


async def test_a_lenient_server_lets_unknown_tags_charge(
    hass: HomeAssistant, charge_points: list[SimulatedChargePoint], enable_all: None
) -> None:
    server = server_config_entry(options={"unknown_id_tags": "accepted"})
    server.add_to_hass(hass)
    assert await hass.config_entries.async_setup(server.entry_id)
    await register(hass, IdTagRecord("LOST-CARD", status="Blocked"))
    await add_charge_point(hass, server, "CP001")
    charge_point = SimulatedChargePoint("CP001")
    charge_points.append(charge_point)
    await charge_point.connect(server_url(server))

    assert (await charge_point.authorize("ANY-CARD"))["status"] == "Accepted"
    # Registered tags keep their standing.
    assert (await charge_point.authorize("LOST-CARD"))["status"] == "Blocked"
    # Offline, unknown cards may charge too: the same policy.
    await charge_point.wait_for_call("GetConfiguration")
    assert charge_point.configuration["AllowOfflineTxForUnknownId"].value == "true"


async def test_cards_shown_at_a_charger_are_scanned_tags(hass: HomeAssistant, connect: Any) -> None:
    await register(hass, IdTagRecord("CARD"))
    scanned = async_capture_events(hass, EVENT_TAG_SCANNED)
    presented = async_capture_events(hass, f"{DOMAIN}_id_tag_presented")
    charge_point: SimulatedChargePoint = await connect("CP001")
    device_id = charge_point_device_id(hass, "CP001")

    # One swipe: Authorize, then StartTransaction when the car is plugged in.
    await charge_point.plug_in(1)
    await charge_point.authorize("CARD")
    await charge_point.start_transaction(1, "CARD")
    await hass.async_block_till_done()
    assert [(e.data["tag_id"], e.data["device_id"]) for e in scanned] == [("CARD", device_id)]

    # An unknown card shown to the charger lands in Settings > Tags.
    await charge_point.authorize("NEW-CARD")
    await hass.async_block_till_done()
    assert scanned[-1].data["tag_id"] == "NEW-CARD"
    assert "NEW-CARD" in hass.data[TAG_DATA].data
    assert "NEW-CARD" not in hass.data[ID_TAGS].records
    # Automations see how each card was answered.
    assert [(e.data["id_tag"], e.data["status"]) for e in presented] == [
        ("CARD", "Accepted"),
        ("NEW-CARD", "Invalid"),
    ]


async def test_a_card_stopping_a_session_is_scanned_but_a_remote_stop_is_not(
    hass: HomeAssistant, connect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(hass, IdTagRecord("CARD"))
    charge_point: SimulatedChargePoint = await connect("CP001", connectors=2)
    # Each message counts as a swipe of its own, however quick the test is.
    monkeypatch.setattr("custom_components.csms.central.central_system.PRESENTATION_WINDOW_S", 0.0)
    await charge_point.plug_in(1)
    await charge_point.start_transaction(1, "CARD")
    await charge_point.plug_in(2)
    await charge_point.start_transaction(2, "HomeAssistant")
    await hass.async_block_till_done()
    scanned = async_capture_events(hass, EVENT_TAG_SCANNED)

    await charge_point.stop_transaction(2, reason="Remote", id_tag="HomeAssistant")
    await charge_point.stop_transaction(1, reason="Local", id_tag="CARD")
    await hass.async_block_till_done()

    assert [event.data["tag_id"] for event in scanned] == ["CARD"]


async def test_a_remote_start_is_no_swipe(hass: HomeAssistant, connect: Any) -> None:
    charge_point: SimulatedChargePoint = await connect("CP001")
    await charge_point.plug_in(1)
    scanned: list[Event] = async_capture_events(hass, EVENT_TAG_SCANNED)

    await hass.services.async_call(
        DOMAIN,
        "remote_start_transaction",
        {"charge_point_id": "CP001", "id_tag": "HomeAssistant", "connector_id": 1},
        blocking=True,
    )
    await wait_for(lambda: 1 in charge_point.transactions)
    await hass.async_block_till_done()

    assert scanned == []


async def test_transactions_started_offline_arrive_late_and_are_billed(
    hass: HomeAssistant, connect: Any
) -> None:
    """A charger offline for hours sends its queued StartTransaction and StopTransaction."""
    await register(hass, IdTagRecord("CARD", tenant="Flat 12"))
    charge_point: SimulatedChargePoint = await connect("CP001")
    started_events = async_capture_events(hass, f"{DOMAIN}_transaction_started")
    stopped_events = async_capture_events(hass, f"{DOMAIN}_transaction_stopped")
    await charge_point.disconnect()
    # While it was offline the tenant moved out and the card was blocked.
    registry = hass.data[ID_TAGS]
    await registry.async_update(registry.records["CARD"].updated(status="Blocked"), None)

    await charge_point.connect(charge_point.url)
    four_hours_ago = datetime.now(UTC) - timedelta(hours=4)
    started = await charge_point.call_raw(
        "StartTransaction", start_payload("CARD", at=four_hours_ago)
    )
    stopped = await charge_point.call_raw(
        "StopTransaction",
        {
            "transactionId": started["transactionId"],
            "meterStop": 23_000,
            "timestamp": (four_hours_ago + timedelta(hours=2)).isoformat(),
            "idTag": "CARD",
            "reason": "Local",
        },
    )
    await hass.async_block_till_done()

    assert started["idTagInfo"] == {"status": "Blocked"}
    assert stopped == {"idTagInfo": {"status": "Blocked"}}
    entry = hass.config_entries.async_get_entry(entry_id_of(hass, "CP001"))
    assert entry is not None
    finished = entry.runtime_data.charge_point.connectors[1].last_transaction
    assert finished is not None
    assert finished.transaction_id == started["transactionId"]
    assert finished.energy_wh == 22_000
    assert finished.tenant == "Flat 12"
    assert finished.started_at == four_hours_ago.replace(
        microsecond=finished.started_at.microsecond
    )
    assert started_events[-1].data["tenant"] == "Flat 12"
    assert stopped_events[-1].data["tenant"] == "Flat 12"
    assert stopped_events[-1].data["energy_kwh"] == 22.0


async def test_tags_and_list_versions_survive_a_restart(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    charge_points: list[SimulatedChargePoint],
) -> None:
    await register(hass, IdTagRecord("CARD", tenant="Flat 12", parent_id_tag=FAMILY))
    entry = await add_charge_point(hass, server_entry, "CP001")
    charge_point = SimulatedChargePoint("CP001")
    charge_points.append(charge_point)
    url = server_url(server_entry)
    await charge_point.connect(url)
    await wait_for(lambda: entry.runtime_data.charge_point.local_list.synced_at is not None)
    version = charge_point.local_list_version
    assert version >= 1
    assert "CARD" in charge_point.local_list

    # Home Assistant stops; it starts again with nothing but its storage.
    for config_entry in (entry, server_entry):
        assert await hass.config_entries.async_unload(config_entry.entry_id)
    await charge_point.wait_closed()
    async_drop_hub(hass, server_entry.entry_id)
    await async_setup_id_tags(hass)
    for config_entry in (server_entry, entry):
        assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.data[ID_TAGS].records["CARD"] == IdTagRecord(
        "CARD", tenant="Flat 12", parent_id_tag=FAMILY
    )
    assert entry.runtime_data.charge_point.local_list.version == version

    # The charger comes back: its list is known, so nothing is sent again.
    state = entry.runtime_data.charge_point.local_list
    synced_before = state.synced_at
    sent_before = sum(action == "SendLocalList" for action, _ in charge_point.calls_received)
    await charge_point.connect(server_url(server_entry))
    await wait_for(lambda: state.synced_at != synced_before)
    await hass.async_block_till_done()
    assert (
        sum(action == "SendLocalList" for action, _ in charge_point.calls_received) == sent_before
    )
    assert charge_point.local_list_version == version
