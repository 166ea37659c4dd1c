/* opts.c: parsing of QEMU-style "key=value,..." option strings */
#include "util/opts.h"

/* Read one element up to an unescaped ',' (",," is a literal comma); return the rest. */
static const char *read_elem(const char *s, char **out)
{
    size_t cap = strlen(s) + 1, n = 0;
    char *buf = xmalloc(cap);

    while (*s) {
        if (*s == ',') {
            if (s[1] == ',') {
                buf[n++] = ',';
                s += 2;
                continue;
            }
            s++;
            break;
        }
        buf[n++] = *s++;
    }
    buf[n] = '\0';
    *out = buf;
    return s;
}

struct opts *opts_parse(const char *s, const char *implied_key, char **err)
{
    struct opts *o = xnew(struct opts);
    bool first = true;

    *err = NULL;
    while (*s) {
        char *elem, *eq;
        struct opt *op;

        s = read_elem(s, &elem);
        o->v = xrealloc(o->v, sizeof(*o->v) * (o->n + 1));
        op = &o->v[o->n];
        memset(op, 0, sizeof(*op));
        eq = strchr(elem, '=');
        if (eq) {
            *eq = '\0';
            op->key = xstrdup(elem);
            op->val = xstrdup(eq + 1);
            free(elem);
        } else if (first && implied_key) {
            op->key = xstrdup(implied_key);
            op->val = elem;
        } else if (*elem == '\0') {
            free(elem);
            continue;
        } else {
            /* a bare flag: "foo" means foo=on, as QEMU takes it */
            op->key = elem;
            op->val = xstrdup("on");
        }
        if (*op->key == '\0') {
            *err = xasprintf("empty parameter name in '%s'", s);
            free(op->key);
            free(op->val);
            opts_free(o);
            return NULL;
        }
        o->n++;
        first = false;
    }
    return o;
}

void opts_free(struct opts *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->n; i++) {
        free(o->v[i].key);
        free(o->v[i].val);
    }
    free(o->v);
    free(o);
}

const char *opts_get(struct opts *o, const char *key)
{
    const char *val = NULL;

    for (int i = 0; i < o->n; i++) {
        if (!strcmp(o->v[i].key, key)) {
            o->v[i].used = true;
            val = o->v[i].val;
        }
    }
    return val;
}

bool opts_has(struct opts *o, const char *key)
{
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->v[i].key, key))
            return true;
    return false;
}

int parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1")) {
        *out = true;
        return 0;
    }
    if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0")) {
        *out = false;
        return 0;
    }
    return -EINVAL;
}

int opts_get_bool(struct opts *o, const char *key, bool *out)
{
    const char *v = opts_get(o, key);

    return v ? parse_bool(v, out) : 0;
}

int opts_get_uint(struct opts *o, const char *key, uint64_t *out)
{
    const char *v = opts_get(o, key);

    return v ? parse_uint(v, out) : 0;
}

int opts_get_size(struct opts *o, const char *key, uint64_t *out)
{
    const char *v = opts_get(o, key);

    return v ? parse_size(v, 1, out) : 0;
}

const char *opts_first_unused(struct opts *o)
{
    for (int i = 0; i < o->n; i++)
        if (!o->v[i].used)
            return o->v[i].key;
    return NULL;
}
