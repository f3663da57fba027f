from tests.api.conftest import broker, clock, core, make_client
from tests.api.fixtures import desk_path, desk_template, desk_url

__all__ = ["broker", "clock", "core", "desk_path", "desk_template", "desk_url", "make_client"]
