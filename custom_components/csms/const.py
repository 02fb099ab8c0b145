"""Constants of the csms integration."""

from typing import Final

DOMAIN: Final = "csms"

DEFAULT_PORT: Final = 9000
DEFAULT_HOST: Final = "0.0.0.0"
