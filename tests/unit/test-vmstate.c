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

/* ---- a nested structure that grew a field in its version 2 ---- */

struct point {
    uint16_t x;
    uint32_t added_in_v2;
};

struct outer {
    uint8_t a;
    struct point p[2];
    uint8_t z;
};

static const struct vmstate_field point_fields[] = {
    VMSTATE_U16(x, struct point),
    VMSTATE_U32_V(added_in_v2, struct point, 2),
    VMSTATE_END_OF_LIST,
};
static struct vmstate_desc point_desc = {
    .name = "point", .version = 2, .min_version = 1, .fields = point_fields,
};
static const struct vmstate_field outer_fields[] = {
    VMSTATE_U8(a, struct outer),
    VMSTATE_STRUCT_ARRAY(p, struct outer, 2, point_desc, struct point),
    VMSTATE_U8(z, struct outer),
    VMSTATE_END_OF_LIST,
};
/* the outer description stays at version 1: only the nested one changed */
static const struct vmstate_desc outer_desc = {
    .name = "outer", .version = 1, .min_version = 1, .fields = outer_fields,
};

/* ---- an optional part: a timer's deadline, saved only while the timer runs ---- */

struct timed {
    uint8_t reg;
    bool timer_on;
    int64_t deadline;       /* -1: no timer */
};

static bool timed_timer_needed(void *opaque)
{
    return ((struct timed *)opaque)->timer_on;
}

static const struct vmstate_field timed_timer_fields[] = {
    VMSTATE_I64(deadline, struct timed),
    VMSTATE_END_OF_LIST,
};
static struct vmstate_desc timed_timer_desc = {
    .name = "timed/timer", .version = 1, .min_version = 1, .fields = timed_timer_fields,
    .needed = timed_timer_needed,
};

/* a stream without the subsection means no timer */
static int timed_pre_load(void *opaque)
{
    ((struct timed *)opaque)->deadline = -1;
    return 0;
}

static const struct vmstate_field timed_fields[] = {
    VMSTATE_U8(reg, struct timed),
    VMSTATE_BOOL(timer_on, struct timed),
    VMSTATE_END_OF_LIST,
};
static const struct vmstate_desc *const timed_subsections[] = { &timed_timer_desc, NULL };
static const struct vmstate_desc timed_desc = {
    .name = "timed", .version = 1, .min_version = 1, .fields = timed_fields,
    .pre_load = timed_pre_load, .subsections = timed_subsections,
};
/* the same device in a skiff that had no subsection yet, and a broken saver that writes it twice */
static const struct vmstate_desc timed_old_desc = {
    .name = "timed", .version = 1, .min_version = 1, .fields = timed_fields,
};
static const struct vmstate_desc *const timed_twice[] = { &timed_timer_desc, &timed_timer_desc, NULL };
static const struct vmstate_desc timed_twice_desc = {
    .name = "timed", .version = 1, .min_version = 1, .fields = timed_fields,
    .subsections = timed_twice,
};

/* ---- memory held by a pointer (video memory): four pages ---- */

#define VID_SIZE (4 * VMS_PAGE_SIZE)

struct vid {
    uint8_t *mem;
    uint32_t mode;
};

static const struct vmstate_field vid_fields[] = {
    VMSTATE_PAGES(mem, struct vid, VID_SIZE),
    VMSTATE_U32_MAX(mode, struct vid, 3),
    VMSTATE_END_OF_LIST,
};
static const struct vmstate_desc vid_desc = {
    .name = "vid", .version = 1, .min_version = 1, .fields = vid_fields,
};

static void test_nested_versions(void)
{
    struct outer s = { .a = 1, .p = { { 0x1234, 0xaaaa }, { 0x5678, 0xbbbb } }, .z = 9 }, t;
    struct vmbuf b;
    char *err = NULL;
    int r;

    memset(&t, 0, sizeof(t));
    r = vmstate_roundtrip(&outer_desc, &s, &t, &err);
    CHECK(r == 0 && t.p[1].x == 0x5678 && t.p[1].added_in_v2 == 0xbbbb && t.z == 9,
          "nested structures save and load back");
    free(err);

    /* a stream from a skiff whose point had no added_in_v2 yet */
    point_desc.version = 1;
    vmbuf_init(&b);
    vmstate_save(&outer_desc, &s, &b);
    point_desc.version = 2;
    t = (struct outer){ .p = { { 0, 0x5555 }, { 0, 0x5555 } } };
    r = vmstate_load(&outer_desc, &t, &b, &err);
    CHECK(r == 0 && t.p[0].x == 0x1234 && t.p[1].x == 0x5678 && t.z == 9 &&
              t.p[0].added_in_v2 == 0x5555 && t.p[1].added_in_v2 == 0x5555,
          "a nested structure of an older version loads by its own version: the field it lacked "
          "keeps its value");
    free(err);
    vmbuf_free(&b);

    /* a nested version newer than this skiff's */
    point_desc.version = 3;
    vmbuf_init(&b);
    vmstate_save(&outer_desc, &s, &b);
    point_desc.version = 2;
    r = vmstate_load(&outer_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "outer.p[0]") && strstr(err, "version 3"),
          "a nested structure newer than this skiff is refused, by name (%s)", err ? err : "");
    free(err);
    vmbuf_free(&b);

    /* the mark before a nested structure: a stream out of step is caught where it goes wrong */
    vmbuf_init(&b);
    vmstate_save(&outer_desc, &s, &b);
    b.data[1 + 5 + 4 + 1] = 0x12;
    r = vmstate_load(&outer_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "does not follow"), "a nested structure without its mark is refused (%s)",
          err ? err : "");
    free(err);
    vmbuf_free(&b);
}

static void test_subsections(void)
{
    struct timed s = { .reg = 5, .timer_on = true, .deadline = 123456789 }, t;
    struct vmbuf b, c;
    char *err = NULL;
    int r;

    vmbuf_init(&b);
    vmstate_save(&timed_desc, &s, &b);
    t = (struct timed){ .deadline = 0 };
    r = vmstate_load(&timed_desc, &t, &b, &err);
    CHECK(r == 0 && t.reg == 5 && t.timer_on && t.deadline == 123456789,
          "a needed subsection saves and loads back");
    free(err);
    vmbuf_free(&b);

    /* not needed: not in the stream, and its absence loads as "no timer" */
    s.timer_on = false;
    vmbuf_init(&b);
    vmbuf_init(&c);
    vmstate_save(&timed_desc, &s, &b);
    vmstate_save(&timed_old_desc, &s, &c);
    t = (struct timed){ .deadline = 77 };
    r = vmstate_load(&timed_desc, &t, &b, &err);
    CHECK(r == 0 && b.len == c.len && t.deadline == -1,
          "a subsection that is not needed is left out, and loading without it leaves the default "
          "(%zu bytes, deadline %" PRId64 ")", b.len, t.deadline);
    free(err);
    t = (struct timed){ .deadline = 77 };
    c.pos = 0;
    r = vmstate_load(&timed_desc, &t, &c, &err);
    CHECK(r == 0 && t.deadline == -1, "a stream from before the subsection existed loads");
    free(err);
    vmbuf_free(&b);
    vmbuf_free(&c);

    /* a subsection the destination does not know */
    s.timer_on = true;
    vmbuf_init(&b);
    vmstate_save(&timed_desc, &s, &b);
    r = vmstate_load(&timed_old_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "timed/timer") && strstr(err, "not one this skiff knows"),
          "a subsection this skiff does not know is refused, by name (%s)", err ? err : "");
    free(err);

    /* patching a field of a subsection */
    r = vmstate_patch(&timed_desc, &b, "timed/timer.deadline", 4242);
    b.pos = 0;
    if (r == 0)
        r = vmstate_load(&timed_desc, &t, &b, &err);
    CHECK(r == 0 && t.deadline == 4242, "a subsection's field can be patched by its path");
    free(err);
    vmbuf_free(&b);
    s.timer_on = false;
    vmbuf_init(&b);
    vmstate_save(&timed_desc, &s, &b);
    CHECK(vmstate_patch(&timed_desc, &b, "timed/timer.deadline", 1) == -ENOENT,
          "patching a subsection the stream lacks says so");
    vmbuf_free(&b);

    /* twice, or of a version this skiff does not load */
    s.timer_on = true;
    vmbuf_init(&b);
    vmstate_save(&timed_twice_desc, &s, &b);
    r = vmstate_load(&timed_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "twice"), "a subsection that comes twice is refused (%s)", err ? err : "");
    free(err);
    vmbuf_free(&b);
    timed_timer_desc.version = 2;
    vmbuf_init(&b);
    vmstate_save(&timed_desc, &s, &b);
    timed_timer_desc.version = 1;
    r = vmstate_load(&timed_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "timed.timed/timer") && strstr(err, "version 2"),
          "a subsection newer than this skiff is refused (%s)", err ? err : "");
    free(err);
    vmbuf_free(&b);
}

static void test_pages(void)
{
    static uint8_t src_mem[VID_SIZE], dst_mem[VID_SIZE], want[VID_SIZE];
    struct vid s = { .mem = src_mem, .mode = 2 }, t = { .mem = dst_mem };
    struct vmbuf b;
    size_t first;
    char *err = NULL;
    bool all_refused = true;
    int r;

    memset(src_mem + VMS_PAGE_SIZE, 0x11, 100);
    memset(src_mem + 3 * VMS_PAGE_SIZE + 4000, 0x33, 96);
    memcpy(want, src_mem, VID_SIZE);
    memset(dst_mem, 0xff, VID_SIZE);
    vmbuf_init(&b);
    vmstate_save(&vid_desc, &s, &b);
    CHECK(b.len < 2 * VMS_PAGE_SIZE + 64, "only the pages that are not zero are in the stream (%zu bytes)",
          b.len);
    r = vmstate_load(&vid_desc, &t, &b, &err);
    CHECK(r == 0 && !memcmp(dst_mem, want, VID_SIZE) && t.mode == 2,
          "memory loads back page for page, and the pages left out become zero");
    free(err);

    /* a refused stream leaves the memory alone: pages are written only once all is accepted */
    memset(dst_mem, 0xff, VID_SIZE);
    first = 1 + 3 + 4;
    b.data[b.len - 2] = 7;         /* mode, just before the end mark */
    b.pos = 0;
    r = vmstate_load(&vid_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "mode") && dst_mem[0] == 0xff && dst_mem[VMS_PAGE_SIZE] == 0xff,
          "a stream refused after its pages leaves the memory as it was (%s)", err ? err : "");
    free(err);
    b.data[b.len - 2] = 2;

    stl_be(b.data + first, 4);
    b.pos = 0;
    r = vmstate_load(&vid_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "beyond"), "a page beyond the memory is refused (%s)", err ? err : "");
    free(err);
    stl_be(b.data + first, 3);
    b.pos = 0;
    r = vmstate_load(&vid_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "out of order"), "pages out of order are refused (%s)", err ? err : "");
    free(err);
    stl_be(b.data + first, 1);

    t.mem = NULL;
    b.pos = 0;
    r = vmstate_load(&vid_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "no memory"), "loading pages where there is no memory is refused");
    free(err);
    t.mem = dst_mem;

    for (size_t n = 0; n < b.len; n++) {
        struct vmbuf c = { .data = b.data, .len = n };

        if (vmstate_load(&vid_desc, &t, &c, &err) == 0)
            all_refused = false;
        free(err);
        err = NULL;
    }
    CHECK(all_refused, "a stream with pages cut anywhere is refused (%zu cut points)", b.len);
    vmbuf_put_u8(&b, 0);
    b.pos = 0;
    r = vmstate_load(&vid_desc, &t, &b, &err);
    CHECK(r < 0 && err && strstr(err, "1 bytes left"), "bytes after the section are refused (%s)", err ? err : "");
    free(err);
    vmbuf_free(&b);
}

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
    test_nested_versions();
    test_subsections();
    test_pages();
    return tap_done();
}
