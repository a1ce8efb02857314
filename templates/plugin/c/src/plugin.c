// A kiln plugin in C: sets the label `team` on every resource from `with:`.
#include "../kiln/kiln.h"

const kiln_info KILN_INFO = {"{{name}}", "0.1.0", "Sets the label `team` from `with:`"};

kiln_status kiln_render(kiln_request *req) {
    const char *team = kiln_config(req, "team");
    if (!team || team[0] != '"') {
        return kiln_fail(req, KILN_BAD_CONFIG, "missing config key `team`", "give the step `with: {team: NAME}`");
    }
    for (size_t i = 0; i < req->count; i++) {
        if (!kiln_set_label(&req->resources[i], "team", team)) {
            return kiln_fail(req, KILN_BAD_INPUT, "a resource is not a JSON object", "kiln sends JSON objects");
        }
    }
    return KILN_OK;
}
