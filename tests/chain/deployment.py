"""The test contracts deployed on anvil, and helpers to emit real fills through them.

The implementation lives in `hedgebot.devnet.deployment`; this module keeps the names
the chain tests import.
"""

from __future__ import annotations

from hedgebot.devnet.deployment import (
    AAPL_FEED,
    PUBLISH_TIME,
    TSLA_FEED,
    USDC_FEED,
    Deployment,
    deploy_all,
)
from hedgebot.devnet.deployment import units as _units

__all__ = [
    "AAPL_FEED",
    "PUBLISH_TIME",
    "TSLA_FEED",
    "USDC_FEED",
    "Deployment",
    "_units",
    "deploy_all",
]
