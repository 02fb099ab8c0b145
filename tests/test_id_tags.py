"""Id tags: the services and the server's options flow, kept with Home Assistant's tags."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from homeassistant.components.tag import TAG_DATA, async_scan_tag
from homeassistant.core import HomeAssistant, ServiceResponse
from homeassistant.data_entry_flow import FlowResult, FlowResultType, InvalidData
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.central.authorization import IdTagRecord
from custom_components.csms.const import DOMAIN
from custom_components.csms.id_tags import ID_TAGS, STORAGE_KEY, IdTagRegistry

from .conftest import entry_id_of, server_config_entry

# Every field a user sets, as the services take them.
FULL_TAG: dict[str, Any] = {
    "id_tag": "04A2B3C4",
    "name": "Alice's card",
    "status": "Blocked",
    "expiry_date": "2030-06-01T10:00:00+00:00",
    "parent_id_tag": "FAMILY",
    "tenant": "Flat 12",
    "charge_points": ["CP001"],
    "group_limit": 2,
}
# How the services describe that tag.
FULL_DESCRIPTION: dict[str, Any] = {
    "name": "Alice's card",
    "id_tag": "04A2B3C4",
    "status": "Blocked",
    "expiry_date": "2030-06-01T10:00:00+00:00",
    "parent_id_tag": "FAMILY",
    "tenant": "Flat 12",
    "charge_points": ["CP001"],
    "group_limit": 2,
}
INVALID = "invalid_service_data"

# The server options menu before any tag is registered.
SERVER_MENU = ["settings", "security", "add_charger", "load_management", "add_tag"]


async def call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> ServiceResponse:
    """Call a csms service and return its response data."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=service != "remove_tag"
    )


def ha_tag_name(hass: HomeAssistant, id_tag: str) -> str | None:
    """The tag's name as Home Assistant shows it (Settings > Tags)."""
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id("tag", "tag", id_tag)
    assert entity_id is not None, id_tag
    entry = registry.async_get(entity_id)
    assert entry is not None
    return entry.name or entry.original_name


def records(hass: HomeAssistant) -> dict[str, IdTagRecord]:
    """The id tags csms keeps."""
    return dict(hass.data[ID_TAGS].records)


def field(result: FlowResult, name: str) -> Any:
    """A form's schema key for a field (it carries the default and suggested value)."""
    for key in result["data_schema"].schema:
        if key == name:
            return key
    raise AssertionError(f"no field {name}")


def suggested(result: FlowResult) -> dict[str, Any]:
    """The values a form shows prefilled."""
    return {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }


def options_of(result: FlowResult, name: str) -> list[dict[str, str]]:
    """The choices a select field offers."""
    options: list[dict[str, str]] = (
        result["data_schema"].schema[field(result, name)].config["options"]
    )
    return options


async def open_menu(hass: HomeAssistant, entry: MockConfigEntry) -> FlowResult:
    """Start the server's options flow."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "server"
    return result


async def choose(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> FlowResult:
    """Open a step of the server's options menu."""
    result = await open_menu(hass, entry)
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )


async def submit(hass: HomeAssistant, result: FlowResult, data: dict[str, Any]) -> FlowResult:
    """Submit a form of the options flow."""
    return await hass.config_entries.options.async_configure(result["flow_id"], data)


# Services


async def test_add_tag_with_every_field(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await connect("CP001")
    assert await call(hass, "add_tag", FULL_TAG) == FULL_DESCRIPTION

    tag = hass.data[TAG_DATA].data["04A2B3C4"]
    assert tag["name"] == "Alice's card"
    assert ha_tag_name(hass, "04A2B3C4") == "Alice's card"
    assert records(hass)["04A2B3C4"] == IdTagRecord(
        "04A2B3C4",
        status="Blocked",
        expiry_date=datetime(2030, 6, 1, 10, tzinfo=UTC),
        parent_id_tag="FAMILY",
        tenant="Flat 12",
        charge_points=frozenset({"CP001"}),
        group_limit=2,
    )
    assert await call(hass, "list_tags", {}) == {"id_tags": [FULL_DESCRIPTION]}


async def test_an_existing_home_assistant_tag_keeps_its_name(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    await hass.data[TAG_DATA].async_create_item({"tag_id": "04CCDD", "name": "Bob's card"})
    response = await call(hass, "add_tag", {"id_tag": "04CCDD"})
    assert response == {
        "name": "Bob's card",
        "id_tag": "04CCDD",
        "status": "Accepted",
        "expiry_date": None,
        "parent_id_tag": None,
        "tenant": None,
        "charge_points": None,
        "group_limit": None,
    }
    assert ha_tag_name(hass, "04CCDD") == "Bob's card"


async def test_list_tags_by_tenant(hass: HomeAssistant, server_entry: MockConfigEntry) -> None:
    await call(hass, "add_tag", {"id_tag": "T3", "tenant": "Flat 12"})
    await call(hass, "add_tag", {"id_tag": "T1", "tenant": "Flat 12"})
    await call(hass, "add_tag", {"id_tag": "T2", "tenant": "Flat 7"})
    await call(hass, "add_tag", {"id_tag": "T0"})

    def ids(response: ServiceResponse) -> list[str]:
        assert response is not None
        return [tag["id_tag"] for tag in response["id_tags"]]  # type: ignore[union-attr]

    assert ids(await call(hass, "list_tags", {})) == ["T0", "T1", "T2", "T3"]
    assert ids(await call(hass, "list_tags", {"tenant": "Flat 12"})) == ["T1", "T3"]
    assert ids(await call(hass, "list_tags", {"tenant": "Flat 7"})) == ["T2"]
    assert ids(await call(hass, "list_tags", {"tenant": "Nobody"})) == []


async def test_update_tag_changes_only_the_fields_given(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await connect("CP001")
    await connect("CP002")
    await call(hass, "add_tag", FULL_TAG)

    response = await call(hass, "update_tag", {"id_tag": "04A2B3C4", "status": "Accepted"})
    assert response == FULL_DESCRIPTION | {"status": "Accepted"}

    response = await call(
        hass, "update_tag", {"id_tag": "04A2B3C4", "charge_points": ["CP002", "CP001"]}
    )
    assert response == FULL_DESCRIPTION | {
        "status": "Accepted",
        "charge_points": ["CP001", "CP002"],
    }

    # None clears a field.
    response = await call(
        hass,
        "update_tag",
        {
            "id_tag": "04A2B3C4",
            "expiry_date": None,
            "charge_points": None,
            "parent_id_tag": None,
            "tenant": None,
            "group_limit": None,
        },
    )
    assert response == {
        "name": "Alice's card",
        "id_tag": "04A2B3C4",
        "status": "Accepted",
        "expiry_date": None,
        "parent_id_tag": None,
        "tenant": None,
        "charge_points": None,
        "group_limit": None,
    }
    assert records(hass)["04A2B3C4"] == IdTagRecord("04A2B3C4")
    assert ha_tag_name(hass, "04A2B3C4") == "Alice's card"


async def test_update_tag_renames_the_home_assistant_tag(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    await call(hass, "add_tag", {"id_tag": "04A2B3C4", "name": "Alice's card", "tenant": "A"})
    response = await call(hass, "update_tag", {"id_tag": "04A2B3C4", "name": "  Work card  "})
    assert response is not None
    assert response["name"] == "Work card"
    assert response["tenant"] == "A"
    assert ha_tag_name(hass, "04A2B3C4") == "Work card"
    assert hass.data[TAG_DATA].data["04A2B3C4"]["name"] == "Work card"


async def test_remove_tag_keeps_the_home_assistant_tag(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    await call(hass, "add_tag", {"id_tag": "04A2B3C4", "name": "Alice's card"})
    await call(hass, "add_tag", {"id_tag": "04EEFF"})
    assert await call(hass, "remove_tag", {"id_tag": "04A2B3C4"}) is None

    assert list(records(hass)) == ["04EEFF"]
    assert "04A2B3C4" in hass.data[TAG_DATA].data
    assert ha_tag_name(hass, "04A2B3C4") == "Alice's card"
    response = await call(hass, "list_tags", {})
    assert response is not None
    assert [tag["id_tag"] for tag in response["id_tags"]] == ["04EEFF"]  # type: ignore[union-attr]
    # Registered again, it is a new id tag under its old name.
    response = await call(hass, "add_tag", {"id_tag": "04A2B3C4"})
    assert response is not None
    assert response["name"] == "Alice's card"


@pytest.mark.parametrize(
    ("service", "data", "expected"),
    [
        ("add_tag", {"id_tag": "KNOWN", "tenant": "B"}, ("id_tag_exists", {"id_tag": "KNOWN"})),
        ("update_tag", {"id_tag": "NOBODY"}, ("unknown_id_tag", {"id_tag": "NOBODY"})),
        ("remove_tag", {"id_tag": "NOBODY"}, ("unknown_id_tag", {"id_tag": "NOBODY"})),
        (
            "add_tag",
            {"id_tag": "SELF", "parent_id_tag": " SELF "},
            ("parent_is_self", {"id_tag": "SELF"}),
        ),
        (
            "update_tag",
            {"id_tag": "KNOWN", "parent_id_tag": "KNOWN"},
            ("parent_is_self", {"id_tag": "KNOWN"}),
        ),
        (
            "add_tag",
            {"id_tag": "NEW", "charge_points": ["CP001", "CP404", "CP403"]},
            ("unknown_charge_points", {"charge_points": "CP403, CP404"}),
        ),
        (
            "update_tag",
            {"id_tag": "KNOWN", "charge_points": ["CP404"]},
            ("unknown_charge_points", {"charge_points": "CP404"}),
        ),
        ("add_tag", {"id_tag": "NEW", "status": "Invalid"}, (INVALID, None)),
        ("add_tag", {"id_tag": "NEW", "status": "ConcurrentTx"}, (INVALID, None)),
        ("add_tag", {"id_tag": "T" * 21}, (INVALID, None)),
        ("add_tag", {"id_tag": "  "}, (INVALID, None)),
        ("add_tag", {"id_tag": "NEW", "parent_id_tag": "P" * 21}, (INVALID, None)),
        ("add_tag", {"id_tag": "NEW", "expiry_date": "not a date"}, (INVALID, None)),
        ("add_tag", {"id_tag": "NEW", "group_limit": 0}, (INVALID, None)),
        ("add_tag", {"id_tag": "NEW", "name": ""}, (INVALID, None)),
        ("add_tag", {"id_tag": "NEW", "colour": "red"}, (INVALID, None)),
        ("update_tag", {"id_tag": "KNOWN", "status": None}, (INVALID, None)),
        ("remove_tag", {"id_tag": "T" * 21}, (INVALID, None)),
        ("list_tags", {"tenant": ["A", "B"]}, (INVALID, None)),
    ],
)
@pytest.mark.usefixtures("server_entry")
async def test_bad_input_changes_nothing(
    hass: HomeAssistant,
    connect: Any,
    service: str,
    data: dict[str, Any],
    expected: tuple[str, dict[str, str] | None],
) -> None:
    translation_key, placeholders = expected
    await connect("CP001")
    await call(hass, "add_tag", {"id_tag": "KNOWN", "name": "Known card", "tenant": "A"})
    before = records(hass)

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == translation_key
    if placeholders is not None:
        assert err.value.translation_placeholders == placeholders
    assert records(hass) == before
    assert ha_tag_name(hass, "KNOWN") == "Known card"
    # A refused new tag does not become a Home Assistant tag either.
    assert set(hass.data[TAG_DATA].data) == {"KNOWN"}


async def test_a_date_without_time_zone_is_local_time(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    await hass.config.async_set_time_zone("Europe/Berlin")
    response = await call(
        hass, "add_tag", {"id_tag": "SUMMER", "expiry_date": "2030-06-01 12:00:00"}
    )
    assert response is not None
    assert response["expiry_date"] == "2030-06-01T10:00:00+00:00"
    response = await call(
        hass, "update_tag", {"id_tag": "SUMMER", "expiry_date": "2030-12-01 12:00:00"}
    )
    assert response is not None
    assert response["expiry_date"] == "2030-12-01T11:00:00+00:00"
    expiry = records(hass)["SUMMER"].expiry_date
    assert expiry == datetime(2030, 12, 1, 11, tzinfo=UTC)
    assert expiry is not None
    assert expiry.utcoffset() is not None
    assert not expiry.utcoffset()
    # A date with an offset keeps its instant.
    response = await call(
        hass, "update_tag", {"id_tag": "SUMMER", "expiry_date": "2030-12-01T12:00:00-05:00"}
    )
    assert response is not None
    assert response["expiry_date"] == "2030-12-01T17:00:00+00:00"


async def test_tags_survive_a_restart(
    hass: HomeAssistant,
    server_entry: MockConfigEntry,
    connect: Any,
    hass_storage: dict[str, Any],
) -> None:
    await connect("CP001")
    await call(hass, "add_tag", FULL_TAG)
    await call(hass, "add_tag", {"id_tag": "GONE"})
    await call(hass, "add_tag", {"id_tag": "PLAIN", "tenant": "Flat 7"})
    await call(hass, "update_tag", {"id_tag": "PLAIN", "tenant": None, "group_limit": 3})
    await call(hass, "remove_tag", {"id_tag": "GONE"})

    stored = hass_storage[STORAGE_KEY]["data"]["id_tags"]
    assert [item["id_tag"] for item in stored] == ["04A2B3C4", "PLAIN"]

    restarted = IdTagRegistry(hass)
    await restarted.async_load()
    assert restarted.records == records(hass)
    assert restarted.records["PLAIN"] == IdTagRecord("PLAIN", group_limit=3)
    assert restarted.records["04A2B3C4"].expiry_date == datetime(2030, 6, 1, 10, tzinfo=UTC)
    assert restarted.records["04A2B3C4"].charge_points == frozenset({"CP001"})


# Options flow of a server


async def test_menu_offers_changes_once_there_are_tags(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    result = await open_menu(hass, server_entry)
    assert result["menu_options"] == SERVER_MENU
    hass.config_entries.options.async_abort(result["flow_id"])

    await call(hass, "add_tag", {"id_tag": "T1"})
    result = await open_menu(hass, server_entry)
    assert result["menu_options"] == [*SERVER_MENU, "edit_tag", "remove_tag"]


async def test_settings_keep_the_other_options(hass: HomeAssistant) -> None:
    entry = server_config_entry(
        options={"onboarding": "accept", "unknown_id_tags": "accepted", "other": "kept"}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    result = await choose(hass, entry, "settings")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    assert field(result, "onboarding").default() == "accept"
    assert field(result, "unknown_id_tags").default() == "accepted"

    result = await submit(hass, result, {"onboarding": "ask", "unknown_id_tags": "invalid"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        "onboarding": "ask",
        "unknown_id_tags": "invalid",
        "ledger_retention_months": 13,
        "other": "kept",
    }


async def test_settings_default_to_asking_and_refusing(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    result = await choose(hass, server_entry, "settings")
    assert field(result, "onboarding").default() == "ask"
    assert field(result, "unknown_id_tags").default() == "invalid"


async def test_add_a_scanned_card(hass: HomeAssistant, server_entry: MockConfigEntry) -> None:
    await async_scan_tag(hass, "04AABB", None)
    await hass.data[TAG_DATA].async_create_item({"tag_id": "04CCDD", "name": "Bob's card"})
    # Too long for an id tag: not offered.
    await hass.data[TAG_DATA].async_create_item({"tag_id": "X" * 21})
    await call(hass, "add_tag", {"id_tag": "REGISTERED"})
    await hass.async_block_till_done()

    result = await choose(hass, server_entry, "add_tag")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "add_tag"
    assert result["errors"] == {}
    # A tag without a name of its own shows its id alone, not "Tag <id>".
    assert options_of(result, "id_tag") == [
        {"value": "04AABB", "label": "04AABB"},
        {"value": "04CCDD", "label": "Bob's card (04CCDD)"},
    ]
    assert field(result, "status").default() == "Accepted"
    assert options_of(result, "charge_points") == []

    result = await submit(hass, result, {"id_tag": "04AABB", "status": "Accepted"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == dict(server_entry.options)
    assert records(hass)["04AABB"] == IdTagRecord("04AABB")
    assert ha_tag_name(hass, "04AABB") == "Tag 04AABB"

    # A name given renames the Home Assistant tag.
    result = await choose(hass, server_entry, "add_tag")
    assert [option["value"] for option in options_of(result, "id_tag")] == ["04CCDD"]
    result = await submit(
        hass, result, {"id_tag": "04CCDD", "name": " Robert ", "status": "Blocked"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert records(hass)["04CCDD"] == IdTagRecord("04CCDD", status="Blocked")
    assert ha_tag_name(hass, "04CCDD") == "Robert"


async def test_add_a_typed_tag_with_every_field(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await hass.config.async_set_time_zone("Europe/Berlin")
    await connect("CP001")
    await connect("CP002")
    hass.config_entries.async_update_entry(
        hass.config_entries.async_get_known_entry(entry_id_of(hass, "CP002")), title="Garage"
    )

    result = await choose(hass, server_entry, "add_tag")
    assert options_of(result, "charge_points") == [
        {"value": "CP001", "label": "CP001"},
        {"value": "CP002", "label": "Garage"},
    ]
    result = await submit(
        hass,
        result,
        {
            "id_tag": " 04A2B3C4 ",
            "name": "Alice's card",
            "status": "Expired",
            "expiry_date": "2030-06-01 12:00:00",
            "parent_id_tag": " FAMILY ",
            "tenant": " Flat 12 ",
            "charge_points": ["CP002"],
            "group_limit": 4.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert records(hass)["04A2B3C4"] == IdTagRecord(
        "04A2B3C4",
        status="Expired",
        expiry_date=datetime(2030, 6, 1, 10, tzinfo=UTC),
        parent_id_tag="FAMILY",
        tenant="Flat 12",
        charge_points=frozenset({"CP002"}),
        group_limit=4,
    )
    assert hass.data[TAG_DATA].data["04A2B3C4"]["name"] == "Alice's card"
    assert ha_tag_name(hass, "04A2B3C4") == "Alice's card"


async def test_add_tag_errors_then_recover(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await connect("CP001")
    await connect("CP002")
    await call(hass, "add_tag", {"id_tag": "KNOWN"})
    before = records(hass)
    result = await choose(hass, server_entry, "add_tag")

    for data, errors in (
        ({"id_tag": "   "}, {"id_tag": "invalid_id_tag"}),
        ({"id_tag": "T" * 21}, {"id_tag": "invalid_id_tag"}),
        ({"id_tag": " KNOWN "}, {"id_tag": "id_tag_exists"}),
        ({"id_tag": "NEW", "parent_id_tag": "P" * 21}, {"base": "invalid_parent_id_tag"}),
        ({"id_tag": "NEW", "parent_id_tag": " NEW "}, {"base": "parent_is_self"}),
    ):
        result = await submit(hass, result, {"status": "Accepted", **data})
        assert result["type"] is FlowResultType.FORM, data
        assert result["step_id"] == "add_tag"
        assert result["errors"] == errors
        # The form keeps what was typed.
        assert suggested(result)["id_tag"] == data["id_tag"]
        assert records(hass) == before

    # A charger removed while the form was open is refused.
    assert [option["value"] for option in options_of(result, "charge_points")] == [
        "CP001",
        "CP002",
    ]
    await hass.config_entries.async_remove(entry_id_of(hass, "CP002"))
    await hass.async_block_till_done()
    result = await submit(
        hass, result, {"id_tag": "NEW", "status": "Accepted", "charge_points": ["CP002"]}
    )
    assert result["errors"] == {"base": "unknown_charge_points"}
    assert [option["value"] for option in options_of(result, "charge_points")] == ["CP001"]
    assert records(hass) == before
    assert "NEW" not in hass.data[TAG_DATA].data

    result = await submit(
        hass,
        result,
        {"id_tag": "NEW", "status": "Accepted", "parent_id_tag": "KNOWN", "charge_points": []},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert records(hass)["NEW"] == IdTagRecord("NEW", parent_id_tag="KNOWN")
    assert "NEW" in hass.data[TAG_DATA].data


async def test_add_tag_with_a_date_that_is_not_one(
    hass: HomeAssistant, server_entry: MockConfigEntry
) -> None:
    result = await choose(hass, server_entry, "add_tag")
    # The form's date field refuses text that is no date before the step sees it.
    with pytest.raises(InvalidData) as err:
        await submit(
            hass, result, {"id_tag": "NEW", "status": "Accepted", "expiry_date": "not a date"}
        )
    assert err.value.path == ["expiry_date"]
    assert records(hass) == {}

    result = await submit(
        hass, result, {"id_tag": "NEW", "status": "Accepted", "expiry_date": "2030-06-01 12:00"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert records(hass)["NEW"].expiry_date == datetime(2030, 6, 1, 19, tzinfo=UTC)


async def test_edit_a_tag(hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any) -> None:
    await hass.config.async_set_time_zone("Europe/Berlin")
    await connect("CP001")
    await connect("CP002")
    await call(hass, "add_tag", FULL_TAG)
    await call(hass, "add_tag", {"id_tag": "PLAIN"})
    await call(hass, "add_tag", {"id_tag": "ORPHAN", "tenant": "Flat 7"})
    await call(hass, "add_tag", {"id_tag": "BARE"})
    # Their Home Assistant tags deleted: csms keeps the id tags, without names.
    await hass.data[TAG_DATA].async_delete_item("ORPHAN")
    await hass.data[TAG_DATA].async_delete_item("BARE")
    await hass.async_block_till_done()

    result = await choose(hass, server_entry, "edit_tag")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "edit_tag"
    assert options_of(result, "id_tag") == [
        {"value": "04A2B3C4", "label": "04A2B3C4 (Alice's card, Flat 12)"},
        {"value": "BARE", "label": "BARE"},
        {"value": "ORPHAN", "label": "ORPHAN (Flat 7)"},
        {"value": "PLAIN", "label": "PLAIN"},
    ]

    result = await submit(hass, result, {"id_tag": "04A2B3C4"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "tag"
    assert result["description_placeholders"] == {"id_tag": "04A2B3C4"}
    assert suggested(result) == {
        "name": "Alice's card",
        "status": "Blocked",
        # Shown in Home Assistant's time zone.
        "expiry_date": "2030-06-01 12:00:00",
        "parent_id_tag": "FAMILY",
        "tenant": "Flat 12",
        "charge_points": ["CP001"],
        "group_limit": 2,
    }

    form = {
        "name": "Alice's work card",
        "status": "Accepted",
        "expiry_date": "2031-01-01 00:00:00",
        "parent_id_tag": "04A2B3C4",
        "charge_points": ["CP001", "CP002"],
        "group_limit": 5,
    }
    result = await submit(hass, result, form)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "tag"
    assert result["errors"] == {"base": "parent_is_self"}
    # The form keeps what was typed, not the stored values.
    assert suggested(result)["name"] == "Alice's work card"
    assert "tenant" not in suggested(result)
    assert records(hass)["04A2B3C4"].status == "Blocked"

    # The tenant left out is cleared; the parent too.
    result = await submit(hass, result, {**form, "parent_id_tag": ""})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == dict(server_entry.options)
    assert records(hass)["04A2B3C4"] == IdTagRecord(
        "04A2B3C4",
        status="Accepted",
        expiry_date=datetime(2030, 12, 31, 23, tzinfo=UTC),
        charge_points=frozenset({"CP001", "CP002"}),
        group_limit=5,
    )
    assert ha_tag_name(hass, "04A2B3C4") == "Alice's work card"


async def test_edit_a_tag_with_nothing_set(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await connect("CP001")
    await call(hass, "add_tag", {"id_tag": "BARE", "status": "Blocked"})
    await hass.data[TAG_DATA].async_delete_item("BARE")
    await hass.async_block_till_done()

    result = await choose(hass, server_entry, "edit_tag")
    result = await submit(hass, result, {"id_tag": "BARE"})
    assert suggested(result) == {"status": "Blocked"}

    # Without a name the Home Assistant tag comes back under its default name.
    result = await submit(
        hass,
        result,
        {"status": "Accepted", "tenant": "Flat 3", "charge_points": ["CP001"], "group_limit": 1},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert records(hass)["BARE"] == IdTagRecord(
        "BARE", tenant="Flat 3", charge_points=frozenset({"CP001"}), group_limit=1
    )
    assert "BARE" in hass.data[TAG_DATA].data
    assert ha_tag_name(hass, "BARE") == "Tag BARE"

    # Saved unchanged, the record stays the same.
    result = await choose(hass, server_entry, "edit_tag")
    result = await submit(hass, result, {"id_tag": "BARE"})
    prefilled = suggested(result)
    assert prefilled == {
        "status": "Accepted",
        "tenant": "Flat 3",
        "charge_points": ["CP001"],
        "group_limit": 1,
    }
    result = await submit(hass, result, prefilled)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert records(hass)["BARE"] == IdTagRecord(
        "BARE", tenant="Flat 3", charge_points=frozenset({"CP001"}), group_limit=1
    )


async def test_remove_several_tags(hass: HomeAssistant, server_entry: MockConfigEntry) -> None:
    for id_tag in ("T1", "T2", "T3"):
        await call(hass, "add_tag", {"id_tag": id_tag, "name": f"Card {id_tag}"})

    result = await choose(hass, server_entry, "remove_tag")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "remove_tag"
    selector = result["data_schema"].schema[field(result, "id_tag")]
    assert selector.config["multiple"] is True
    assert [option["value"] for option in selector.config["options"]] == ["T1", "T2", "T3"]

    result = await submit(hass, result, {"id_tag": ["T1", "T3"]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == dict(server_entry.options)
    assert list(records(hass)) == ["T2"]
    # Their Home Assistant tags stay, with their names.
    assert {"T1", "T2", "T3"} <= set(hass.data[TAG_DATA].data)
    assert ha_tag_name(hass, "T1") == "Card T1"

    result = await open_menu(hass, server_entry)
    assert result["menu_options"] == [*SERVER_MENU, "edit_tag", "remove_tag"]
    result = await choose(hass, server_entry, "remove_tag")
    result = await submit(hass, result, {"id_tag": ["T2"]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert records(hass) == {}
    result = await open_menu(hass, server_entry)
    assert result["menu_options"] == SERVER_MENU


async def test_a_tag_naming_a_removed_charger_can_still_be_saved(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    await connect("CP001")
    await connect("CP002")
    await call(hass, "add_tag", {"id_tag": "T", "charge_points": ["CP001", "CP002"]})
    assert await hass.config_entries.async_remove(entry_id_of(hass, "CP002"))
    await hass.async_block_till_done()

    # Saved unchanged in the form, the removed charger stays (offered by its id).
    result = await choose(hass, server_entry, "edit_tag")
    result = await submit(hass, result, {"id_tag": "T"})
    assert {"value": "CP002", "label": "CP002"} in options_of(result, "charge_points")
    result = await submit(hass, result, suggested(result))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert records(hass)["T"].charge_points == frozenset({"CP001", "CP002"})

    # The service takes it too; a charger never known is still refused.
    await call(hass, "update_tag", {"id_tag": "T", "charge_points": ["CP002"]})
    assert records(hass)["T"].charge_points == frozenset({"CP002"})
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "update_tag", {"id_tag": "T", "charge_points": ["CP001", "CP009"]})
    assert err.value.translation_key == "unknown_charge_points"
