"""Id tags: Home Assistant's tags, with what OCPP needs to know of them.

A card's id and name are a Home Assistant tag (Settings > Tags), so a card
swiped at a charger works in tag automations. Whether it may charge, until
when, in which group, for which tenant and at which chargers is kept here,
in storage of its own: a tag only this integration knows as an OCPP id tag
may charge; any other tag in Home Assistant is an unknown id tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from homeassistant.components.tag import TAG_DATA
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .central.authorization import MAX_ID_TAG_LENGTH, IdTagRecord
from .const import CONF_CHARGE_POINT_ID, DOMAIN

STORAGE_VERSION = 1
STORAGE_KEY = f"{DOMAIN}.id_tags"
# The tag integration's own domain, for its entity registry entries.
TAG_DOMAIN = "tag"

ID_TAGS: HassKey[IdTagRegistry] = HassKey(f"{DOMAIN}_id_tags")


# The fields of an id tag a user sets (besides its id and Home Assistant name).
ATTR_STATUS = "status"
ATTR_EXPIRY_DATE = "expiry_date"
ATTR_PARENT_ID_TAG = "parent_id_tag"
ATTR_TENANT = "tenant"
ATTR_CHARGE_POINTS = "charge_points"
ATTR_GROUP_LIMIT = "group_limit"
RECORD_FIELDS = (
    ATTR_STATUS,
    ATTR_EXPIRY_DATE,
    ATTR_PARENT_ID_TAG,
    ATTR_TENANT,
    ATTR_CHARGE_POINTS,
    ATTR_GROUP_LIMIT,
)


def _error(translation_key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders=placeholders,
    )


def _as_utc(value: datetime | None) -> datetime | None:
    """A date without time zone is meant in Home Assistant's time zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(value)


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def apply_changes(
    record: IdTagRecord, changes: Mapping[str, Any], charge_point_ids: Iterable[str]
) -> IdTagRecord:
    """The record with the given fields changed; None (or empty) clears a field.

    Raises a translated ServiceValidationError for a tag naming itself as
    its group or a charge point nobody knows. Chargers the record names
    already stay allowed, even once removed: saving a tag unchanged works.
    """
    updates: dict[str, Any] = {}
    if ATTR_STATUS in changes:
        updates["status"] = changes[ATTR_STATUS]
    if ATTR_EXPIRY_DATE in changes:
        updates["expiry_date"] = _as_utc(changes[ATTR_EXPIRY_DATE])
    if ATTR_PARENT_ID_TAG in changes:
        parent = _text(changes[ATTR_PARENT_ID_TAG])
        if parent == record.id_tag:
            raise _error("parent_is_self", id_tag=record.id_tag)
        updates["parent_id_tag"] = parent
    if ATTR_TENANT in changes:
        updates["tenant"] = _text(changes[ATTR_TENANT])
    if ATTR_CHARGE_POINTS in changes:
        wanted = frozenset(changes[ATTR_CHARGE_POINTS] or ())
        known = set(charge_point_ids) | (record.charge_points or set())
        if unknown := sorted(wanted - known):
            raise _error("unknown_charge_points", charge_points=", ".join(unknown))
        updates["charge_points"] = wanted or None
    if ATTR_GROUP_LIMIT in changes:
        limit = changes[ATTR_GROUP_LIMIT]
        updates["group_limit"] = int(limit) if limit is not None else None
    return record.updated(**updates)


class IdTagRegistry:
    """The OCPP id tags of every server, kept durably and told to listeners."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Empty until :meth:`async_load`."""
        self._hass = hass
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, STORAGE_KEY, atomic_writes=True
        )
        # Read live by the authorizers: changed in place, never replaced.
        self.records: dict[str, IdTagRecord] = {}
        self._listeners: list[Callable[[], None]] = []

    async def async_load(self) -> None:
        """Read the records from storage."""
        data = await self._store.async_load() or {}
        for item in data.get("id_tags", []):
            record = IdTagRecord.from_dict(item)
            self.records[record.id_tag] = record

    @callback
    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after every change."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def get(self, id_tag: str) -> IdTagRecord:
        """A record, or a translated error naming the unknown tag."""
        record = self.records.get(id_tag)
        if record is None:
            raise _error("unknown_id_tag", id_tag=id_tag)
        return record

    async def async_add(self, record: IdTagRecord, name: str | None) -> None:
        """Register a tag; it becomes a Home Assistant tag too if it is not one yet."""
        if record.id_tag in self.records:
            raise _error("id_tag_exists", id_tag=record.id_tag)
        await self._async_name_tag(record.id_tag, name)
        self.records[record.id_tag] = record
        await self._async_changed()

    async def async_update(self, record: IdTagRecord, name: str | None) -> None:
        """Replace a tag's record; a name given renames the Home Assistant tag."""
        self.get(record.id_tag)
        await self._async_name_tag(record.id_tag, name)
        self.records[record.id_tag] = record
        await self._async_changed()

    async def async_remove(self, id_tag: str) -> None:
        """Forget a tag as an id tag; the Home Assistant tag and its automations stay."""
        self.get(id_tag)
        del self.records[id_tag]
        await self._async_changed()

    async def _async_changed(self) -> None:
        await self._store.async_save(
            {"id_tags": [record.to_dict() for record in self.records.values()]}
        )
        for listener in list(self._listeners):
            listener()

    async def _async_name_tag(self, id_tag: str, name: str | None) -> None:
        """Make sure Home Assistant knows the tag, under ``name`` if one is given."""
        tags = self._hass.data[TAG_DATA]
        if id_tag not in tags.data:
            await tags.async_create_item({"tag_id": id_tag, **({CONF_NAME: name} if name else {})})
        elif name:
            await tags.async_update_item(id_tag, {CONF_NAME: name})

    def name(self, id_tag: str) -> str | None:
        """The name a user gave the tag in Home Assistant, if any.

        Not the default "Tag <id>": that says nothing the id does not.
        """
        registry = er.async_get(self._hass)
        entity_id = registry.async_get_entity_id(TAG_DOMAIN, TAG_DOMAIN, id_tag)
        entity = registry.async_get(entity_id) if entity_id else None
        return entity.name if entity is not None else None

    def describe(self, record: IdTagRecord) -> dict[str, Any]:
        """A record as service response data, with its Home Assistant name."""
        return {"name": self.name(record.id_tag), **record.to_dict()}

    def unregistered_tags(self) -> dict[str, str]:
        """Home Assistant tags that are not id tags yet: id -> label (for the UI)."""
        tags = self._hass.data[TAG_DATA]
        labels: dict[str, str] = {}
        for id_tag in tags.data:
            if id_tag in self.records or len(id_tag) > MAX_ID_TAG_LENGTH:
                continue
            name = self.name(id_tag)
            labels[id_tag] = f"{name} ({id_tag})" if name else id_tag
        return labels


async def async_setup_id_tags(hass: HomeAssistant) -> IdTagRegistry:
    """Load the registry once per Home Assistant run."""
    registry = IdTagRegistry(hass)
    await registry.async_load()
    hass.data[ID_TAGS] = registry
    return registry


@callback
def known_charge_points(hass: HomeAssistant) -> dict[str, str]:
    """The accepted chargers of every server: charge point id -> name."""
    return {
        entry.data[CONF_CHARGE_POINT_ID]: entry.title
        for entry in hass.config_entries.async_entries(DOMAIN)
        if CONF_CHARGE_POINT_ID in entry.data
    }
