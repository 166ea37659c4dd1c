/* test-vmstate.c: the state engine: round trips, versions, bounds, and hostile streams */
#include "migration/vmstate.h"
#include "tests/unit/tap.h"

struct inner {
    uint16_t a;
    uint64_t b;
};

struct state {
    uint8_t mode;
    uint32_t counter;
    bool flag;
    int64_t when;
    uint8_t fifo[8];
    uint16_t regs[4];
    uint8_t buf[5];
    struct inner in[2];
    uint32_t added_in_v2;
};

static const struct vmstate_field inner_fields[] = {
    VMSTATE_U16(a, struct inner),
    VMSTATE_U64(b, struct inner),
    VMSTATE_END_OF_LIST,
};
static const struct vmstate_desc inner_desc = {
    .name = "inner", .version = 1, .min_version = 1, .fields = inner_fields,
};

static int post_load_calls;
static int state_post_load(void *opaque, int version)
{
    struct state *s = opaque;

    post_load_calls++;
    return s->counter == 0xdead ? -EINVAL : 0;  /* a state no device can be in */
}

static const struct vmstate_field state_fields[] = {
    VMSTATE_U8_MAX(mode, struct state, 3),
    VMSTATE_U32(counter, struct state),
    VMSTATE_BOOL(flag, struct state),
    VMSTATE_I64(when, struct state),
    VMSTATE_U8_ARRAY(fifo, struct state, 8),
    VMSTATE_U16_ARRAY(regs, struct state, 4),
    VMSTATE_BUFFER(buf, struct state),
    VMSTATE_STRUCT_ARRAY(in, struct state, 2, inner_desc, struct inner),
    VMSTATE_U32_V(added_in_v2, struct state, 2),
    VMSTATE_END_OF_LIST,
};

static struct vmstate_desc desc = {
    .name = "testdev", .version = 2, .min_version = 1, .fields = state_fields,
    .post_load = state_post_load,
};

static struct state sample(void)
{
    struct state s = { .mode = 2, .counter = 123456, .flag = true, .when = -42,
                       .fifo = { 1, 2, 3, 4, 5, 6, 7, 8 }, .regs = { 0x1111, 0x2222, 0x3333, 0xffff },
                       .buf = "abcd", .in = { { 7, 1ULL << 40 }, { 9, 99 } }, .added_in_v2 = 77 };
    return s;
}

int main(void)
{
    struct state s = sample(), t;
    struct vmbuf b;
    char *err = NULL;
    int r;

    memset(&t, 0, sizeof(t));
    r = vmstate_roundtrip(&desc, &s, &t, &err);
    CHECK(r == 0 && t.mode == s.mode && t.counter == s.counter && t.flag && t.when == -42 &&
              !memcmp(t.fifo, s.fifo, 8) && !memcmp(t.regs, s.regs, sizeof(s.regs)) &&
              !memcmp(t.buf, "abcd", 5) && t.in[0].b == 1ULL << 40 && t.in[1].a == 9 &&
              t.added_in_v2 == 77,
          "a state saves and loads back field for field");
    free(err);

    /* an older stream: version 1 lacks added_in_v2 */
    desc.version = 1;
    vmbuf_init(&b);
    vmstate_save(&desc, &s, &b);
    desc.version = 2;
    memset(&t, 0, sizeof(t));
    r = vmstate_load(&desc, &t, &b, &err);
    CHECK(r == 0 && t.counter == s.counter && t.added_in_v2 == 0,
          "a version 1 stream loads, leaving the version 2 field alone");
    vmbuf_free(&b);

    /* a value above its bound */
    s.mode = 7;
    vmbuf_init(&b);
    vmstate_save(&desc, &s, &b);
    r = vmstate_load(&desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "mode"), "a field above its limit is refused, by name (%s)", err ? err : "");
    free(err);
    vmbuf_free(&b);
    s = sample();

    /* post_load rejects a state the device cannot be in */
    s.counter = 0xdead;
    vmbuf_init(&b);
    vmstate_save(&desc, &s, &b);
    r = vmstate_load(&desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "testdev"), "the device's own check refuses an impossible state");
    free(err);
    vmbuf_free(&b);
    s = sample();

    /* a truncated stream, at every length */
    vmbuf_init(&b);
    vmstate_save(&desc, &s, &b);
    {
        bool all_refused = true;

        for (size_t n = 0; n < b.len; n++) {
            struct vmbuf c = { .data = b.data, .len = n };

            if (vmstate_load(&desc, &t, &c, &err) == 0)
                all_refused = false;
            free(err);
            err = NULL;
        }
        CHECK(all_refused, "a stream cut anywhere is refused (%zu cut points)", b.len);
    }
    /* a bad boolean, a wrong section, a future version */
    {
        struct vmbuf c = { .data = b.data, .len = b.len };
        size_t flag_off = 1 + strlen("testdev") + 4 + 1 + 4;

        b.data[flag_off] = 2;
        CHECK(vmstate_load(&desc, &t, &c, &err) < 0 && strstr(err, "flag"), "a boolean of 2 is refused");
        free(err);
        b.data[flag_off] = 1;
        b.data[1] = 'X';
        c.pos = 0;
        CHECK(vmstate_load(&desc, &t, &c, &err) < 0 && strstr(err, "expected section"),
              "another device's section is refused");
        free(err);
        b.data[1] = 't';
        b.data[1 + 7 + 3] = 9;
        c.pos = 0;
        CHECK(vmstate_load(&desc, &t, &c, &err) < 0 && strstr(err, "version 9"),
              "a version newer than this skiff is refused");
        free(err);
    }
    vmbuf_free(&b);
    return tap_done();
}
