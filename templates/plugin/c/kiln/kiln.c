// The canonical ABI of the contract's exports, written out (offsets follow
// the canonical ABI's layout of wit/plugin.wit: a request record by
// pointer, a plugin-info record and a result<response, error> returned by
// pointer), and an order-keeping JSON editor for resources.
#include "kiln.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A component instance serves one call: nothing handed to kiln is freed.
__attribute__((export_name("cabi_realloc"))) void *cabi_realloc(void *old, size_t old_size, size_t align, size_t size) {
    (void)old_size;
    if (size == 0) return (void *)align;
    void *p = realloc(old, size);
    if (!p) abort();
    return p;
}

static uint32_t u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

// A copy of the string (pointer, length) at p, NUL-terminated.
static char *str(const uint8_t *p, size_t *len) {
    size_t n = u32(p + 4);
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, (const char *)(uintptr_t)u32(p), n);
    s[n] = 0;
    if (len) *len = n;
    return s;
}

static void put_str(uint8_t *p, const char *s, size_t n) {
    put32(p, (uint32_t)(uintptr_t)s);
    put32(p + 4, (uint32_t)n);
}

static void put_opt_str(uint8_t *p, const char *s) {
    if (s) {
        p[0] = 1;
        put_str(p + 4, s, strlen(s));
    }
}

__attribute__((export_name("info"))) uint8_t *info(void) {
    uint8_t *ret = calloc(1, 36);
    if (!ret) abort();
    put_str(ret, KILN_INFO.name, strlen(KILN_INFO.name));
    put_str(ret + 8, KILN_INFO.version, strlen(KILN_INFO.version));
    put_str(ret + 16, KILN_INFO.description, strlen(KILN_INFO.description));
    return ret;
}

__attribute__((export_name("render"))) uint8_t *render(const uint8_t *p) {
    kiln_request req = {0};
    req.count = u32(p + 4);
    req.resources = calloc(req.count ? req.count : 1, sizeof(kiln_resource));
    if (!req.resources) abort();
    const uint8_t *list = (const uint8_t *)(uintptr_t)u32(p);
    for (size_t i = 0; i < req.count; i++) req.resources[i].json = str(list + 8 * i, &req.resources[i].len);
    req.config = str(p + 8, NULL);
    req.app_name = str(p + 16, NULL);
    req.step = str(p + 72, NULL);
    uint8_t *ret = calloc(1, 64);
    if (!ret) abort();
    if (kiln_render(&req) != KILN_OK) {
        ret[0] = 1;
        ret[4] = (uint8_t)req.error_kind;
        const char *m = req.error_message ? req.error_message : "the plugin failed";
        put_str(ret + 8, m, strlen(m));
        put_opt_str(ret + 52, req.error_hint);
        return ret;
    }
    uint8_t *out = calloc(req.count ? req.count : 1, 8);
    if (!out) abort();
    for (size_t i = 0; i < req.count; i++) put_str(out + 8 * i, req.resources[i].json, req.resources[i].len);
    put32(ret + 4, (uint32_t)(uintptr_t)out);
    put32(ret + 8, (uint32_t)req.count);
    return ret;
}

kiln_status kiln_fail(kiln_request *req, kiln_error_kind kind, const char *message, const char *hint) {
    req->error_kind = kind;
    req->error_message = message;
    req->error_hint = hint;
    return KILN_ERROR;
}

// ---- JSON: just enough to find members and splice values.

static size_t ws(const char *s, size_t i, size_t n) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

// The end of the JSON value starting at i (after whitespace), or n.
static size_t skip(const char *s, size_t i, size_t n) {
    i = ws(s, i, n);
    if (i >= n) return n;
    if (s[i] == '"') {
        for (i++; i < n && s[i] != '"'; i++)
            if (s[i] == '\\') i++;
        return i < n ? i + 1 : n;
    }
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        for (; i < n; i++) {
            if (s[i] == '"') {
                i = skip(s, i, n) - 1;
            } else if (s[i] == '{' || s[i] == '[') {
                depth++;
            } else if (s[i] == '}' || s[i] == ']') {
                if (--depth == 0) return i + 1;
            }
        }
        return n;
    }
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n') i++;
    return i;
}

// The value of the 4 hex digits at s, or -1.
static long hex4(const char *s) {
    long v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

// Whether the JSON string body s[0..n) (between its quotes, escapes and
// all) decodes to key[0..klen).
static bool key_is(const char *s, size_t n, const char *key, size_t klen) {
    size_t i = 0, k = 0;
    while (i < n) {
        char buf[4];
        size_t m = 1;
        if (s[i] != '\\') {
            buf[0] = s[i++];
        } else if (i + 1 < n && s[i + 1] != 'u') {
            const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
            const char *at = strchr(from, s[i + 1]);
            if (!at || !s[i + 1]) return false;
            buf[0] = to[at - from];
            i += 2;
        } else {
            if (i + 6 > n) return false;
            long c = hex4(s + i + 2);
            i += 6;
            if (c >= 0xD800 && c < 0xDC00 && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
                long lo = hex4(s + i + 2);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (c < 0) return false;
            if (c < 0x80) {
                buf[0] = (char)c;
            } else if (c < 0x800) {
                buf[0] = (char)(0xC0 | (c >> 6)), buf[1] = (char)(0x80 | (c & 0x3F)), m = 2;
            } else if (c < 0x10000) {
                buf[0] = (char)(0xE0 | (c >> 12)), buf[1] = (char)(0x80 | ((c >> 6) & 0x3F));
                buf[2] = (char)(0x80 | (c & 0x3F)), m = 3;
            } else {
                buf[0] = (char)(0xF0 | (c >> 18)), buf[1] = (char)(0x80 | ((c >> 12) & 0x3F));
                buf[2] = (char)(0x80 | ((c >> 6) & 0x3F)), buf[3] = (char)(0x80 | (c & 0x3F)), m = 4;
            }
        }
        if (k + m > klen || memcmp(key + k, buf, m) != 0) return false;
        k += m;
    }
    return k == klen;
}

// Writes key as a JSON string (quotes included) to out, which has room for
// quoted_len(key) bytes plus a NUL; returns the bytes written.
static size_t quote(char *out, const char *key) {
    char *p = out;
    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)key; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *p++ = '\\';
            *p++ = (char)*c;
        } else if (*c < 0x20) {
            p += sprintf(p, "\\u%04x", *c);
        } else {
            *p++ = (char)*c;
        }
    }
    *p++ = '"';
    *p = 0;
    return (size_t)(p - out);
}

// The length of key written as a JSON string, quotes included.
static size_t quoted_len(const char *key) {
    size_t n = 2;
    for (const unsigned char *c = (const unsigned char *)key; *c; c++) n += *c == '"' || *c == '\\' ? 2 : *c < 0x20 ? 6 : 1;
    return n;
}

// In the object at s[0..n), the value of `key`: [*vs, *ve). Returns false
// when absent; *close is then the index of the object's '}' (n when s is not
// an object), and *empty says whether it has no member.
static bool member(const char *s, size_t n, const char *key, size_t *vs, size_t *ve, size_t *close, bool *empty) {
    size_t i = ws(s, 0, n), klen = strlen(key);
    *close = n;
    if (i >= n || s[i] != '{') return false;
    *empty = true;
    i = ws(s, i + 1, n);
    while (i < n && s[i] == '"') {
        size_t kend = skip(s, i, n);
        bool match = key_is(s + i + 1, kend - i - 2, key, klen);
        i = ws(s, kend, n);
        if (i >= n || s[i] != ':') return false;
        size_t start = ws(s, i + 1, n), end = skip(s, start, n);
        if (match) {
            *vs = start;
            *ve = end;
            return true;
        }
        *empty = false;
        i = ws(s, end, n);
        if (i < n && s[i] == ',') i = ws(s, i + 1, n);
    }
    if (i < n && s[i] == '}') *close = i;
    return false;
}

// s[0..a) + mid + s[b..n), NUL-terminated.
static char *splice(const char *s, size_t n, size_t a, const char *mid, size_t m, size_t b, size_t *len) {
    *len = a + m + (n - b);
    char *out = malloc(*len + 1);
    if (!out) abort();
    memcpy(out, s, a);
    memcpy(out + a, mid, m);
    memcpy(out + a + m, s + b, n - b);
    out[*len] = 0;
    return out;
}

// {"path[0]":{"path[1]":...value}} for a path absent from the document.
static char *nested(const char *const *path, size_t depth, const char *value) {
    size_t len = strlen(value) + 1;
    for (size_t i = 0; i < depth; i++) len += quoted_len(path[i]) + 3;
    char *out = malloc(len), *p = out;
    if (!out) abort();
    for (size_t i = 0; i < depth; i++) {
        *p++ = '{';
        p += quote(p, path[i]);
        *p++ = ':';
    }
    p += sprintf(p, "%s", value);
    for (size_t i = 0; i < depth; i++) *p++ = '}';
    *p = 0;
    return out;
}

static char *set(const char *s, size_t n, const char *const *path, size_t depth, const char *value, size_t *len) {
    size_t vs, ve, close;
    bool empty;
    if (member(s, n, path[0], &vs, &ve, &close, &empty)) {
        char *inner;
        size_t m;
        if (depth == 1) {
            inner = strdup(value);
            m = strlen(inner);
        } else if (s[vs] == '{') {
            inner = set(s + vs, ve - vs, path + 1, depth - 1, value, &m);
            if (!inner) return NULL;
        } else {
            inner = nested(path + 1, depth - 1, value);
            m = strlen(inner);
        }
        char *out = splice(s, n, vs, inner, m, ve, len);
        free(inner);
        return out;
    }
    if (close >= n || s[close] != '}') return NULL;
    char *v = nested(path + 1, depth - 1, value);
    size_t m = quoted_len(path[0]) + strlen(v) + 3;
    char *add = malloc(m), *p = add;
    if (!add) abort();
    if (!empty) *p++ = ',';
    p += quote(p, path[0]);
    *p++ = ':';
    strcpy(p, v);
    m = (size_t)(p - add) + strlen(v);
    char *out = splice(s, n, close, add, m, close, len);
    free(v);
    free(add);
    return out;
}

bool kiln_set(kiln_resource *r, const char *const *path, size_t depth, const char *json_value) {
    size_t len;
    char *out = set(r->json, r->len, path, depth, json_value, &len);
    if (!out) return false;
    r->json = out;
    r->len = len;
    return true;
}

bool kiln_set_label(kiln_resource *r, const char *key, const char *json_value) {
    const char *path[] = {"metadata", "labels", key};
    return kiln_set(r, path, 3, json_value);
}

const char *kiln_config(const kiln_request *req, const char *key) {
    size_t vs, ve, close, n = strlen(req->config);
    bool empty;
    if (!member(req->config, n, key, &vs, &ve, &close, &empty)) return NULL;
    return strndup(req->config + vs, ve - vs);
}
