// The plugin side of kiln's contract (wit/plugin.wit, kiln:plugin@0.1.0) in
// C: kiln.c exports `info`, `render` and `cabi_realloc` by the canonical ABI
// and calls the plugin's `kiln_render`. Resources are JSON objects kept as
// text; `kiln_set_label` edits one without reordering its keys.
#ifndef KILN_H
#define KILN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name, *version, *description;
} kiln_info;

// Defined by the plugin.
extern const kiln_info KILN_INFO;

// One resource: JSON text (NUL-terminated) and its length.
typedef struct {
    char *json;
    size_t len;
} kiln_resource;

typedef enum { KILN_BAD_CONFIG = 0, KILN_BAD_INPUT = 1, KILN_PLUGIN_FAILURE = 2 } kiln_error_kind;

typedef enum { KILN_OK = 0, KILN_ERROR = 1 } kiln_status;

typedef struct {
    // The step's resources, in and (edited in place) out.
    kiln_resource *resources;
    size_t count;
    // The step's `with:` as a JSON object (NUL-terminated).
    const char *config;
    // Where the call comes from.
    const char *app_name, *step;
    // Set by kiln_fail.
    kiln_error_kind error_kind;
    const char *error_message, *error_hint;
} kiln_request;

// Defined by the plugin: edit req->resources, or return kiln_fail(...).
kiln_status kiln_render(kiln_request *req);

// The JSON text of `with:`'s top-level `key` (a string keeps its quotes),
// or NULL when absent.
const char *kiln_config(const kiln_request *req, const char *key);

// Sets metadata.labels[key] to `json_value` (JSON text, e.g. "\"web\"").
// Returns false when the resource is not a JSON object.
bool kiln_set_label(kiln_resource *r, const char *key, const char *json_value);

// Sets the value at `path` (`depth` keys) to `json_value`, creating objects
// on the way and keeping every key's place (a new key goes last).
bool kiln_set(kiln_resource *r, const char *const *path, size_t depth, const char *json_value);

// Fails the step with an error of `kind`; `hint` may be NULL.
kiln_status kiln_fail(kiln_request *req, kiln_error_kind kind, const char *message, const char *hint);

#endif
