"""Assist: a spoken sentence starts charging on a simulated charger."""

from __future__ import annotations

from typing import Any

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import async_expose_entity
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import entity_registry as er, intent
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.csms.const import CONF_REMOTE_START_ID_TAG, DOMAIN

from .conftest import entry_id_of, wait_for


async def test_turn_on_charging_by_voice(
    hass: HomeAssistant, server_entry: MockConfigEntry, connect: Any
) -> None:
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    charge_point = await connect("CP001")
    entry = hass.config_entries.async_get_entry(entry_id_of(hass, "CP001"))
    assert entry is not None
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_REMOTE_START_ID_TAG: "ASSIST01"}
    )
    await hass.async_block_till_done()
    switch = er.async_get(hass).async_get_entity_id("switch", DOMAIN, "CP001_1_charging")
    assert switch is not None
    state = hass.states.get(switch)
    assert state is not None
    assert state.attributes["friendly_name"] == "CP001 Charging"
    async_expose_entity(hass, conversation.DOMAIN, switch, True)

    result = await conversation.async_converse(
        hass, "turn on CP001 charging", None, Context(), language="en"
    )

    assert result.response.response_type is intent.IntentResponseType.ACTION_DONE
    assert [target.id for target in result.response.success_results] == [switch]
    payload = await charge_point.wait_for_call("RemoteStartTransaction")
    assert payload == {"connectorId": 1, "idTag": "ASSIST01"}
    await charge_point.wait_background()
    await wait_for(lambda: hass.states.is_state(switch, "on"))
