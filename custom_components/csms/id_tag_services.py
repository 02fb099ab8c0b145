"""Services that manage id tags: add, update, remove and list them."""

from __future__ import annotations

from typing import Any

from homeassistant.const import CONF_NAME
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import probatio as vol

from .central.authorization import MAX_ID_TAG_LENGTH, TAG_STATUSES, IdTagRecord
from .const import DOMAIN
from .id_tags import (
    ATTR_CHARGE_POINTS,
    ATTR_EXPIRY_DATE,
    ATTR_GROUP_LIMIT,
    ATTR_PARENT_ID_TAG,
    ATTR_STATUS,
    ATTR_TENANT,
    ID_TAGS,
    RECORD_FIELDS,
    apply_changes,
    known_charge_points,
)
from .service_helpers import ServiceSchema

ATTR_ID_TAG = "id_tag"

SERVICE_ADD_TAG = "add_tag"
SERVICE_UPDATE_TAG = "update_tag"
SERVICE_REMOVE_TAG = "remove_tag"
SERVICE_LIST_TAGS = "list_tags"

_ID_TAG = vol.All(cv.string, vol.Strip, vol.Length(min=1, max=MAX_ID_TAG_LENGTH))
_NAME = vol.All(cv.string, vol.Strip, vol.Length(min=1, max=100))


def _clearable(validator: Any) -> Any:
    """A field that None clears."""
    return vol.Any(None, validator)


_RECORD_FIELDS: dict[Any, Any] = {
    vol.Optional(ATTR_STATUS): vol.In(TAG_STATUSES),
    vol.Optional(ATTR_EXPIRY_DATE): _clearable(cv.datetime),
    vol.Optional(ATTR_PARENT_ID_TAG): _clearable(_ID_TAG),
    vol.Optional(ATTR_TENANT): _clearable(vol.All(cv.string, vol.Length(max=100))),
    vol.Optional(ATTR_CHARGE_POINTS): _clearable(vol.All(cv.ensure_list, [cv.string])),
    vol.Optional(ATTR_GROUP_LIMIT): _clearable(vol.All(vol.Coerce(int), vol.Range(min=1))),
}

_TAG_SCHEMA = ServiceSchema(
    {vol.Required(ATTR_ID_TAG): _ID_TAG, vol.Optional(CONF_NAME): _NAME, **_RECORD_FIELDS}
)


@callback
def async_setup_id_tag_services(hass: HomeAssistant) -> None:
    """Register the id tag services (admin only: id tags are keys to the chargers)."""
    registry = hass.data[ID_TAGS]

    def changes_of(call: ServiceCall) -> dict[str, Any]:
        return {key: call.data[key] for key in RECORD_FIELDS if key in call.data}

    async def add_tag(call: ServiceCall) -> ServiceResponse:
        record = apply_changes(
            IdTagRecord(call.data[ATTR_ID_TAG]), changes_of(call), known_charge_points(hass)
        )
        await registry.async_add(record, call.data.get(CONF_NAME))
        return registry.describe(record)

    async def update_tag(call: ServiceCall) -> ServiceResponse:
        record = apply_changes(
            registry.get(call.data[ATTR_ID_TAG]), changes_of(call), known_charge_points(hass)
        )
        await registry.async_update(record, call.data.get(CONF_NAME))
        return registry.describe(record)

    async def remove_tag(call: ServiceCall) -> ServiceResponse:
        await registry.async_remove(call.data[ATTR_ID_TAG])
        return None

    async def list_tags(call: ServiceCall) -> ServiceResponse:
        tenant = call.data.get(ATTR_TENANT)
        records = sorted(registry.records.values(), key=lambda record: record.id_tag)
        return {
            "id_tags": [
                registry.describe(record)
                for record in records
                if tenant is None or record.tenant == tenant
            ]
        }

    for service, handler, schema, response in (
        (SERVICE_ADD_TAG, add_tag, _TAG_SCHEMA, SupportsResponse.OPTIONAL),
        (SERVICE_UPDATE_TAG, update_tag, _TAG_SCHEMA, SupportsResponse.OPTIONAL),
        (
            SERVICE_REMOVE_TAG,
            remove_tag,
            ServiceSchema({vol.Required(ATTR_ID_TAG): _ID_TAG}),
            SupportsResponse.NONE,
        ),
        (
            SERVICE_LIST_TAGS,
            list_tags,
            ServiceSchema({vol.Optional(ATTR_TENANT): cv.string}),
            SupportsResponse.ONLY,
        ),
    ):
        async_register_admin_service(
            hass, DOMAIN, service, handler, schema=schema, supports_response=response
        )
