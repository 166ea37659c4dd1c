/* cpu.c: vCPU threads, the KVM_RUN loop and its exits, entry state and reset */
#define LOG_PREFIX "cpu: "
#include "target-x86/cpu.h"
#include "target-x86/kvm.h"
#include "hw/core/guest-mem.h"
#include "hw/core/ioregion.h"
#include "hw/core/machine.h"
#include "util/log.h"
#include "util/main-loop.h"

#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SIG_IPI SIGUSR1
/* the ring fills one page after its header (linux/kvm.h uses the kernel's PAGE_SIZE) */
#define COALESCED_MMIO_MAX \
    ((4096 - sizeof(struct kvm_coalesced_mmio_ring)) / sizeof(struct kvm_coalesced_mmio))

/* MSRs (Intel SDM vol. 4; KVM's paravirtual ones from Documentation/virt/kvm/x86/msr.rst)
 * cleared on reset, so that kvmclock and friends stop writing into a rebooting guest. */
static const uint32_t reset_msrs[] = {
    0x174, 0x175, 0x176,                    /* SYSENTER_CS/ESP/EIP */
    0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR, LSTAR, CSTAR, FMASK */
    0xc0000102,                             /* KERNEL_GS_BASE */
    0x4b564d00, 0x4b564d01,                 /* KVM wall clock / system time (new) */
    0x11, 0x12,                             /* KVM wall clock / system time (old) */
    0x4b564d02, 0x4b564d03, 0x4b564d04,     /* async PF, steal time, PV EOI */
    0x4b564d06,                             /* async PF interrupt vector */
};

static struct {
    struct vcpu *v;
    int n;
    bool running;
    pthread_cond_t paused_cond;
    pthread_cond_t resume_cond;
    int coalesced_zones;
    struct timer *drain_timer;
    int64_t drain_interval;
} vcpus = { .paused_cond = PTHREAD_COND_INITIALIZER, .resume_cond = PTHREAD_COND_INITIALIZER };

int cpus_count(void)
{
    return vcpus.n;
}

struct vcpu *cpu_get(int index)
{
    return index >= 0 && index < vcpus.n ? &vcpus.v[index] : NULL;
}

bool cpus_running(void)
{
    return vcpus.running;
}

static void sig_ipi_handler(int sig)
{
    /* only here to make KVM_RUN return with EINTR */
}

/*
 * SIG_IPI is blocked outside KVM_RUN. One sent while the thread was outside stays
 * pending and would make every later KVM_RUN return EINTR at once: take it here.
 */
static void vcpu_eat_signals(void)
{
    static const struct timespec zero = { 0, 0 };
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIG_IPI);
    while (sigtimedwait(&set, NULL, &zero) == SIG_IPI)
        ;
}

static void vcpu_ioctl_or_die(struct vcpu *v, unsigned long req, void *arg, const char *what)
{
    if (ioctl(v->fd, req, arg) < 0)
        die("vCPU %d: %s failed: %s", v->index, what, strerror(errno));
}

/* After start-up a failed vCPU ioctl is an error the caller handles (the VM stops), not an exit. */
static int vcpu_ioctl_checked(struct vcpu *v, unsigned long req, void *arg, const char *what)
{
    if (ioctl(v->fd, req, arg) < 0) {
        int e = -errno;

        log_error("vCPU %d: %s failed: %s", v->index, what, strerror(-e));
        return e;
    }
    return 0;
}

static void vcpu_set_msrs_zero(struct vcpu *v)
{
    size_t n = ARRAY_SIZE(reset_msrs);
    struct kvm_msrs *m = xzalloc(sizeof(*m) + n * sizeof(struct kvm_msr_entry));
    int r;

    /* set one at a time: a host that lacks one must not stop the others */
    for (size_t i = 0; i < n; i++) {
        m->nmsrs = 1;
        m->entries[0].index = reset_msrs[i];
        m->entries[0].data = 0;
        r = ioctl(v->fd, KVM_SET_MSRS, m);
        (void)r;
    }
    /* IA32_MISC_ENABLE: fast strings on, as firmware leaves it */
    m->nmsrs = 1;
    m->entries[0].index = 0x1a0;
    m->entries[0].data = 1;
    r = ioctl(v->fd, KVM_SET_MSRS, m);
    (void)r;
    free(m);
}

/*
 * The power-on value of every MSR KVM lists for saving (KVM_GET_MSR_INDEX_LIST), read one at
 * a time so that one KVM cannot read does not lose the rest. A reset writes them back: a
 * rebooted guest must not find its predecessor's PAT, MTRRs, speculation controls or
 * paravirtual areas (QEMU resets the same set). The TSC is left out: it keeps running across
 * a reset (QEMU sets it to 0 on every vCPU).
 */
static void vcpu_save_msrs(struct vcpu *v)
{
    struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
    struct kvm_msrs *m = xzalloc(sizeof(*m) + sizeof(struct kvm_msr_entry));

    if (ioctl(kvm.kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
        goto out;
    list = xzalloc(sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
    list->nmsrs = probe.nmsrs;
    if (ioctl(kvm.kvm_fd, KVM_GET_MSR_INDEX_LIST, list) == 0) {
        v->msrs0 = xcalloc(list->nmsrs ? list->nmsrs : 1, sizeof(struct kvm_msr_entry));
        for (uint32_t i = 0; i < list->nmsrs; i++) {
            if (list->indices[i] == 0x10)       /* IA32_TSC */
                continue;
            m->nmsrs = 1;
            m->entries[0] = (struct kvm_msr_entry){ .index = list->indices[i] };
            if (ioctl(v->fd, KVM_GET_MSRS, m) == 1)
                v->msrs0[v->nmsrs0++] = m->entries[0];
        }
    }
    free(list);
out:
    free(m);
}

static void vcpu_restore_msrs(struct vcpu *v)
{
    struct kvm_msrs *m = xzalloc(sizeof(*m) + sizeof(struct kvm_msr_entry));

    for (int i = 0; i < v->nmsrs0; i++) {
        m->nmsrs = 1;
        m->entries[0] = v->msrs0[i];
        if (ioctl(v->fd, KVM_SET_MSRS, m) != 1)
            log_debug("vCPU %d: MSR 0x%x keeps its value through the reset", v->index,
                      v->msrs0[i].index);
    }
    free(m);
}

void cpus_create(const struct cpu_topology *t)
{
    struct sigaction sa = { .sa_handler = sig_ipi_handler };

    sigaction(SIG_IPI, &sa, NULL);
    vcpus.n = t->cpus;
    vcpus.v = xcalloc(vcpus.n, sizeof(struct vcpu));
    for (int i = 0; i < vcpus.n; i++) {
        struct vcpu *v = &vcpus.v[i];
        struct kvm_cpuid2 *cpuid;

        v->index = i;
        v->apic_id = cpu_apic_id(t, i);
        v->fd = ioctl(kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)v->apic_id);
        if (v->fd < 0)
            die("cannot create vCPU %d: %s", i, strerror(errno));
        set_cloexec(v->fd);
        v->run = mmap(NULL, kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
        if (v->run == MAP_FAILED)
            die("cannot map vCPU %d's run area: %s", i, strerror(errno));
        cpuid = cpuid_build(kvm.supported_cpuid, t, i);
        if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
            die("vCPU %d: KVM_SET_CPUID2 failed: %s", i, strerror(errno));
        free(cpuid);
        vcpu_ioctl_or_die(v, KVM_GET_REGS, &v->regs0, "KVM_GET_REGS");
        vcpu_ioctl_or_die(v, KVM_GET_SREGS, &v->sregs0, "KVM_GET_SREGS");
        vcpu_ioctl_or_die(v, KVM_GET_FPU, &v->fpu0, "KVM_GET_FPU");
        vcpu_ioctl_or_die(v, KVM_GET_LAPIC, &v->lapic0, "KVM_GET_LAPIC");
        vcpu_ioctl_or_die(v, KVM_GET_MP_STATE, &v->mp0, "KVM_GET_MP_STATE");
        vcpu_ioctl_or_die(v, KVM_GET_VCPU_EVENTS, &v->events0, "KVM_GET_VCPU_EVENTS");
        vcpu_ioctl_or_die(v, KVM_GET_DEBUGREGS, &v->debugregs0, "KVM_GET_DEBUGREGS");
        if (kvm_has_cap(KVM_CAP_XCRS) && ioctl(v->fd, KVM_GET_XCRS, &v->xcrs0) == 0)
            v->has_xcrs = true;
        vcpu_set_msrs_zero(v);
        if (kvm_has_cap(KVM_CAP_XSAVE)) {
            v->xsave0 = xzalloc(sizeof(*v->xsave0));
            if (ioctl(v->fd, KVM_GET_XSAVE, v->xsave0) < 0) {
                free(v->xsave0);
                v->xsave0 = NULL;
            }
        }
        vcpu_save_msrs(v);
    }
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64, bool db)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = 0;
    s->limit = 0xffffffff;
    s->type = type;
    s->present = 1;
    s->dpl = 0;
    s->s = 1;
    s->l = code64;
    s->db = db;
    s->g = 1;
}

int cpus_set_entry(const struct cpu_entry *e)
{
    int r;

    struct vcpu *v = &vcpus.v[0];
    struct kvm_sregs sregs = v->sregs0;
    struct kvm_regs regs = v->regs0;

    if (e->mode == CPU_ENTRY_REAL) {
        /* the power-on state but for CS:IP (ACPI 6.4 5.2.10, Firmware Waking Vector) */
        sregs.cs.selector = (e->rip >> 4) & 0xffff;
        sregs.cs.base = (uint64_t)sregs.cs.selector << 4;
        regs.rip = e->rip & 0xf;
    } else if (e->mode != CPU_ENTRY_RESET) {
        bool lm = e->mode == CPU_ENTRY_LONG64;

        /* flat segments; selectors 0x10/0x18 are what Linux's boot protocol names */
        set_seg(&sregs.cs, 0x10, 0xb, lm, !lm);
        set_seg(&sregs.ds, 0x18, 0x3, false, true);
        sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
        sregs.gdt.base = e->gdt_base;
        sregs.gdt.limit = e->gdt_limit;
        sregs.cr0 = 0x11;   /* PE, ET */
        if (lm) {
            sregs.cr3 = e->cr3;
            sregs.cr4 |= 0x20;              /* PAE */
            sregs.cr0 |= 0x80000000;        /* PG */
            sregs.efer |= 0x500;            /* LME, LMA */
        }
        regs.rip = e->rip;
        regs.rsp = e->rsp;
        regs.rsi = e->rsi;
        regs.rax = e->eax;
        regs.rbx = e->ebx;
        regs.rflags = 2;
    }
    if ((r = vcpu_ioctl_checked(v, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS")) < 0)
        return r;
    return vcpu_ioctl_checked(v, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

int cpus_reset(void)
{
    for (int i = 0; i < vcpus.n; i++) {
        struct vcpu *v = &vcpus.v[i];
        int r;

        if ((r = vcpu_ioctl_checked(v, KVM_SET_SREGS, &v->sregs0, "KVM_SET_SREGS")) < 0 ||
            (r = vcpu_ioctl_checked(v, KVM_SET_REGS, &v->regs0, "KVM_SET_REGS")) < 0 ||
            (r = vcpu_ioctl_checked(v, KVM_SET_FPU, &v->fpu0, "KVM_SET_FPU")) < 0 ||
            (r = vcpu_ioctl_checked(v, KVM_SET_LAPIC, &v->lapic0, "KVM_SET_LAPIC")) < 0 ||
            (r = vcpu_ioctl_checked(v, KVM_SET_MP_STATE, &v->mp0, "KVM_SET_MP_STATE")) < 0 ||
            (r = vcpu_ioctl_checked(v, KVM_SET_VCPU_EVENTS, &v->events0, "KVM_SET_VCPU_EVENTS")) < 0 ||
            (r = vcpu_ioctl_checked(v, KVM_SET_DEBUGREGS, &v->debugregs0, "KVM_SET_DEBUGREGS")) < 0)
            return r;
        if (v->has_xcrs)
            ioctl(v->fd, KVM_SET_XCRS, &v->xcrs0);
        /* the whole XSAVE area: KVM_SET_FPU leaves the AVX halves and the header */
        if (v->xsave0 && ioctl(v->fd, KVM_SET_XSAVE, v->xsave0) < 0)
            log_debug("vCPU %d: KVM_SET_XSAVE failed: %s", v->index, strerror(errno));
        vcpu_restore_msrs(v);
        vcpu_set_msrs_zero(v);
    }
    return 0;
}

/* ---- the run loop ---- */

static void handle_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool w = run->io.direction == KVM_EXIT_IO_OUT;

    /* "rep ins/outs" arrive with count > 1, the elements back to back */
    for (uint32_t i = 0; i < run->io.count; i++) {
        io_dispatch(IO_SPACE_PIO, run->io.port, data, run->io.size, w);
        data += run->io.size;
    }
}

static void handle_mmio(struct vcpu *v)
{
    struct kvm_run *run = v->run;

    if (run->mmio.len > 8)
        return;
    io_dispatch(IO_SPACE_MMIO, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
                run->mmio.is_write);
}

static void handle_coalesced(struct vcpu *v)
{
    struct kvm_coalesced_mmio_ring *ring;

    if (!kvm.coalesced_mmio)
        return;
    ring = (void *)((uint8_t *)v->run + kvm.coalesced_mmio * getpagesize());
    while (ring->first != ring->last) {
        struct kvm_coalesced_mmio *c = &ring->coalesced_mmio[ring->first];

        if (c->len <= 8)
            io_dispatch(c->pio ? IO_SPACE_PIO : IO_SPACE_MMIO, c->phys_addr, c->data, c->len, true);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        ring->first = (ring->first + 1) % COALESCED_MMIO_MAX;
    }
}

/* One ring for the whole VM, reachable through any vCPU's run area (KVM API 4.116). */
void cpus_drain_coalesced(void)
{
    if (vcpus.n)
        handle_coalesced(&vcpus.v[0]);
}

/* Drain often while the guest writes, back off while it does not (an idle VM wakes rarely). */
#define COALESCED_DRAIN_MIN_NS (5 * 1000 * 1000)
#define COALESCED_DRAIN_MAX_NS (160 * 1000 * 1000)
#define COALESCED_DRAIN_NS COALESCED_DRAIN_MIN_NS

static bool ring_empty(void)
{
    struct kvm_coalesced_mmio_ring *ring;

    if (!vcpus.n || !kvm.coalesced_mmio)
        return true;
    ring = (void *)((uint8_t *)vcpus.v[0].run + kvm.coalesced_mmio * getpagesize());
    return ring->first == ring->last;
}

static void coalesced_drain_tick(void *opaque)
{
    if (ring_empty()) {
        vcpus.drain_interval = MIN(vcpus.drain_interval * 2, (int64_t)COALESCED_DRAIN_MAX_NS);
    } else {
        cpus_drain_coalesced();
        vcpus.drain_interval = COALESCED_DRAIN_MIN_NS;
    }
    if (vcpus.coalesced_zones > 0)
        timer_mod(vcpus.drain_timer, clock_get_ns(CLK_REALTIME) + vcpus.drain_interval);
}

void cpus_coalesced_zone_count(int delta)
{
    vcpus.coalesced_zones += delta;
    if (!vcpus.drain_timer)
        vcpus.drain_timer = timer_new(CLK_REALTIME, coalesced_drain_tick, NULL);
    if (vcpus.coalesced_zones > 0 && !timer_pending(vcpus.drain_timer)) {
        vcpus.drain_interval = COALESCED_DRAIN_NS;
        timer_mod(vcpus.drain_timer, clock_get_ns(CLK_REALTIME) + COALESCED_DRAIN_NS);
    }
    else if (vcpus.coalesced_zones <= 0) {
        cpus_drain_coalesced();
        timer_del(vcpus.drain_timer);
    }
}

static const char *const internal_suberrors[] = {
    [1] = "emulation failure", [2] = "simultaneous exception", [3] = "delivery event failed",
    [4] = "unexpected exit",
};

/*
 * KVM cannot go on with this vCPU: as QEMU, say why with the registers, and stop the VM in
 * internal-error, where the monitor can look at it (info registers) and quit or reset it.
 */
static void vcpu_fatal(struct vcpu *v, const char *what)
{
    fprintf(stderr, "skiff: vCPU %d: %s\n", v->index, what);
    cpu_dump_state(v, stderr);
    fprintf(stderr, "skiff: the VM is stopped (info status: paused (internal-error)); the monitor's "
                    "system_reset starts it again, quit (or Ctrl-A x) ends skiff\n");
    machine_request_error(RUN_STATE_INTERNAL_ERROR);
}

/* Returns false when the vCPU must stop running. Called with the device lock held. */
static bool handle_exit(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    char msg[128];

    handle_coalesced(v);
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(v);
        return true;
    case KVM_EXIT_MMIO:
        handle_mmio(v);
        return true;
    case KVM_EXIT_HLT:
        /* only without an in-kernel LAPIC; ours has one */
        return true;
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        return true;
    case KVM_EXIT_SHUTDOWN:
        /* triple fault: a PC resets */
        if (log_items & LOG_CPU_RESET)
            log_info("vCPU %d: triple fault: the machine resets", v->index);
        else
            log_debug("vCPU %d: triple fault, resetting", v->index);
        if (log_level_max >= LOG_DEBUG)
            cpu_dump_state(v, stderr);
        machine_request_reset();
        v->pause_req = true;
        return true;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            machine_request_shutdown();
            break;
        case KVM_SYSTEM_EVENT_RESET:
            log_debug("vCPU %d: KVM asks for a reset", v->index);
            machine_request_reset();
            break;
        default:
            snprintf(msg, sizeof(msg), "guest crashed (system event %u)", run->system_event.type);
            vcpu_fatal(v, msg);
            return false;
        }
        v->pause_req = true;
        return true;
    case KVM_EXIT_INTERNAL_ERROR: {
        uint32_t s = run->internal.suberror;

        snprintf(msg, sizeof(msg), "KVM internal error, suberror %u (%s)", s,
                 s < ARRAY_SIZE(internal_suberrors) && internal_suberrors[s] ? internal_suberrors[s]
                                                                             : "unknown");
        vcpu_fatal(v, msg);
        for (uint32_t i = 0; i < run->internal.ndata && i < 16; i++)
            fprintf(stderr, "  extra data[%u]: 0x%016llx\n", i, (unsigned long long)run->internal.data[i]);
        return false;
    }
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(msg, sizeof(msg), "KVM could not enter the guest (hardware reason 0x%llx)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        vcpu_fatal(v, msg);
        return false;
    case KVM_EXIT_UNKNOWN:
        snprintf(msg, sizeof(msg), "unknown exit (hardware reason 0x%llx)",
                 (unsigned long long)run->hw.hardware_exit_reason);
        vcpu_fatal(v, msg);
        return false;
    default:
        snprintf(msg, sizeof(msg), "unhandled KVM exit reason %u", run->exit_reason);
        vcpu_fatal(v, msg);
        return false;
    }
}

/*
 * An I/O or MMIO exit is finished (data stored, RIP advanced) only by the next KVM_RUN.
 * Before the vCPU parks, where its registers may be read or replaced, let KVM finish it:
 * KVM_RUN with immediate_exit completes the instruction and returns at once (KVM API,
 * "kvm_run: immediate_exit").
 */
static void vcpu_complete_exit(struct vcpu *v)
{
    v->run->immediate_exit = 1;
    if (ioctl(v->fd, KVM_RUN, 0) < 0 && errno != EINTR)
        log_warn("vCPU %d: finishing an I/O exit: %s", v->index, strerror(errno));
    v->run->immediate_exit = 0;
    vcpu_eat_signals();
    v->exit_pending = false;
}

bool cpus_name_threads;

static void *vcpu_thread(void *opaque)
{
    struct vcpu *v = opaque;
    sigset_t set;

    if (cpus_name_threads) {
        char name[16];

        snprintf(name, sizeof(name), "CPU %d/KVM", v->index);
        pthread_setname_np(pthread_self(), name);
    }
    /* every signal stays blocked but SIG_IPI, which KVM_RUN's mask lets through */
    sigfillset(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    {
        struct kvm_signal_mask *m = xzalloc(sizeof(*m) + sizeof(sigset_t));
        sigset_t run_set;

        sigfillset(&run_set);
        sigdelset(&run_set, SIG_IPI);
        m->len = 8;     /* the kernel's sigset size */
        memcpy(m->sigset, &run_set, 8);
        if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, m) < 0)
            die("vCPU %d: KVM_SET_SIGNAL_MASK failed: %s", v->index, strerror(errno));
        free(m);
    }

    devlock_lock();
    v->tid = gettid();
    for (;;) {
        int r;

        if ((v->pause_req || !vcpus.running || v->quit) && v->exit_pending)
            vcpu_complete_exit(v);
        while ((v->pause_req || !vcpus.running) && !v->quit) {
            v->paused = true;
            pthread_cond_broadcast(&vcpus.paused_cond);
            devlock_cond_wait(&vcpus.resume_cond);
        }
        v->paused = false;
        if (v->quit)
            break;
        devlock_unlock();

        r = ioctl(v->fd, KVM_RUN, 0);

        devlock_lock();
        v->run->immediate_exit = 0;
        v->exit_pending = false;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                vcpu_eat_signals();
                bh_local_begin();
                handle_coalesced(v);
                bh_local_end();
                continue;
            }
            char what[96];

            snprintf(what, sizeof(what), "KVM_RUN failed: %s", strerror(errno));
            vcpu_fatal(v, what);
            v->pause_req = true;
            continue;
        }
        v->exit_pending = v->run->exit_reason == KVM_EXIT_IO || v->run->exit_reason == KVM_EXIT_MMIO;
        bh_local_begin();
        if (!handle_exit(v))
            v->pause_req = true;
        bh_local_end();
    }
    v->paused = true;
    pthread_cond_broadcast(&vcpus.paused_cond);
    devlock_unlock();
    return NULL;
}

void cpus_start(bool start_paused)
{
    sigset_t all, old;

    vcpus.running = !start_paused;
    /* threads inherit a full mask; the main thread's signalfd signals stay off them */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < vcpus.n; i++) {
        struct vcpu *v = &vcpus.v[i];
        int r = pthread_create(&v->thread, NULL, vcpu_thread, v);

        if (r)
            die("cannot start vCPU thread %d: %s", i, strerror(r));
        v->thread_started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void vcpu_kick(struct vcpu *v)
{
    v->run->immediate_exit = 1;
    if (v->thread_started)
        pthread_kill(v->thread, SIG_IPI);
}

void cpus_pause(void)
{
    for (int i = 0; i < vcpus.n; i++) {
        vcpus.v[i].pause_req = true;
        vcpu_kick(&vcpus.v[i]);
    }
    for (int i = 0; i < vcpus.n; i++) {
        while (vcpus.v[i].thread_started && !vcpus.v[i].paused) {
            vcpu_kick(&vcpus.v[i]);
            devlock_cond_wait(&vcpus.paused_cond);
        }
    }    /* queued writes reach their devices before anyone looks at or resets them */
    cpus_drain_coalesced();
}

void cpus_stop(void)
{
    vcpus.running = false;
    cpus_pause();
    /* tell a guest with kvmclock that it was stopped, so that its watchdogs do not take the
     * pause for a lockup (EINVAL: it has not registered kvmclock) */
    for (int i = 0; i < vcpus.n; i++)
        if (ioctl(vcpus.v[i].fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
            log_debug("vCPU %d: KVM_KVMCLOCK_CTRL: %s", i, strerror(errno));
}

void cpus_resume(void)
{
    vcpus.running = true;
    for (int i = 0; i < vcpus.n; i++)
        vcpus.v[i].pause_req = false;
    pthread_cond_broadcast(&vcpus.resume_cond);
}

void cpus_destroy(void)
{
    for (int i = 0; i < vcpus.n; i++) {
        vcpus.v[i].quit = true;
        vcpu_kick(&vcpus.v[i]);
    }
    pthread_cond_broadcast(&vcpus.resume_cond);
    devlock_unlock();
    for (int i = 0; i < vcpus.n; i++) {
        struct vcpu *v = &vcpus.v[i];

        /* immediate_exit is set before the signal, so a thread about to enter KVM_RUN
         * leaves it at once too: one kick is enough */
        if (v->thread_started)
            pthread_join(v->thread, NULL);
    }
    devlock_lock();
    cpus_drain_coalesced();
    timer_free(vcpus.drain_timer);
    vcpus.drain_timer = NULL;
    vcpus.coalesced_zones = 0;
    for (int i = 0; i < vcpus.n; i++) {
        munmap(vcpus.v[i].run, kvm.vcpu_mmap_size);
        close(vcpus.v[i].fd);
        free(vcpus.v[i].xsave0);
        free(vcpus.v[i].msrs0);
    }
    free(vcpus.v);
    vcpus.v = NULL;
    vcpus.n = 0;
}

void cpus_dump_state(int index, FILE *out)
{
    bool running = vcpus.running;

    cpus_pause();
    for (int i = 0; i < vcpus.n; i++) {
        if (index >= 0 && i != index)
            continue;
        if (index < 0)
            fprintf(out, "%sCPU#%d\n", i ? "\n" : "", i);
        cpu_dump_state(&vcpus.v[i], out);
    }
    if (running)
        cpus_resume();
}

void cpus_dump_reset(FILE *out)
{
    for (int i = 0; i < vcpus.n; i++) {
        fprintf(out, "CPU Reset (CPU %d)\n", i);
        cpu_dump_state(&vcpus.v[i], out);
    }
}

int cpus_nmi(void)
{
    bool running = vcpus.running;
    int r = 0;

    /* a vCPU takes its ioctls outside KVM_RUN: pause them for it, as for a look at them */
    cpus_pause();
    for (int i = 0; i < vcpus.n; i++) {
        if (ioctl(vcpus.v[i].fd, KVM_NMI) < 0 && !r)
            r = -errno;
    }
    if (running)
        cpus_resume();
    return r;
}

static void dump_seg(FILE *out, const char *name, const struct kvm_segment *s)
{
    fprintf(out, "%s =%04x %016llx %08x %02x%s%s%s\n", name, s->selector,
            (unsigned long long)s->base, s->limit, s->type, s->present ? " P" : "",
            s->l ? " L" : "", s->db ? " DB" : "");
}

void cpu_dump_state(struct vcpu *v, FILE *out)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    struct kvm_translation tr;
    uint8_t code[16];

    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
        fprintf(out, "(registers unavailable: %s)\n", strerror(errno));
        return;
    }
    fprintf(out, "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
                 "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
                 "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
                 "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
                 "RIP=%016llx RFL=%08llx\n",
            r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11,
            r.r12, r.r13, r.r14, r.r15, r.rip, r.rflags);
    dump_seg(out, "CS ", &s.cs);
    dump_seg(out, "SS ", &s.ss);
    dump_seg(out, "DS ", &s.ds);
    dump_seg(out, "ES ", &s.es);
    dump_seg(out, "FS ", &s.fs);
    dump_seg(out, "GS ", &s.gs);
    dump_seg(out, "TR ", &s.tr);
    fprintf(out, "GDT=%016llx %04x IDT=%016llx %04x\n", (unsigned long long)s.gdt.base,
            s.gdt.limit, (unsigned long long)s.idt.base, s.idt.limit);
    fprintf(out, "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx EFER=%016llx\n",
            s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
    memset(&tr, 0, sizeof(tr));
    tr.linear_address = s.cs.base + r.rip;
    if (ioctl(v->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid &&
        gmem_read(tr.physical_address, code, sizeof(code)) == 0) {
        fprintf(out, "Code at %016llx (physical %016llx):", tr.linear_address,
                (unsigned long long)tr.physical_address);
        for (size_t i = 0; i < sizeof(code); i++)
            fprintf(out, " %02x", code[i]);
        fprintf(out, "\n");
    } else {
        fprintf(out, "Code at %016llx: not in guest RAM\n", tr.linear_address);
    }
}
