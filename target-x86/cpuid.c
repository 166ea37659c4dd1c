/* cpuid.c: building each vCPU's CPUID from KVM's supported set, a CPU model and the topology */
#define LOG_PREFIX "cpuid: "
#include "target-x86/cpuid.h"
#include "target-x86/kvm.h" // kvm.supported_cpuid
#include "util/log.h"
#include "util/opts.h"

enum { R_EAX, R_EBX, R_ECX, R_EDX };

struct feature {
    const char *name;
    uint32_t leaf;
    uint32_t subleaf;
    uint8_t reg;
    uint8_t bit;
};

/* Names as QEMU spells them (Intel SDM vol. 2A "CPUID", AMD APM vol. 3 appendix E). */
static const struct feature features[] = {
    { "fpu", 1, 0, R_EDX, 0 }, { "vme", 1, 0, R_EDX, 1 }, { "de", 1, 0, R_EDX, 2 },
    { "pse", 1, 0, R_EDX, 3 }, { "tsc", 1, 0, R_EDX, 4 }, { "msr", 1, 0, R_EDX, 5 },
    { "pae", 1, 0, R_EDX, 6 }, { "mce", 1, 0, R_EDX, 7 }, { "cx8", 1, 0, R_EDX, 8 },
    { "apic", 1, 0, R_EDX, 9 }, { "sep", 1, 0, R_EDX, 11 }, { "mtrr", 1, 0, R_EDX, 12 },
    { "pge", 1, 0, R_EDX, 13 }, { "mca", 1, 0, R_EDX, 14 }, { "cmov", 1, 0, R_EDX, 15 },
    { "pat", 1, 0, R_EDX, 16 }, { "pse36", 1, 0, R_EDX, 17 }, { "clflush", 1, 0, R_EDX, 19 },
    { "mmx", 1, 0, R_EDX, 23 }, { "fxsr", 1, 0, R_EDX, 24 }, { "sse", 1, 0, R_EDX, 25 },
    { "sse2", 1, 0, R_EDX, 26 }, { "ss", 1, 0, R_EDX, 27 }, { "ht", 1, 0, R_EDX, 28 },
    { "pni", 1, 0, R_ECX, 0 }, { "sse3", 1, 0, R_ECX, 0 }, { "pclmulqdq", 1, 0, R_ECX, 1 },
    { "monitor", 1, 0, R_ECX, 3 }, { "vmx", 1, 0, R_ECX, 5 }, { "ssse3", 1, 0, R_ECX, 9 },
    { "fma", 1, 0, R_ECX, 12 }, { "cx16", 1, 0, R_ECX, 13 }, { "pdcm", 1, 0, R_ECX, 15 },
    { "pcid", 1, 0, R_ECX, 17 }, { "sse4.1", 1, 0, R_ECX, 19 }, { "sse4_1", 1, 0, R_ECX, 19 },
    { "sse4.2", 1, 0, R_ECX, 20 }, { "sse4_2", 1, 0, R_ECX, 20 }, { "x2apic", 1, 0, R_ECX, 21 },
    { "movbe", 1, 0, R_ECX, 22 }, { "popcnt", 1, 0, R_ECX, 23 },
    { "tsc-deadline", 1, 0, R_ECX, 24 }, { "aes", 1, 0, R_ECX, 25 }, { "xsave", 1, 0, R_ECX, 26 },
    { "avx", 1, 0, R_ECX, 28 }, { "f16c", 1, 0, R_ECX, 29 }, { "rdrand", 1, 0, R_ECX, 30 },
    { "hypervisor", 1, 0, R_ECX, 31 },
    { "fsgsbase", 7, 0, R_EBX, 0 }, { "tsc-adjust", 7, 0, R_EBX, 1 }, { "bmi1", 7, 0, R_EBX, 3 },
    { "hle", 7, 0, R_EBX, 4 }, { "avx2", 7, 0, R_EBX, 5 }, { "smep", 7, 0, R_EBX, 7 },
    { "bmi2", 7, 0, R_EBX, 8 }, { "erms", 7, 0, R_EBX, 9 }, { "invpcid", 7, 0, R_EBX, 10 },
    { "rtm", 7, 0, R_EBX, 11 }, { "mpx", 7, 0, R_EBX, 14 }, { "avx512f", 7, 0, R_EBX, 16 },
    { "avx512dq", 7, 0, R_EBX, 17 }, { "rdseed", 7, 0, R_EBX, 18 }, { "adx", 7, 0, R_EBX, 19 },
    { "smap", 7, 0, R_EBX, 20 }, { "avx512ifma", 7, 0, R_EBX, 21 },
    { "clflushopt", 7, 0, R_EBX, 23 }, { "clwb", 7, 0, R_EBX, 24 }, { "avx512cd", 7, 0, R_EBX, 28 },
    { "sha-ni", 7, 0, R_EBX, 29 }, { "avx512bw", 7, 0, R_EBX, 30 }, { "avx512vl", 7, 0, R_EBX, 31 },
    { "avx512vbmi", 7, 0, R_ECX, 1 }, { "umip", 7, 0, R_ECX, 2 }, { "pku", 7, 0, R_ECX, 3 },
    { "ospke", 7, 0, R_ECX, 4 }, { "vaes", 7, 0, R_ECX, 9 }, { "vpclmulqdq", 7, 0, R_ECX, 10 },
    { "la57", 7, 0, R_ECX, 16 }, { "rdpid", 7, 0, R_ECX, 22 },
    { "md-clear", 7, 0, R_EDX, 10 }, { "spec-ctrl", 7, 0, R_EDX, 26 },
    { "stibp", 7, 0, R_EDX, 27 }, { "arch-capabilities", 7, 0, R_EDX, 29 },
    { "ssbd", 7, 0, R_EDX, 31 },
    { "xsaveopt", 0xd, 1, R_EAX, 0 }, { "xsavec", 0xd, 1, R_EAX, 1 },
    { "xgetbv1", 0xd, 1, R_EAX, 2 }, { "xsaves", 0xd, 1, R_EAX, 3 },
    { "lahf-lm", 0x80000001, 0, R_ECX, 0 }, { "lahf_lm", 0x80000001, 0, R_ECX, 0 },
    { "cmp-legacy", 0x80000001, 0, R_ECX, 1 }, { "svm", 0x80000001, 0, R_ECX, 2 },
    { "extapic", 0x80000001, 0, R_ECX, 3 }, { "cr8legacy", 0x80000001, 0, R_ECX, 4 },
    { "abm", 0x80000001, 0, R_ECX, 5 }, { "sse4a", 0x80000001, 0, R_ECX, 6 },
    { "misalignsse", 0x80000001, 0, R_ECX, 7 }, { "3dnowprefetch", 0x80000001, 0, R_ECX, 8 },
    { "osvw", 0x80000001, 0, R_ECX, 9 }, { "xop", 0x80000001, 0, R_ECX, 11 },
    { "fma4", 0x80000001, 0, R_ECX, 16 }, { "tbm", 0x80000001, 0, R_ECX, 21 },
    { "topoext", 0x80000001, 0, R_ECX, 22 }, { "perfctr-core", 0x80000001, 0, R_ECX, 23 },
    { "syscall", 0x80000001, 0, R_EDX, 11 }, { "nx", 0x80000001, 0, R_EDX, 20 },
    { "mmxext", 0x80000001, 0, R_EDX, 22 }, { "fxsr-opt", 0x80000001, 0, R_EDX, 25 },
    { "pdpe1gb", 0x80000001, 0, R_EDX, 26 }, { "rdtscp", 0x80000001, 0, R_EDX, 27 },
    { "lm", 0x80000001, 0, R_EDX, 29 },
    { "invtsc", 0x80000007, 0, R_EDX, 8 },
    { "kvmclock", 0x40000001, 0, R_EAX, 0 }, { "kvm-nopiodelay", 0x40000001, 0, R_EAX, 1 },
    { "kvm-mmu", 0x40000001, 0, R_EAX, 2 }, { "kvmclock2", 0x40000001, 0, R_EAX, 3 },
    { "kvm-asyncpf", 0x40000001, 0, R_EAX, 4 }, { "kvm-steal-time", 0x40000001, 0, R_EAX, 5 },
    { "kvm-pv-eoi", 0x40000001, 0, R_EAX, 6 }, { "kvm-pv-unhalt", 0x40000001, 0, R_EAX, 7 },
    { "kvm-pv-tlb-flush", 0x40000001, 0, R_EAX, 9 }, { "kvm-asyncpf-vmexit", 0x40000001, 0, R_EAX, 10 },
    { "kvm-pv-ipi", 0x40000001, 0, R_EAX, 11 }, { "kvm-poll-control", 0x40000001, 0, R_EAX, 12 },
    { "kvm-pv-sched-yield", 0x40000001, 0, R_EAX, 13 }, { "kvm-asyncpf-int", 0x40000001, 0, R_EAX, 14 },
    { "kvm-msi-ext-dest-id", 0x40000001, 0, R_EAX, 15 },
    { "kvmclock-stable-bit", 0x40000001, 0, R_EAX, 24 },
};

/* Removing one of these removes the others that cannot work without it. */
static const struct { const char *feat, *needs; } depends[] = {
    { "avx", "xsave" }, { "avx2", "avx" }, { "fma", "avx" }, { "f16c", "avx" },
    { "avx512f", "avx" }, { "xsaveopt", "xsave" }, { "xsavec", "xsave" }, { "xgetbv1", "xsave" },
    { "xsaves", "xsave" }, { "pku", "xsave" }, { "vaes", "avx" }, { "vpclmulqdq", "avx" },
    { "avx512dq", "avx512f" }, { "avx512bw", "avx512f" }, { "avx512vl", "avx512f" },
    { "avx512cd", "avx512f" }, { "avx512ifma", "avx512f" }, { "avx512vbmi", "avx512f" },
};

#define MAX_FEAT_CHANGES 64

static struct {
    bool qemu64;
    int nchanges;
    struct { const struct feature *f; bool on; } changes[MAX_FEAT_CHANGES];
} model;

static const struct feature *feature_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(features); i++)
        if (!strcmp(features[i].name, name))
            return &features[i];
    return NULL;
}

static int add_change(const char *name, bool on, char **err)
{
    const struct feature *f = feature_find(name);

    if (!f) {
        *err = xasprintf("-cpu: unknown CPU feature '%s' (see -cpu help)", name);
        return -EINVAL;
    }
    if (model.nchanges == MAX_FEAT_CHANGES) {
        *err = xstrdup("-cpu: too many feature changes");
        return -EINVAL;
    }
    model.changes[model.nchanges].f = f;
    model.changes[model.nchanges].on = on;
    model.nchanges++;
    if (!on) {
        for (size_t i = 0; i < ARRAY_SIZE(depends); i++)
            if (!strcmp(depends[i].needs, name) && add_change(depends[i].feat, false, err) < 0)
                return -EINVAL;
    }
    return 0;
}

int cpuid_configure(const char *spec, char **err)
{
    char *s = xstrdup(spec), *tok, *save = NULL;
    int r = 0;
    bool first = true;

    memset(&model, 0, sizeof(model));
    for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = false) {
        char *eq;

        if (first) {
            if (!strcmp(tok, "qemu64") || !strcmp(tok, "kvm64")) {
                model.qemu64 = true;
            } else if (strcmp(tok, "host") && strcmp(tok, "max")) {
                *err = xasprintf("-cpu: unknown CPU model '%s' (host, max, qemu64, kvm64)", tok);
                r = -EINVAL;
                break;
            }
            continue;
        }
        if (tok[0] == '+' || tok[0] == '-') {
            r = add_change(tok + 1, tok[0] == '+', err);
        } else if ((eq = strchr(tok, '='))) {
            bool on;

            *eq = '\0';
            if (parse_bool(eq + 1, &on) < 0) {
                *err = xasprintf("-cpu: feature '%s' takes on or off", tok);
                r = -EINVAL;
            } else {
                r = add_change(tok, on, err);
            }
        } else {
            r = add_change(tok, true, err);
        }
        if (r < 0)
            break;
    }
    free(s);
    return r;
}

static uint32_t *entry_reg(struct kvm_cpuid_entry2 *e, int reg)
{
    switch (reg) {
    case R_EAX: return &e->eax;
    case R_EBX: return &e->ebx;
    case R_ECX: return &e->ecx;
    default: return &e->edx;
    }
}

static struct kvm_cpuid_entry2 *entry_find(struct kvm_cpuid2 *c, uint32_t leaf, uint32_t sub)
{
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];

        if (e->function == leaf &&
            (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == sub))
            return e;
    }
    return NULL;
}

void cpuid_add_supported(struct kvm_cpuid2 *supported, const char *name)
{
    const struct feature *f = feature_find(name);
    struct kvm_cpuid_entry2 *e = f ? entry_find(supported, f->leaf, f->subleaf) : NULL;

    if (e)
        *entry_reg(e, f->reg) |= 1u << f->bit;
}

static int bits_for(int n)
{
    int b = 0;

    while ((1 << b) < n)
        b++;
    return b;
}

uint32_t cpu_apic_id(const struct cpu_topology *t, int index)
{
    int tbits = bits_for(t->threads), cbits = bits_for(t->cores);
    int thread = index % t->threads;
    int core = (index / t->threads) % t->cores;
    int socket = index / (t->threads * t->cores);

    return (socket << (cbits + tbits)) | (core << tbits) | thread;
}

int cpu_topology_parse(const char *spec, struct cpu_topology *t, char **err)
{
    struct opts *o = opts_parse(spec, "cpus", err);
    uint64_t cpus = 0, sockets = 0, cores = 0, threads = 0, maxcpus = 0;
    const char *unused;
    int r = -EINVAL;

    if (!o)
        return -EINVAL;
    if (opts_get_uint(o, "cpus", &cpus) < 0 || opts_get_uint(o, "sockets", &sockets) < 0 ||
        opts_get_uint(o, "cores", &cores) < 0 || opts_get_uint(o, "threads", &threads) < 0 ||
        opts_get_uint(o, "maxcpus", &maxcpus) < 0) {
        *err = xasprintf("-smp %s: the counts must be numbers", spec);
        goto out;
    }
    opts_get(o, "dies");
    if ((unused = opts_first_unused(o))) {
        *err = xasprintf("-smp: unknown parameter '%s'", unused);
        goto out;
    }
    /* each count alone stays small, so that their products cannot wrap */
    if (cpus > 1024 || sockets > 1024 || cores > 1024 || threads > 1024 || maxcpus > 1024) {
        *err = xasprintf("-smp %s: at most 1024 CPUs, sockets, cores or threads", spec);
        goto out;
    }
    if (!threads)
        threads = 1;
    if (!sockets)
        sockets = 1;
    if (!cpus)
        cpus = maxcpus ? maxcpus : sockets * (cores ? cores : 1) * threads;
    if (!cores)
        cores = DIV_ROUND_UP(MAX(cpus, maxcpus), sockets * threads);
    if (!maxcpus)
        maxcpus = sockets * cores * threads;
    if (cpus < 1 || cpus > 1024 || sockets * cores * threads != maxcpus || cpus > maxcpus) {
        *err = xasprintf("-smp %s: %" PRIu64 " sockets x %" PRIu64 " cores x %" PRIu64
                         " threads does not fit %" PRIu64 " CPUs", spec, sockets, cores, threads,
                         cpus);
        goto out;
    }
    t->cpus = cpus;
    t->sockets = sockets;
    t->cores = cores;
    t->threads = threads;
    r = 0;
out:
    opts_free(o);
    return r;
}

/* The qemu64 model's features: what QEMU's qemu64 offers, plus the KVM paravirtual leaf. */
static void apply_qemu64(struct kvm_cpuid2 *c)
{
    static const char *const keep[] = {
        "fpu", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr", "pge",
        "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2", "sse3", "cx16",
        "x2apic", "tsc-deadline", "hypervisor", "popcnt", "lahf-lm", "syscall", "nx", "lm",
    };

    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        uint32_t saved[4] = { 0 };

        if (e->function == 1 || e->function == 0x80000001) {
            for (size_t k = 0; k < ARRAY_SIZE(keep); k++) {
                const struct feature *f = feature_find(keep[k]);

                if (f->leaf == e->function)
                    saved[f->reg] |= *entry_reg(e, f->reg) & (1u << f->bit);
            }
            e->ecx = saved[R_ECX];
            e->edx = saved[R_EDX];
        } else if (e->function == 7 || e->function == 0xd || e->function == 0x14) {
            e->eax = e->ebx = e->ecx = e->edx = 0;
        }
    }
}

static void set_feature(struct kvm_cpuid2 *c, const struct feature *f, bool on,
                        const struct kvm_cpuid2 *supported)
{
    struct kvm_cpuid_entry2 *e = entry_find(c, f->leaf, f->subleaf);
    const struct kvm_cpuid_entry2 *s = entry_find((struct kvm_cpuid2 *)supported, f->leaf, f->subleaf);

    if (!e)
        return;
    if (on) {
        if (!s || !(*entry_reg((struct kvm_cpuid_entry2 *)s, f->reg) & (1u << f->bit))) {
            log_warn("this host's KVM does not support CPU feature '%s'; not enabling it", f->name);
            return;
        }
        *entry_reg(e, f->reg) |= 1u << f->bit;
    } else {
        *entry_reg(e, f->reg) &= ~(1u << f->bit);
    }
}

/* Copy the supported entries, leaving out the topology leaves that cpuid_build writes itself. */
static struct kvm_cpuid2 *cpuid_copy_without_topology(const struct kvm_cpuid2 *supported, int extra)
{
    struct kvm_cpuid2 *c = xzalloc(sizeof(*c) + (supported->nent + extra) * sizeof(struct kvm_cpuid_entry2));

    for (uint32_t i = 0; i < supported->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &supported->entries[i];

        if (e->function == 0xb || e->function == 0x1f)
            continue;
        c->entries[c->nent++] = *e;
    }
    return c;
}

/*
 * Extended topology (Intel SDM vol. 2A, CPUID leaf 0BH): level 0 is SMT, level 1 the cores,
 * then an invalid level. KVM's supported list may hold only sub-leaf 0, so all are made here.
 */
static void cpuid_add_topology(struct kvm_cpuid2 *c, const struct cpu_topology *t, uint32_t apic_id)
{
    int tbits = bits_for(t->threads), cbits = bits_for(t->cores);

    for (uint32_t sub = 0; sub < 3; sub++) {
        struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

        memset(e, 0, sizeof(*e));
        e->function = 0xb;
        e->index = sub;
        e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        e->edx = apic_id;
        if (sub == 0) {
            e->eax = tbits;
            e->ebx = t->threads;
            e->ecx = (1 << 8) | sub;
        } else if (sub == 1) {
            e->eax = tbits + cbits;
            e->ebx = t->cores * t->threads;
            e->ecx = (2 << 8) | sub;
        } else {
            e->ecx = sub;
        }
    }
}

struct kvm_cpuid2 *cpuid_build(const struct kvm_cpuid2 *supported, const struct cpu_topology *t,
                               int index)
{
    struct kvm_cpuid2 *c = cpuid_copy_without_topology(supported, 3);
    uint32_t apic_id = cpu_apic_id(t, index);
    int tbits = bits_for(t->threads), cbits = bits_for(t->cores);
    int per_pkg = t->cores * t->threads;
    struct kvm_cpuid_entry2 *e;
    bool has_xsave;

    if (model.qemu64)
        apply_qemu64(c);
    for (int i = 0; i < model.nchanges; i++)
        set_feature(c, model.changes[i].f, model.changes[i].on, supported);
    cpuid_add_topology(c, t, apic_id);
    /* the basic leaves must reach 0xb for the topology to be seen */
    if ((e = entry_find(c, 0, 0)) && e->eax < 0xb)
        e->eax = 0xb;

    has_xsave = (e = entry_find(c, 1, 0)) && (e->ecx & (1u << 26));
    for (uint32_t i = 0; i < c->nent; i++) {
        e = &c->entries[i];
        switch (e->function) {
        case 1:
            /* EBX[31:24] initial APIC ID, [23:16] addressable logical CPUs per package */
            e->ebx = (e->ebx & 0xffff) | (apic_id << 24) | ((uint32_t)MIN(1 << (cbits + tbits), 255) << 16);
            e->ecx |= 1u << 31;     /* hypervisor present */
            if (per_pkg > 1)
                e->edx |= 1u << 28; /* HTT: more than one logical CPU per package */
            else
                e->edx &= ~(1u << 28);
            break;
        case 4:
            /* deterministic cache parameters: cores per package, threads sharing the cache */
            if ((e->eax & 0x1f) != 0) {
                uint32_t level = (e->eax >> 5) & 7;
                uint32_t sharing = level >= 3 ? per_pkg : t->threads;

                e->eax &= 0x3ff;
                e->eax |= ((uint32_t)((1 << cbits) - 1) << 26) |
                          ((uint32_t)((1 << bits_for(sharing)) - 1) << 14);
            }
            break;
        case 0xd:
            if (!has_xsave)
                e->eax = e->ebx = e->ecx = e->edx = 0;
            break;
        case 0x80000001:
            /* CmpLegacy: AMD's "more than one core" */
            if (per_pkg > 1)
                e->ecx |= 1u << 1;
            else
                e->ecx &= ~(1u << 1);
            break;
        case 0x80000008:
            /* ECX[7:0] cores per package - 1, [15:12] APIC ID bits for the core */
            e->ecx = (e->ecx & ~0xf0ffu) | ((uint32_t)(per_pkg - 1) & 0xff) |
                     ((uint32_t)(cbits + tbits) << 12);
            break;
        case 0x8000001e:
            /* AMD topology extensions: extended APIC ID, core id, threads per core */
            e->eax = apic_id;
            e->ebx = ((uint32_t)(t->threads - 1) << 8) | ((apic_id >> tbits) & 0xff);
            e->ecx = apic_id >> (cbits + tbits);
            e->edx = 0;
            break;
        }
    }
    return c;
}

void cpuid_signature(const struct kvm_cpuid2 *supported, const struct cpu_topology *t,
                     uint32_t *eax, uint32_t *edx)
{
    struct kvm_cpuid2 *c = cpuid_build(supported, t, 0);
    const struct kvm_cpuid_entry2 *e = entry_find(c, 1, 0);

    *eax = e ? e->eax : 0;
    *edx = e ? e->edx : 0;
    free(c);
}

bool cpuid_guest_signature(const struct cpu_topology *t, uint32_t *eax, uint32_t *edx)
{
    if (!kvm.supported_cpuid)
        return false;
    cpuid_signature(kvm.supported_cpuid, t, eax, edx);
    return true;
}

void cpuid_print_help(FILE *out)
{
    fprintf(out, "CPU models:\n"
                 "  host     every feature this host's KVM supports (the default)\n"
                 "  max      the same as host\n"
                 "  qemu64   QEMU's baseline x86-64 CPU, for guests that must run anywhere\n"
                 "  kvm64    the same as qemu64\n"
                 "\nAdd or mask features: -cpu host,-xsave,+x2apic (or xsave=off).\nFeatures:\n");
    for (size_t i = 0; i < ARRAY_SIZE(features); i++)
        fprintf(out, "%s%s", features[i].name, (i % 8 == 7) ? "\n" : " ");
    fprintf(out, "\n");
}
