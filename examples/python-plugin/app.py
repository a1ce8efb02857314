"""The "team label" kiln plugin, in Python.

Reads config key `team` (the step's `with:`) and sets label `team=<value>`
on every input resource. It implements the `plugin` world of
`kiln:plugin@0.1.0` (wit/plugin.wit); `build.sh` turns it into a component.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports.types import Error, ErrorKind, PluginInfo, Request, Response

CONFIG_SCHEMA = {
    "type": "object",
    "properties": {"team": {"type": "string", "description": "value of the `team` label"}},
    "required": ["team"],
}


def bad_config(message: str, hint: str) -> Err:
    return Err(Error(kind=ErrorKind.BAD_CONFIG, message=message, file=None, hint=hint))


def with_label(resource: dict, key: str, value: str) -> dict:
    metadata = resource.get("metadata")
    if not isinstance(metadata, dict):
        metadata = resource["metadata"] = {}
    labels = metadata.get("labels")
    if not isinstance(labels, dict):
        labels = metadata["labels"] = {}
    labels[key] = value
    return resource


class WitWorld(wit_world.WitWorld):
    def info(self) -> PluginInfo:
        return PluginInfo(
            name="team-label-py",
            version="0.1.0",
            description="sets label `team` on every resource (Python)",
            config_schema=json.dumps(CONFIG_SCHEMA),
        )

    def render(self, request: Request) -> Response:
        config = json.loads(request.config)
        if not isinstance(config, dict) or "team" not in config:
            raise bad_config("missing config key `team`", "set `with: {team: <name>}` on the step")
        team = config["team"]
        if not isinstance(team, str):
            raise bad_config(f"config key `team`: expected a string, got {json.dumps(team)}",
                             "quote the value in kiln.yaml")
        host.log(host.Level.DEBUG, f"labelling {len(request.resources)} resources with team={team}")
        out = [json.dumps(with_label(json.loads(r), "team", team)) for r in request.resources]
        return Response(resources=out, diagnostics=[])
