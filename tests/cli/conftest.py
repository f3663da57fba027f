from tests.api.fixtures import desk_path, desk_template, desk_url

__all__ = ["desk_path", "desk_template", "desk_url"]
