/* net-cmdline.c: -netdev, -nic and -net as QEMU takes them: the backend types, hub 0, the NICs they ask for and QEMU's warnings once the machine is built */
#define LOG_PREFIX ""
#include "net/net-internal.h"
#include "hw/core/device.h"     // device_new, device_set_prop, device_realize
#include "hw/core/machine.h"    // machine_add_done_hook
#include "hw/core/props.h"      // mac_addr_parse
#include "util/log.h"
#include "util/opts.h"

#include <ctype.h>

/* QEMU's MAX_NICS: the NICs -nic and -net nic may ask for */
#define NET_MAX_NICS 8
/* When none is named: QEMU's pc board makes an e1000, which skiff does not have */
#define NET_DEFAULT_MODEL "rtl8139"

static struct netdev_type *types;

/* A NIC -nic or -net nic asks for, made by net_create_nics */
struct nic_request {
    char *what;                 /* "-nic user,model=virtio", for messages */
    char *model;
    char *mac;                  /* as given, or NULL */
    char *netdev;               /* the backend's or hub port's id, or NULL */
    char *id;                   /* the NIC's (-net nic,id= or name=) */
    char *addr, *vectors;       /* PCI address and MSI-X vectors, passed on as given */
};
static struct nic_request nics[NET_MAX_NICS];
static int nnics;
static unsigned generated_ids;  /* "#net0".. for backends of -net and -nic without id= */
static bool check_hooked;

void netdev_type_register(struct netdev_type *t)
{
    t->next = types;
    types = t;
}

static struct netdev_type *netdev_type_find(const char *name)
{
    for (struct netdev_type *t = types; t; t = t->next)
        if (!strcmp(t->name, name))
            return t;
    return NULL;
}

/* ---- help ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_sorted(const char **names, size_t n)
{
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++)
        printf("%s\n", names[i]);
}

static void print_netdev_types(void)
{
    const char *names[32];
    size_t n = 0;

    printf("Available netdev backend types:\n");
    for (struct netdev_type *t = types; t && n < ARRAY_SIZE(names); t = t->next)
        names[n++] = t->name;
    print_sorted(names, n);
}

static void print_nic_models(void)
{
    const char *names[32];
    size_t n = 0;

    printf("Supported NIC models:\n");
    for (const struct device_type *t = net_nic_type_next(NULL); t && n < ARRAY_SIZE(names);
         t = net_nic_type_next(t))
        names[n++] = t->name;
    print_sorted(names, n);
}

static bool is_help(const char *s)
{
    return s && (!strcmp(s, "help") || !strcmp(s, "?"));
}

bool net_answer_help(const char *option, const char *spec)
{
    const char *comma = strchr(spec, ',');
    struct opts *o;
    char *err = NULL;
    bool answered = false;

    if (is_help(spec)) {
        print_netdev_types();
        if (!strcmp(option, "nic")) {
            printf("\n");
            print_nic_models();
        }
        return true;
    }
    if (!strcmp(option, "netdev")) {
        struct netdev_type *t;
        char *name;

        if (!comma || !is_help(comma + 1))
            return false;
        name = xstrndup(spec, comma - spec);
        t = netdev_type_find(name);
        if (t)
            printf("-netdev %s,id=ID,%s\n", t->name, t->help ? t->help : "");
        free(name);
        return t != NULL;
    }
    /* -nic ...,model=help and -net nic,model=help */
    o = opts_parse(spec, "type", &err);
    if (o && is_help(opts_get(o, "model")) &&
        (!strcmp(option, "nic") || (opts_get(o, "type") && !strcmp(opts_get(o, "type"), "nic")))) {
        print_nic_models();
        answered = true;
    }
    opts_free(o);
    free(err);
    return answered;
}

/* ---- backends ---- */

/* QEMU's rule for ids: letters, digits, '-', '.', '_', starting with a letter */
static bool id_well_formed(const char *id)
{
    if (!isalpha((unsigned char)id[0]))
        return false;
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
            return false;
    return true;
}

/* A backend of type `type` with id `id` from the options; -net's and -nic's have theirs read by now. */
static int backend_make(struct opts *o, const char *type, const char *id, struct netdev **out, char **err)
{
    struct netdev_type *t = netdev_type_find(type);
    struct netdev *n = NULL;
    const char *unused;
    int r;

    if (!t) {
        *err = xasprintf("no network backend type '%s' (-netdev help lists them)", type);
        return -EINVAL;
    }
    if (strlen(id) >= sizeof(n->id)) {
        *err = xasprintf("id '%s' is longer than %zu characters", id, sizeof(n->id) - 1);
        return -EINVAL;
    }
    if (netdev_find(id)) {
        *err = xasprintf("there is already a netdev with id '%s'", id);
        return -EEXIST;
    }
    if ((r = t->init(o, id, &n, err)) < 0)
        return r;
    if ((unused = opts_first_unused(o))) {
        *err = xasprintf("%s: unknown parameter '%s' (-netdev %s,help lists them)", type, unused, type);
        netdev_free(n);
        return -EINVAL;
    }
    *out = n;
    return 0;
}

int netdev_add(const char *spec, char **err)
{
    struct opts *o = opts_parse(spec, "type", err);
    const char *type, *id;
    struct netdev *n;
    int r = -EINVAL;

    if (!o)
        return -EINVAL;
    type = opts_get(o, "type");
    id = opts_get(o, "id");
    if (!type || !*type)
        *err = xstrdup("give the backend's type first (-netdev help lists them)");
    else if (!id)
        *err = xasprintf("a netdev needs an id (-netdev %s,id=ID,...)", type);
    else if (!id_well_formed(id))
        *err = xasprintf("id '%s': an id is letters, digits, '-', '.' and '_', starting with a letter", id);
    else
        r = backend_make(o, type, id, &n, err);
    opts_free(o);
    return r;
}

/* ---- NICs asked for by -nic and -net nic ---- */

/* Record a NIC: its model checked, its MAC's syntax too, as QEMU checks them when it parses. */
static int nic_request(const char *opt, const char *spec, const char *model, const char *mac,
                       const char *netdev, const char *id, struct opts *o, char **err)
{
    const struct device_type *t;
    struct nic_request *q;
    struct mac_addr m;

    if (nnics == NET_MAX_NICS) {
        *err = xasprintf("at most %d NICs from -nic and -net nic (give more with -device)", NET_MAX_NICS);
        return -ENOSPC;
    }
    if (mac && mac_addr_parse(mac, &m) < 0) {
        *err = xasprintf("mac '%s': give a MAC address as 52:54:00:12:34:56", mac);
        return -EINVAL;
    }
    if (mac && (m.a[0] & 1)) {
        *err = xasprintf("mac '%s': a NIC cannot have a multicast address (odd first byte)", mac);
        return -EINVAL;
    }
    if (!model)
        model = NET_DEFAULT_MODEL;
    else if (!strcmp(model, "virtio"))
        model = "virtio-net-pci";       /* QEMU's short name */
    for (t = net_nic_type_next(NULL); t && strcmp(t->name, model); t = net_nic_type_next(t))
        ;
    if (!t) {
        *err = xasprintf("skiff has no NIC model '%s' (model=help lists them)", model);
        return -EINVAL;
    }
    q = &nics[nnics++];
    q->what = xasprintf("%s %s", opt, spec);
    q->model = xstrdup(model);
    q->mac = mac ? xstrdup(mac) : NULL;
    q->netdev = netdev ? xstrdup(netdev) : NULL;
    q->id = id ? xstrdup(id) : NULL;
    q->addr = o && opts_get(o, "addr") ? xstrdup(opts_get(o, "addr")) : NULL;
    q->vectors = o && opts_get(o, "vectors") ? xstrdup(opts_get(o, "vectors")) : NULL;
    return 0;
}

static void nic_request_free(struct nic_request *q)
{
    free(q->what);
    free(q->model);
    free(q->mac);
    free(q->netdev);
    free(q->id);
    free(q->addr);
    free(q->vectors);
    memset(q, 0, sizeof(*q));
}

/* A backend's id when -net or -nic gave none: QEMU makes "#netNNN", which no user id can be */
static char *generated_id(void)
{
    return xasprintf("#net%u", generated_ids++);
}

/* -nic [TYPE][,id=ID][,model=M][,mac=MAC][,TYPE's options]: a backend and a NIC on it, no hub */
int net_add_nic_shorthand(const char *spec, char **err)
{
    struct opts *o = opts_parse(spec, "type", err);
    const char *type, *model, *mac;
    char *id = NULL;
    struct netdev *n;
    int r;

    if (!o)
        return -EINVAL;
    type = opts_get(o, "type");
    if (!type)
        type = "user";          /* as QEMU's */
    if (!strcmp(type, "none")) {
        /* QEMU's way to say no default NIC; skiff makes none anyway */
        r = 0;
        goto out;
    }
    model = opts_get(o, "model");
    mac = opts_get(o, "mac");
    id = opts_get(o, "id") ? xstrdup(opts_get(o, "id")) : generated_id();
    if (opts_has(o, "id") && !id_well_formed(id)) {
        *err = xasprintf("id '%s': an id is letters, digits, '-', '.' and '_', starting with a letter", id);
        r = -EINVAL;
        goto out;
    }
    /* the NIC is checked before the backend opens anything */
    if ((r = nic_request("-nic", spec, model, mac, id, NULL, NULL, err)) < 0)
        goto out;
    if ((r = backend_make(o, type, id, &n, err)) < 0)
        nic_request_free(&nics[--nnics]);
out:
    free(id);
    opts_free(o);
    return r;
}

/* -net nic[,model=M][,macaddr=MAC][,netdev=ND][,id=|name=][,addr=][,vectors=] or -net TYPE,...: ports of hub 0 */
int net_add_legacy(const char *spec, char **err)
{
    struct opts *o = opts_parse(spec, "type", err);
    const char *type, *unused, *name;
    struct netdev *port = NULL, *n;
    char *id = NULL;
    int r = -EINVAL;

    if (!o)
        return -EINVAL;
    type = opts_get(o, "type");
    if (!type || !*type) {
        *err = xstrdup("give nic, none or a backend type first (-net nic,model=rtl8139 -net user)");
        goto out;
    }
    if (!strcmp(type, "none")) {
        r = 0;
        goto out;
    }
    if (!strcmp(type, "hubport")) {
        *err = xstrdup("hub ports are made with -netdev hubport,id=ID,hubid=N");
        goto out;
    }
    name = opts_get(o, "id");
    if (!name)
        name = opts_get(o, "name");     /* QEMU 2.x's spelling */
    if (name && !id_well_formed(name)) {
        *err = xasprintf("id '%s': an id is letters, digits, '-', '.' and '_', starting with a letter", name);
        goto out;
    }
    if (!strcmp(type, "nic")) {
        const char *nd = opts_get(o, "netdev"), *model = opts_get(o, "model"), *mac = opts_get(o, "macaddr");

        opts_get(o, "addr");
        opts_get(o, "vectors");
        if ((unused = opts_first_unused(o))) {
            *err = xasprintf("nic: unknown parameter '%s' (model=, macaddr=, netdev=, id=, addr=, vectors=)",
                             unused);
            goto out;
        }
        if (nd && !netdev_find(nd)) {
            *err = xasprintf("netdev '%s' not found", nd);
            r = -ENOENT;
            goto out;
        }
        /* as QEMU's: a NIC given netdev= is on that backend, not on hub 0 */
        if ((r = nic_request("-net", spec, model, mac, nd, name, o, err)) < 0)
            goto out;
        if (!nd && (r = net_hub_add_port(0, NULL, &port, err)) < 0) {
            nic_request_free(&nics[--nnics]);
            goto out;
        }
        if (port)
            nics[nnics - 1].netdev = xstrdup(port->id);
        goto out;
    }
    id = name ? xstrdup(name) : generated_id();
    if (!netdev_type_find(type)) {
        *err = xasprintf("no network backend type '%s' (-netdev help lists them)", type);
        goto out;
    }
    if ((r = net_hub_add_port(0, NULL, &port, err)) < 0)
        goto out;
    if ((r = backend_make(o, type, id, &n, err)) < 0) {
        netdev_free(port);
        goto out;
    }
    port->nc.peer = &n->nc;
    n->nc.peer = &port->nc;
out:
    free(id);
    opts_free(o);
    return r;
}

/* ---- the board's NICs and QEMU's warnings ---- */

/* QEMU's net_check_clients, once every device is there */
static void net_check(void *opaque)
{
    net_hub_check();
    for (struct net_client *nc = net_clients(); nc; nc = nc->next)
        if (!nc->peer && nc->kind != NET_CLIENT_HUBPORT)
            log_warn("%s %s has no peer", nc->kind == NET_CLIENT_NIC ? "nic" : "netdev", nc->name);
}

int net_create_nics(char **err)
{
    int r = 0;

    for (int i = 0; i < nnics && r == 0; i++) {
        struct nic_request *q = &nics[i];
        struct device *dev = device_new(q->model);
        char *e = NULL;

        if ((q->netdev && device_set_prop(dev, "netdev", q->netdev, &e) < 0) ||
            (q->mac && device_set_prop(dev, "mac", q->mac, &e) < 0) ||
            (q->id && device_set_prop(dev, "id", q->id, &e) < 0) ||
            (q->addr && device_set_prop(dev, "addr", q->addr, &e) < 0) ||
            (q->vectors && device_set_prop(dev, "vectors", q->vectors, &e) < 0) ||
            device_realize(dev, &e) < 0) {
            device_free(dev);
            *err = xasprintf("%s: %s", q->what, e);
            free(e);
            r = -EINVAL;
        }
    }
    for (int i = 0; i < nnics; i++)
        nic_request_free(&nics[i]);
    nnics = 0;
    if (!check_hooked) {
        machine_add_done_hook(net_check, NULL);
        check_hooked = true;
    }
    return r;
}
