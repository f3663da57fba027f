"""REST API and dashboard (SPEC §12): FastAPI app, routes per resource, live updates."""

from hedgebot.api.app import create_app
from hedgebot.api.health import HealthProbes, bot_probes
from hedgebot.api.service import api_service

__all__ = ["HealthProbes", "api_service", "bot_probes", "create_app"]
