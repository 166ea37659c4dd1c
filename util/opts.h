/* opts.h: QEMU-style option strings "value,key=value,flag=on" with ",," as an escaped comma */
#ifndef UTIL_OPTS_H
#define UTIL_OPTS_H

#include "util/osdep.h"

struct opt {
    char *key;
    char *val;
    bool used;
};

struct opts {
    int n;
    struct opt *v;
};

/*
 * Parse `s`. A leading element without '=' is given the key `implied_key`
 * (e.g. "file" for -drive, "driver" for -device); NULL forbids that.
 * On error returns NULL and sets *err to a message to free.
 */
struct opts *opts_parse(const char *s, const char *implied_key, char **err);
void opts_free(struct opts *o);

/* Each getter marks the key used; the last value wins when a key repeats, as in QEMU. */
const char *opts_get(struct opts *o, const char *key);
bool opts_has(struct opts *o, const char *key);
/* 0 on success or when absent (out untouched), -EINVAL when the value is malformed */
int opts_get_bool(struct opts *o, const char *key, bool *out);
int opts_get_uint(struct opts *o, const char *key, uint64_t *out);
int opts_get_size(struct opts *o, const char *key, uint64_t *out);
/* The first key no getter asked for, or NULL: callers reject it as unknown. */
const char *opts_first_unused(struct opts *o);
/* "on"/"off"/"yes"/"no"/"true"/"false" */
int parse_bool(const char *s, bool *out);

#endif
