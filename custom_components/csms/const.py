"""Constants of the csms integration."""

from typing import Final

DOMAIN: Final = "csms"

DEFAULT_PORT: Final = 9000
DEFAULT_HOST: Final = "0.0.0.0"

# A charge point entry names its server entry and its OCPP identity.
CONF_SERVER_ENTRY_ID: Final = "server_entry_id"
CONF_CHARGE_POINT_ID: Final = "charge_point_id"

# Server options: what happens when an unknown charger connects.
CONF_ONBOARDING: Final = "onboarding"
ONBOARDING_ASK: Final = "ask"
ONBOARDING_ACCEPT: Final = "accept"
# Only chargers added by the installer may connect: unknown ids get HTTP 404.
ONBOARDING_REFUSE: Final = "refuse"
# Server options: whether id tags nobody registered may charge.
CONF_UNKNOWN_ID_TAGS: Final = "unknown_id_tags"
UNKNOWN_ID_TAGS_INVALID: Final = "invalid"
UNKNOWN_ID_TAGS_ACCEPTED: Final = "accepted"

# Charge point options.
CONF_PUSH_CONFIGURATION: Final = "push_configuration"
CONF_SAMPLE_INTERVAL: Final = "sample_interval"
CONF_MEASURANDS: Final = "measurands"
CONF_REMOTE_START_ID_TAG: Final = "remote_start_id_tag"
DEFAULT_REMOTE_START_ID_TAG: Final = "HomeAssistant"

# Server options: what energy costs, and how long the energy ledger keeps it.
CONF_ENERGY_PRICE: Final = "energy_price"
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_LEDGER_RETENTION: Final = "ledger_retention_months"
DEFAULT_LEDGER_RETENTION_MONTHS: Final = 13

# Server options: site load management.
CONF_LOAD_MANAGEMENT: Final = "load_management"
CONF_SITE_CURRENT_LIMIT: Final = "site_current_limit"
CONF_SITE_POWER_LIMIT: Final = "site_power_limit"
CONF_GRID_SENSOR: Final = "grid_sensor"
CONF_SOLAR_ONLY: Final = "solar_only"

# Charge point options: how it takes part in load management.
CONF_PHASES: Final = "phases"
CONF_MAX_CURRENT: Final = "max_current"
CONF_PRIORITY: Final = "priority"
DEFAULT_PHASES: Final = 3
DEFAULT_MAX_CURRENT: Final = 32
DEFAULT_PRIORITY: Final = 0

# Server options: who signs the certificates chargers ask for (SignCertificate).
CONF_CERTIFICATE_SIGNING: Final = "certificate_signing"
# An integration-managed local certificate authority signs them at once.
CERTIFICATE_SIGNING_LOCAL_CA: Final = "local_ca"
# An outside CA: the request goes out as an event; an admin answers with csms.certificate_signed.
CERTIFICATE_SIGNING_EXTERNAL: Final = "external"

# Server options: security (OCPP 1.6 Security Whitepaper) and hardening.
CONF_TLS_PORT: Final = "tls_port"
CONF_CERTIFICATE_FILE: Final = "certificate_file"
CONF_PRIVATE_KEY_FILE: Final = "private_key_file"
# CA chain that signed the chargers' client certificates (security profile 3).
CONF_CLIENT_CA_FILE: Final = "client_ca_file"
CONF_MAX_CONNECTIONS: Final = "max_connections"
CONF_MAX_FRAME_KIB: Final = "max_frame_kib"
# Onboarding a charger: protect it with a generated password (security profile 1).
CONF_SET_PASSWORD: Final = "set_password"
