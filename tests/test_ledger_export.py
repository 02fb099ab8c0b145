"""The energy ledger in Home Assistant: CSV download, services, cost, tenants, retention."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
import io
from itertools import accumulate
from typing import Any

from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import Context, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import Unauthorized
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    CLIENT_ID,
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.csms.central.ledger import QUARTER_HOUR, quarter_hour_start
from custom_components.csms.central.ledger_export import CSV_COLUMNS
from custom_components.csms.const import DOMAIN
from custom_components.csms.energy_ledger import retention_start
from custom_components.csms.tenant_statistics import TENANT_STATISTICS, statistic_id
from simulator import SimulatedChargePoint

from .conftest import server_config_entry
from .test_energy import meter_values, sessions, start, stop
from .test_entities import get
from .test_id_tags import choose, submit

CSV_URL = "/api/csms/energy_intervals.csv"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Load custom_components/; first a recorder a test asks for (it must precede hass)."""
    if "recorder_mock" in request.fixturenames:
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
async def zurich(hass: HomeAssistant) -> None:
    """Swiss local time, before the integration schedules anything in local time."""
    await hass.config.async_update(time_zone="Europe/Zurich")


async def export(
    hass: HomeAssistant, begin: Any, end: Any, context: Context | None = None, **filters: Any
) -> dict[str, Any]:
    """csms.export_energy_intervals, the whole response."""
    response = await hass.services.async_call(
        DOMAIN,
        "export_energy_intervals",
        {"start": begin, "end": end, **filters},
        blocking=True,
        return_response=True,
        context=context,
    )
    assert isinstance(response, dict)
    return response


def table(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV download."""
    header, *rows = list(csv.reader(io.StringIO(text)))
    return header, [dict(zip(header, row, strict=True)) for row in rows]


def row_of(item: dict[str, Any]) -> dict[str, str]:
    """The CSV row an interval of the service response stands for."""
    local = dt_util.get_default_time_zone()
    return {
        "interval_start_utc": item["start"],
        "interval_end_utc": item["end"],
        "interval_start_local": datetime.fromisoformat(item["start"]).astimezone(local).isoformat(),
        "interval_end_local": datetime.fromisoformat(item["end"]).astimezone(local).isoformat(),
        "charge_point_id": item["charge_point_id"],
        "connector_id": str(item["connector_id"]),
        "transaction_id": str(item["transaction_id"]),
        "id_tag": item["id_tag"],
        "tenant": item["tenant"] or "",
        "energy_kwh": f"{item['energy_wh'] / 1000:.3f}",
        "estimated": "true" if item["estimated"] else "false",
    }


def transactions(items: list[dict[str, Any]]) -> set[int]:
    """The transactions of some intervals."""
    return {item["transaction_id"] for item in items}


async def download(client: Any, **query: str) -> tuple[list[str], list[dict[str, str]]]:
    """GET the CSV; it must be a CSV."""
    response = await client.get(CSV_URL, params=query)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/csv"
    return table(await response.text())


async def add_tag(hass: HomeAssistant, id_tag: str, tenant: str) -> None:
    """Register a card that bills to a tenant."""
    await hass.services.async_call(
        DOMAIN, "add_tag", {"id_tag": id_tag, "tenant": tenant}, blocking=True
    )


async def charge(
    charge_point: SimulatedChargePoint, id_tag: str, at: datetime, energy_wh: int
) -> int:
    """A short finished session: start, stop 20 minutes later; the transaction id."""
    transaction_id = await start(charge_point, 3_000_000, at, id_tag)
    await stop(charge_point, transaction_id, 3_000_000 + energy_wh, at + timedelta(minutes=20))
    return transaction_id


async def charge_local_day(charge_point: SimulatedChargePoint, day: date) -> int:
    """An offline session from local midnight to midnight read every quarter hour; its Wh."""
    tz = dt_util.get_default_time_zone()
    begin = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    quarters = (end - begin) // QUARTER_HOUR
    register = meter_start = 2_000_000
    readings: list[tuple[datetime, float, str]] = []
    for index in range(1, quarters):
        register += 1 + 7 * (index % 40)
        readings.append((begin + index * QUARTER_HOUR, register, "Sample.Clock"))
    transaction_id = await start(charge_point, meter_start, begin)
    for batch in range(0, len(readings), 25):
        await meter_values(
            charge_point, readings[batch : batch + 25], transaction_id=transaction_id
        )
    meter_stop = register + 5
    await stop(charge_point, transaction_id, meter_stop, end)
    return meter_stop - meter_start


async def test_admin_downloads_the_intervals_as_csv(
    hass: HomeAssistant, connect: Any, hass_client: ClientSessionGenerator
) -> None:
    await add_tag(hass, "CARD,7", "Flat 3, left")
    charge_point = await connect("CP001")
    t0 = quarter_hour_start(dt_util.utcnow()) - timedelta(hours=3)
    transaction_id = await start(charge_point, 1_000_000, t0 + timedelta(minutes=5), "CARD,7")
    await meter_values(
        charge_point,
        [
            (t0 + QUARTER_HOUR, 1_000_400, "Sample.Clock"),
            (t0 + 2 * QUARTER_HOUR, 1_001_000, "Sample.Clock"),
            (t0 + timedelta(minutes=52), 1_002_100, "Sample.Periodic"),
        ],
        transaction_id=transaction_id,
    )
    await stop(charge_point, transaction_id, 1_003_000, t0 + timedelta(minutes=70))
    await hass.async_block_till_done()

    begin, end = (t0 - timedelta(hours=1)).isoformat(), dt_util.utcnow().isoformat()
    response = await export(hass, begin, end)
    items = response["intervals"]
    # Clock readings fix the first two quarter hours; the rest is interpolated.
    assert [item["estimated"] for item in items] == [False, False, True, True, True]
    assert sum(item["energy_wh"] for item in items) == 3000
    assert response["total_kwh"] == 3.0

    client = await hass_client()
    header, rows = await download(client, start=begin, end=end)
    assert tuple(header) == CSV_COLUMNS
    assert rows == [row_of(item) for item in items]
    assert {(row["id_tag"], row["tenant"]) for row in rows} == {("CARD,7", "Flat 3, left")}
    assert rows[0]["energy_kwh"] == "0.400"


async def test_csv_is_for_admins_with_a_valid_range(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    *,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    hass_read_only_access_token: str,
    hass_read_only_user: MockUser,
) -> None:
    now = dt_util.utcnow()
    query = {"start": (now - timedelta(days=1)).isoformat(), "end": now.isoformat()}

    read_only = await hass_client(hass_read_only_access_token)
    assert (await read_only.get(CSV_URL, params=query)).status == 403
    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(CSV_URL, params=query)).status == 401

    admin = await hass_client()
    backwards = {"start": query["end"], "end": query["start"]}
    response = await admin.get(CSV_URL, params=backwards)
    assert response.status == 400
    assert "end must be after start" in (await response.json())["message"]
    assert (await admin.get(CSV_URL, params={"end": query["end"]})).status == 400
    assert (await admin.get(CSV_URL, params=query)).status == 200

    # Tenants and id tags are personal data: the service is for admins too.
    with pytest.raises(Unauthorized):
        await export(hass, now - timedelta(days=1), now, Context(user_id=hass_read_only_user.id))


@pytest.mark.parametrize(
    ("day", "quarters", "change", "around_change"),
    [
        # Clocks go back: 02:00-03:00 comes twice, told apart by the offset.
        (date(2026, 10, 25), 100, 11, ["02:45:00+02:00", "02:00:00+01:00", "02:15:00+01:00"]),
        # Clocks go forward: no 02:xx at all.
        (date(2026, 3, 29), 92, 7, ["01:45:00+01:00", "03:00:00+02:00", "03:15:00+02:00"]),
    ],
)
async def test_local_day_across_a_dst_change(
    hass: HomeAssistant,
    zurich: None,
    *,
    connect: Any,
    hass_client: ClientSessionGenerator,
    day: date,
    quarters: int,
    change: int,
    around_change: list[str],
) -> None:
    charge_point = await connect("CP001")
    energy_wh = await charge_local_day(charge_point, day)
    await hass.async_block_till_done()

    tz = dt_util.get_default_time_zone()
    begin = datetime.combine(day, time(), tzinfo=tz).isoformat()
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).isoformat()
    response = await export(hass, begin, end)
    items = response["intervals"]
    assert len(items) == quarters
    assert sum(item["energy_wh"] for item in items) == energy_wh
    assert not any(item["estimated"] for item in items)

    header, rows = await download(await hass_client(), start=begin, end=end)
    assert tuple(header) == CSV_COLUMNS
    assert len(rows) == quarters
    assert rows == [row_of(item) for item in items]
    assert sum(Decimal(row["energy_kwh"]) for row in rows) * 1000 == energy_wh
    local_starts = [row["interval_start_local"] for row in rows]
    assert local_starts[0] == begin
    assert rows[-1]["interval_end_local"] == end
    assert [at[11:] for at in local_starts[change : change + 3]] == around_change
    repeated = ["+02:00"] * 4 + ["+01:00"] * 4 if quarters == 100 else []
    assert [at[-6:] for at in local_starts if "T02:" in at] == repeated
    assert len(set(local_starts)) == quarters


async def signed_link(hass: HomeAssistant, connect: Any, user: MockUser) -> dict[str, Any]:
    """A finished session of 1.234 kWh; the export for ``user``, filtered by charger."""
    charge_point = await connect("CP001")
    t0 = quarter_hour_start(dt_util.utcnow()) - timedelta(hours=2)
    await charge(charge_point, "TAG1", t0 + timedelta(minutes=5), 1234)
    await hass.async_block_till_done()
    begin, end = (t0 - timedelta(hours=1)).isoformat(), dt_util.utcnow().isoformat()
    # An automation has no user whose access a link could carry.
    assert "csv_path" not in await export(hass, begin, end)
    response = await export(hass, begin, end, Context(user_id=user.id), charge_point_id="CP001")
    assert response["csv_path"].startswith(f"{CSV_URL}?")
    return response


async def test_signed_link_carries_the_query_and_its_signature_covers_it(
    hass: HomeAssistant,
    connect: Any,
    hass_admin_user: MockUser,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    await hass.auth.async_create_refresh_token(hass_admin_user, CLIENT_ID)
    link = URL((await signed_link(hass, connect, hass_admin_user))["csv_path"])
    assert link.query["charge_point_id"] == "CP001"
    assert "authSig" in link.query
    anonymous = await hass_client_no_auth()
    # Another filter needs another link.
    assert (await anonymous.get(str(link.update_query(charge_point_id="CP002")))).status == 401
    assert (await anonymous.get(str(link.without_query_params("authSig")))).status == 401


async def test_signed_link_downloads_the_csv_without_a_header(
    hass: HomeAssistant,
    connect: Any,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    response = await signed_link(hass, connect, hass_admin_user)
    signed = await (await hass_client_no_auth()).get(response["csv_path"])
    assert signed.status == 200, await signed.text()
    assert signed.content_type == "text/csv"
    text = await signed.text()
    header, rows = table(text)
    assert tuple(header) == CSV_COLUMNS
    assert rows == [row_of(item) for item in response["intervals"]]
    assert sum(Decimal(row["energy_kwh"]) for row in rows) == Decimal("1.234")
    query = URL(response["csv_path"]).query
    authorized = await (await hass_client()).get(
        CSV_URL, params={key: query[key] for key in ("start", "end", "charge_point_id")}
    )
    assert await authorized.text() == text


async def test_filters_by_charger_tenant_and_id_tag(
    hass: HomeAssistant, connect: Any, hass_client: ClientSessionGenerator
) -> None:
    await add_tag(hass, "ALICE1", "Flat A")
    await add_tag(hass, "ALICE2", "Flat A")
    await add_tag(hass, "BOB1", "Flat B")
    first, second = await connect("CP001"), await connect("CP002")
    t0 = quarter_hour_start(dt_util.utcnow()) - timedelta(hours=3)
    alice1 = await charge(first, "ALICE1", t0, 1000)
    bob1 = await charge(second, "BOB1", t0 + timedelta(minutes=10), 2000)
    alice2 = await charge(first, "ALICE2", t0 + timedelta(hours=1), 4000)
    await hass.async_block_till_done()
    begin, end = t0 - timedelta(hours=1), dt_util.utcnow()

    everything = (await export(hass, begin, end))["intervals"]
    assert transactions(everything) == {alice1, bob1, alice2}
    by_charger = (await export(hass, begin, end, charge_point_id="CP002"))["intervals"]
    assert transactions(by_charger) == {bob1}
    assert {(item["id_tag"], item["tenant"]) for item in by_charger} == {("BOB1", "Flat B")}
    by_tenant = await export(hass, begin, end, tenant="Flat A")
    assert transactions(by_tenant["intervals"]) == {alice1, alice2}
    assert by_tenant["total_kwh"] == 5.0
    by_tag = (await export(hass, begin, end, id_tag="ALICE2"))["intervals"]
    assert transactions(by_tag) == {alice2}
    assert sum(item["energy_wh"] for item in by_tag) == 4000

    _, rows = await download(
        await hass_client(), start=begin.isoformat(), end=end.isoformat(), tenant="Flat A"
    )
    assert {row["id_tag"] for row in rows} == {"ALICE1", "ALICE2"}
    assert {row["tenant"] for row in rows} == {"Flat A"}

    flat_a = await sessions(hass, tenant="Flat A")
    assert [(s["transaction_id"], s["id_tag"], s["tenant"]) for s in flat_a] == [
        (alice1, "ALICE1", "Flat A"),
        (alice2, "ALICE2", "Flat A"),
    ]
    (bob,) = await sessions(hass, charge_point_id="CP002")
    assert (bob["id_tag"], bob["tenant"], bob["energy_wh"]) == ("BOB1", "Flat B", 2000)


async def set_price(hass: HomeAssistant, entry: MockConfigEntry, **price: Any) -> None:
    """The server's settings form, with a price (or none)."""
    result = await choose(hass, entry, "settings")
    assert result["step_id"] == "settings"
    settings = {"onboarding": "ask", "unknown_id_tags": "invalid", "ledger_retention_months": 13}
    result = await submit(hass, result, settings | price)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_session_cost_at_a_fixed_price_then_a_price_entity(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await hass.config.async_update(currency="CHF")
    await set_price(hass, server_entry, energy_price=0.3)
    assert server_entry.options["energy_price"] == 0.3
    charge_point = await connect("CP001")
    now = dt_util.utcnow()

    transaction_id = await start(charge_point, 1_000_000, now - timedelta(minutes=50))
    await meter_values(charge_point, [(now - timedelta(minutes=45), 1_002_000, "Sample.Periodic")])
    await hass.async_block_till_done()
    cost = get(hass, "sensor", "CP001_1_session_cost")
    assert cost.attributes["unit_of_measurement"] == "CHF"
    assert float(cost.state) == pytest.approx(2.0 * 0.3)
    await stop(charge_point, transaction_id, 1_002_500, now - timedelta(minutes=40))
    await hass.async_block_till_done()
    assert float(get(hass, "sensor", "CP001_1_session_cost").state) == pytest.approx(2.5 * 0.3)

    # A price entity (a dynamic tariff) wins over the fixed price, as it changes.
    hass.states.async_set("sensor.price", "0.5")
    await set_price(hass, server_entry, energy_price=0.3, price_entity="sensor.price")
    transaction_id = await start(charge_point, 1_002_500, now - timedelta(minutes=30))
    await meter_values(charge_point, [(now - timedelta(minutes=25), 1_003_500, "Sample.Periodic")])
    await hass.async_block_till_done()
    assert float(get(hass, "sensor", "CP001_1_session_cost").state) == pytest.approx(0.5)
    hass.states.async_set("sensor.price", "0.2")
    await stop(charge_point, transaction_id, 1_004_500, now - timedelta(minutes=20))
    await hass.async_block_till_done()

    first, second = await sessions(hass)
    assert first["cost"] == pytest.approx(first["energy_kwh"] * 0.3)
    assert second["cost"] == pytest.approx(1.0 * 0.5 + 1.0 * 0.2)

    await set_price(hass, server_entry)
    assert "energy_price" not in server_entry.options
    assert "price_entity" not in server_entry.options
    transaction_id = await start(charge_point, 1_004_500, now - timedelta(minutes=10))
    await stop(charge_point, transaction_id, 1_005_000, now - timedelta(minutes=5))
    await hass.async_block_till_done()
    assert (await sessions(hass))[-1]["cost"] is None


async def test_tenant_statistics_sum_the_ledger_by_hour(
    recorder_mock: Any, hass: HomeAssistant, connect: Any
) -> None:
    await add_tag(hass, "ALICE1", "Flat A")
    charge_point = await connect("CP001")
    hour = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=4)
    transaction_id = await start(charge_point, 5_000_000, hour + timedelta(minutes=30), "ALICE1")
    at = hour + timedelta(minutes=45)
    readings = [
        (at + n * QUARTER_HOUR, 5_000_000 + 250 * (n + 1) ** 2, "Sample.Clock") for n in range(6)
    ]
    await meter_values(charge_point, readings, transaction_id=transaction_id)
    await stop(charge_point, transaction_id, 5_012_000, hour + timedelta(hours=2, minutes=10))
    await hass.async_block_till_done()

    # The ledger's quarter hours, added up per UTC hour and then cumulated (kWh).
    by_hour: dict[float, int] = {}
    for item in (await export(hass, hour, dt_util.utcnow()))["intervals"]:
        key = datetime.fromisoformat(item["start"]).replace(minute=0).timestamp()
        by_hour[key] = by_hour.get(key, 0) + item["energy_wh"]
    hours = sorted(by_hour)
    totals = accumulate(by_hour[key] / 1000 for key in hours)
    expected = [(key, pytest.approx(total)) for key, total in zip(hours, totals, strict=True)]
    assert len(expected) == 3
    assert expected[-1][1] == 12.0
    since, tenant = hour - timedelta(hours=1), statistic_id("Flat A")

    async def hourly_sums() -> list[tuple[float, float]]:
        await hass.data[TENANT_STATISTICS].async_update(dt_util.utcnow())
        await async_wait_recording_done(hass)
        found = await hass.async_add_executor_job(
            statistics_during_period, hass, since, None, {tenant}, "hour", None, {"sum"}
        )
        return [(row["start"], row["sum"]) for row in found[tenant]]

    assert await hourly_sums() == expected
    # Hours are imported again every hour; they must not count twice.
    assert await hourly_sums() == expected


async def test_retention_and_the_daily_purge(
    hass: HomeAssistant, zurich: None, server_entry: MockConfigEntry, connect: Any
) -> None:
    tz = dt_util.get_default_time_zone()
    hass.config_entries.async_update_entry(server_entry, options={"ledger_retention_months": 2})
    charge_point = await connect("CP001")

    # Just after local midnight, still the previous month in UTC.
    first_of_march = datetime(2026, 3, 1, 0, 30, tzinfo=tz)
    assert retention_start(hass, first_of_march) == datetime(2026, 1, 1, tzinfo=tz)
    assert retention_start(hass, datetime(2026, 5, 15, 12, tzinfo=UTC)) == datetime(
        2026, 3, 1, tzinfo=tz
    )
    # The longest retention of any server counts; charger entries have none.
    server_config_entry(port=1, options={"ledger_retention_months": 6}).add_to_hass(hass)
    assert retention_start(hass, datetime(2026, 5, 15, 12, tzinfo=UTC)) == datetime(
        2025, 11, 1, tzinfo=tz
    )

    now = dt_util.now()
    purge_at = now.replace(hour=3, minute=21, second=0, microsecond=0)
    if purge_at <= now:
        purge_at = datetime.combine(now.date() + timedelta(days=1), time(3, 21), tzinfo=tz)
    boundary = retention_start(hass, purge_at)
    assert dt_util.as_local(boundary).day == 1
    old = await charge(charge_point, "TAG1", boundary - timedelta(days=3), 500)
    kept = await charge(charge_point, "TAG1", boundary + timedelta(days=1), 700)
    await hass.async_block_till_done()

    async def stored() -> tuple[set[int], set[int]]:
        begin, end = boundary - timedelta(days=10), dt_util.utcnow()
        found = await hass.services.async_call(
            DOMAIN,
            "get_sessions",
            {"start": begin, "end": end},
            blocking=True,
            return_response=True,
        )
        items = (await export(hass, begin, end))["intervals"]
        assert isinstance(found, dict)
        return {s["transaction_id"] for s in found["sessions"]}, transactions(items)

    assert await stored() == ({old, kept}, {old, kept})
    async_fire_time_changed(hass, purge_at)
    await hass.async_block_till_done()
    assert await stored() == ({kept}, {kept})
