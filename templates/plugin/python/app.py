"""A kiln plugin in Python: sets the label `team` on every resource from `with:`."""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports.types import Error, ErrorKind, PluginInfo, Request, Response


class WitWorld(wit_world.WitWorld):
    def info(self) -> PluginInfo:
        return PluginInfo(name="{{name}}", version="0.1.0",
                          description="Sets the label `team` from `with:`", config_schema=None)

    def render(self, request: Request) -> Response:
        team = json.loads(request.config or "{}").get("team")
        if not isinstance(team, str):
            raise Err(Error(kind=ErrorKind.BAD_CONFIG, message="missing config key `team`",
                            file=None, hint="give the step `with: {team: NAME}`"))
        docs = [json.loads(r) for r in request.resources]
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {})["team"] = team
        return Response(resources=[json.dumps(d) for d in docs], diagnostics=[])
