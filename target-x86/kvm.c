/* kvm.c: the VM-level KVM interface: creation, memory slots, interrupt lines and eventfds */
#define LOG_PREFIX "kvm: "
#include "target-x86/kvm.h"
#include "hw/core/machine.h" // run_state_add_listener
#include "target-x86/cpu.h"
#include "hw/core/accel.h"
#include "hw/core/guest-mem.h"
#include "util/log.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct kvm_state kvm = { .kvm_fd = -1, .vm_fd = -1 };

/* Addresses KVM needs for real-mode emulation on Intel; below the BIOS, reserved in e820. */
#define KVM_TSS_ADDR 0xfeffd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL

bool kvm_has_cap(int cap)
{
    return ioctl(kvm.kvm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

int kvm_vm_ioctl(unsigned long req, void *arg)
{
    int r = ioctl(kvm.vm_fd, req, arg);

    return r < 0 ? -errno : r;
}

static void kvm_get_supported_cpuid(void)
{
    int n = 128;

    for (;;) {
        struct kvm_cpuid2 *c = xzalloc(sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));

        c->nent = n;
        if (ioctl(kvm.kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            /*
             * The TSC-deadline timer lives in the in-kernel local APIC, which skiff always
             * uses: KVM reports it as a capability, not in the CPUID it supports (as QEMU
             * adds it). Linux guests then program their timer with one MSR write.
             */
            if (ioctl(kvm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
                cpuid_add_supported(c, "tsc-deadline");
            kvm.supported_cpuid = c;
            return;
        }
        free(c);
        if (errno != E2BIG || n > 4096)
            die("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
        n *= 2;
    }
}

/*
 * GSI routing as a PC wires it: GSIs 0-15 reach the 8259s (2 is the cascade), and every
 * GSI its IOAPIC pin, except that ISA IRQ 0 (the PIT) arrives on pin 2, as the MADT's
 * interrupt source override and the MP table say. MSI routes that devices add follow.
 * KVM_SET_GSI_ROUTING replaces the whole table, so every commit sends all of it.
 */
static int kvm_commit_routes(bool force)
{
    struct kvm_irq_routing *r;
    const struct msi_msg *m;
    int n = 0;

    if (!force && !kvm.routes.dirty)
        return 0;
    r = xzalloc(sizeof(*r) + (39 + irq_route_count(&kvm.routes)) * sizeof(struct kvm_irq_routing_entry));
    for (int i = 0; i < 16; i++) {
        if (i == 2)
            continue;
        r->entries[n].gsi = i;
        r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
        r->entries[n].u.irqchip.irqchip = i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
        r->entries[n].u.irqchip.pin = i % 8;
        n++;
    }
    for (int i = 0; i < 24; i++) {
        if (i == 2)
            continue;
        r->entries[n].gsi = i;
        r->entries[n].type = KVM_IRQ_ROUTING_IRQCHIP;
        r->entries[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
        r->entries[n].u.irqchip.pin = i == 0 ? 2 : i;
        n++;
    }
    irq_route_for_each(&kvm.routes, gsi, m) {
        r->entries[n].gsi = gsi;
        r->entries[n].type = KVM_IRQ_ROUTING_MSI;
        r->entries[n].u.msi.address_lo = (uint32_t)m->addr;
        r->entries[n].u.msi.address_hi = m->addr >> 32;
        r->entries[n].u.msi.data = m->data;
        n++;
    }
    r->nr = n;
    if (ioctl(kvm.vm_fd, KVM_SET_GSI_ROUTING, r) < 0) {
        int e = -errno;

        free(r);
        return e;
    }
    free(r);
    irq_route_committed(&kvm.routes);
    return 0;
}

static void kvm_probe_fast_paths(void)
{
    kvm.has_irqfd = kvm_has_cap(KVM_CAP_IRQFD);
    kvm.has_irqfd_resample = kvm.has_irqfd && kvm_has_cap(KVM_CAP_IRQFD_RESAMPLE);
    kvm.has_ioeventfd = kvm_has_cap(KVM_CAP_IOEVENTFD);
    kvm.has_ioeventfd_any_length = kvm.has_ioeventfd && kvm_has_cap(KVM_CAP_IOEVENTFD_ANY_LENGTH);
    kvm.has_signal_msi = kvm_has_cap(KVM_CAP_SIGNAL_MSI);
    if (!kvm.has_irqfd)
        log_debug("no KVM_CAP_IRQFD: interrupts signalled by eventfd go through skiff's main loop");
    else if (!kvm.has_irqfd_resample)
        log_debug("no KVM_CAP_IRQFD_RESAMPLE: level-triggered INTx stays on the user-space path");
    if (!kvm.has_ioeventfd)
        log_debug("no KVM_CAP_IOEVENTFD: doorbell writes exit to skiff, which signals their eventfds");
    if (!kvm.has_signal_msi)
        log_debug("no KVM_CAP_SIGNAL_MSI: MSIs are sent through GSI routes and KVM_IRQ_LINE");
}

static void kvm_clock_on_state(void *opaque, bool running, enum run_state s);

void kvm_init(int nr_vcpus)
{
    int r, api;

    kvm.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm.kvm_fd < 0) {
        if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
            die("no /dev/kvm: is the kvm module loaded (modprobe kvm-intel or kvm-amd) and "
                "does the CPU have virtualization enabled?");
        if (errno == EACCES || errno == EPERM)
            die("no permission on /dev/kvm: add yourself to the kvm group or run as root");
        die("cannot open /dev/kvm: %s", strerror(errno));
    }
    api = ioctl(kvm.kvm_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION)
        die("/dev/kvm speaks KVM API version %d, skiff needs %d", api, KVM_API_VERSION);
    if (!kvm_has_cap(KVM_CAP_IRQCHIP) || !kvm_has_cap(KVM_CAP_USER_MEMORY) ||
        !kvm_has_cap(KVM_CAP_PIT2) || !kvm_has_cap(KVM_CAP_IRQ_ROUTING))
        die("this KVM lacks the in-kernel irqchip, PIT or user memory that skiff needs");
    kvm.max_vcpus = ioctl(kvm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (kvm.max_vcpus <= 0)
        kvm.max_vcpus = ioctl(kvm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (nr_vcpus > kvm.max_vcpus)
        die("-smp %d: this host's KVM allows at most %d vCPUs", nr_vcpus, kvm.max_vcpus);
    kvm.nr_slots = ioctl(kvm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
    if (kvm.nr_slots <= 0)
        kvm.nr_slots = 32;
    kvm.slot_used = xcalloc(DIV_ROUND_UP(kvm.nr_slots, 64), sizeof(unsigned long));
    kvm.vcpu_mmap_size = ioctl(kvm.kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (kvm.vcpu_mmap_size <= 0)
        die("KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));

    do {
        kvm.vm_fd = ioctl(kvm.kvm_fd, KVM_CREATE_VM, 0);
    } while (kvm.vm_fd < 0 && errno == EINTR);
    if (kvm.vm_fd < 0)
        die("cannot create a VM: KVM_CREATE_VM: %s", strerror(errno));
    set_cloexec(kvm.vm_fd);

    if (ioctl(kvm.vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
        die("KVM_SET_TSS_ADDR failed: %s", strerror(errno));
    if (kvm_has_cap(KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
        uint64_t addr = KVM_IDENTITY_MAP_ADDR;

        if (ioctl(kvm.vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0)
            die("KVM_SET_IDENTITY_MAP_ADDR failed: %s", strerror(errno));
    }
    if (ioctl(kvm.vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        die("cannot create the in-kernel interrupt controllers: %s", strerror(errno));
    {
        struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

        if (ioctl(kvm.vm_fd, KVM_CREATE_PIT2, &pit) < 0)
            die("cannot create the in-kernel PIT: %s", strerror(errno));
    }
    irq_route_table_init(&kvm.routes, ioctl(kvm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING));
    r = kvm_commit_routes(true);
    if (r < 0)
        die("KVM_SET_GSI_ROUTING failed: %s", strerror(-r));
    kvm_probe_fast_paths();
    /* remember the power-on state of PIC master, PIC slave, IOAPIC and PIT */
    for (int i = 0; i < 3; i++) {
        kvm.chips[i].chip_id = i;
        if (ioctl(kvm.vm_fd, KVM_GET_IRQCHIP, &kvm.chips[i]) < 0)
            die("KVM_GET_IRQCHIP failed: %s", strerror(errno));
    }
    if (ioctl(kvm.vm_fd, KVM_GET_PIT2, &kvm.pit) < 0)
        die("KVM_GET_PIT2 failed: %s", strerror(errno));
    r = ioctl(kvm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
    kvm.coalesced_mmio = r > 0 ? r : 0;
    kvm_get_supported_cpuid();
    run_state_add_listener(kvm_clock_on_state, NULL);
}

void kvm_clock_hold(void)
{
    struct kvm_clock_data d = { 0 };

    if (kvm.clock_held || !kvm_has_cap(KVM_CAP_ADJUST_CLOCK))
        return;
    if (ioctl(kvm.vm_fd, KVM_GET_CLOCK, &d) < 0) {
        log_warn("cannot read the guest's kvmclock (KVM_GET_CLOCK): %s; it will run on while stopped",
                 strerror(errno));
        return;
    }
    kvm.held_clock = (struct kvm_clock_data){ .clock = d.clock };
    kvm.clock_held = true;
}

void kvm_clock_release(void)
{
    if (!kvm.clock_held)
        return;
    kvm.clock_held = false;
    if (ioctl(kvm.vm_fd, KVM_SET_CLOCK, &kvm.held_clock) < 0)
        log_warn("cannot set the guest's kvmclock back (KVM_SET_CLOCK): %s; the guest sees the "
                 "stopped time pass", strerror(errno));
}

/*
 * The guest's kvmclock is held while its time stands (stopped, shut down, prelaunch), as QEMU's
 * kvmclock device does: a run state listener.
 */
static void kvm_clock_on_state(void *opaque, bool running, enum run_state s)
{
    if (run_state_time_runs(s))
        kvm_clock_release();
    else
        kvm_clock_hold();
}

static int kvm_pic_set_elcr(uint16_t elcr)
{
    for (int chip = 0; chip < 2; chip++) {
        struct kvm_irqchip c = { .chip_id = chip };

        if (ioctl(kvm.vm_fd, KVM_GET_IRQCHIP, &c) < 0)
            return -errno;
        c.chip.pic.elcr = chip ? elcr >> 8 : elcr & 0xf8;
        if (ioctl(kvm.vm_fd, KVM_SET_IRQCHIP, &c) < 0)
            return -errno;
    }
    return 0;
}

void kvm_irqchip_reset(void)
{
    for (int i = 0; i < 3; i++)
        if (ioctl(kvm.vm_fd, KVM_SET_IRQCHIP, &kvm.chips[i]) < 0)
            log_warn("KVM_SET_IRQCHIP(%d) failed: %s", i, strerror(errno));
    if (ioctl(kvm.vm_fd, KVM_SET_PIT2, &kvm.pit) < 0)
        log_warn("KVM_SET_PIT2 failed: %s", strerror(errno));
}

void kvm_cleanup(void)
{
    /* the VM and its slots go with the fd; guest memory is freed without the accelerator */
    accel = NULL;
    free(kvm.supported_cpuid);
    free(kvm.slot_used);
    irq_route_table_free(&kvm.routes);
    memset(kvm.msi_cache, 0, sizeof(kvm.msi_cache));
    if (kvm.vm_fd >= 0)
        close(kvm.vm_fd);
    if (kvm.kvm_fd >= 0)
        close(kvm.kvm_fd);
    kvm.vm_fd = kvm.kvm_fd = -1;
    kvm.supported_cpuid = NULL;
    kvm.slot_used = NULL;
}

/* ---- accelerator ops ---- */

static int slot_alloc(void)
{
    for (int i = 0; i < kvm.nr_slots; i++) {
        if (!(kvm.slot_used[i / 64] & (1UL << (i % 64)))) {
            kvm.slot_used[i / 64] |= 1UL << (i % 64);
            return i;
        }
    }
    return -ENOSPC;
}

static int kvm_mem_map(struct ram_mapping *b)
{
    struct kvm_userspace_memory_region m;

    if (b->slot < 0) {
        b->slot = slot_alloc();
        if (b->slot < 0)
            return b->slot;
    }
    m = (struct kvm_userspace_memory_region){
        .slot = b->slot,
        .flags = (b->readonly ? KVM_MEM_READONLY : 0) | (b->log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0),
        .guest_phys_addr = b->gpa,
        .memory_size = b->size,
        .userspace_addr = (uintptr_t)b->hva,
    };
    if (ioctl(kvm.vm_fd, KVM_SET_USER_MEMORY_REGION, &m) < 0) {
        int e = -errno;

        log_error("cannot map %s at 0x%" PRIx64 " (%" PRIu64 " bytes): %s", b->name, b->gpa,
                  b->size, strerror(-e));
        return e;
    }
    return 0;
}

static void kvm_mem_unmap(struct ram_mapping *b)
{
    struct kvm_userspace_memory_region m = { .slot = b->slot };

    if (b->slot < 0)
        return;
    ioctl(kvm.vm_fd, KVM_SET_USER_MEMORY_REGION, &m);
    kvm.slot_used[b->slot / 64] &= ~(1UL << (b->slot % 64));
    b->slot = -1;
}

static int kvm_mem_sync_dirty(struct ram_mapping *m, unsigned long *bitmap)
{
    struct kvm_dirty_log log = { .slot = m->slot, .dirty_bitmap = bitmap };

    if (m->slot < 0)
        return -ENOENT;
    return ioctl(kvm.vm_fd, KVM_GET_DIRTY_LOG, &log) < 0 ? -errno : 0;
}

static void kvm_gsi_set(int gsi, int level)
{
    struct kvm_irq_level l = { .irq = gsi, .level = level };

    if (ioctl(kvm.vm_fd, KVM_IRQ_LINE, &l) < 0)
        log_guest_error("KVM_IRQ_LINE gsi %d: %s", gsi, strerror(errno));
}

static int kvm_msi_route_add(struct msi_msg msg)
{
    return irq_route_add(&kvm.routes, msg);
}

static int kvm_msi_route_update(int gsi, struct msi_msg msg)
{
    return irq_route_update(&kvm.routes, gsi, msg);
}

static void kvm_msi_route_release(int gsi)
{
    irq_route_release(&kvm.routes, gsi);
}

static int kvm_routes_commit(void)
{
    int r = kvm_commit_routes(false);

    if (r < 0)
        log_warn("KVM_SET_GSI_ROUTING failed: %s; MSI routes keep their last values", strerror(-r));
    return r;
}

/* Without KVM_CAP_SIGNAL_MSI: a route for the message (kept for the next one), raised once. */
static int kvm_msi_send_by_route(struct msi_msg msg)
{
    struct kvm_irq_level l = { .level = 1 };
    unsigned i;
    int r;

    for (i = 0; i < ARRAY_SIZE(kvm.msi_cache); i++)
        if (kvm.msi_cache[i].gsi && kvm.msi_cache[i].msg.addr == msg.addr &&
            kvm.msi_cache[i].msg.data == msg.data)
            break;
    if (i == ARRAY_SIZE(kvm.msi_cache)) {
        i = kvm.msi_cache_next++ % ARRAY_SIZE(kvm.msi_cache);
        if (kvm.msi_cache[i].gsi) {
            irq_route_update(&kvm.routes, kvm.msi_cache[i].gsi, msg);
        } else {
            r = irq_route_add(&kvm.routes, msg);
            if (r < 0)
                return r;
            kvm.msi_cache[i].gsi = r;
        }
        kvm.msi_cache[i].msg = msg;
        r = kvm_routes_commit();
        if (r < 0)
            return r;
    }
    l.irq = kvm.msi_cache[i].gsi;
    return ioctl(kvm.vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static int kvm_msi_send(struct msi_msg msg)
{
    struct kvm_msi m = { .address_lo = (uint32_t)msg.addr, .address_hi = msg.addr >> 32, .data = msg.data };
    int r;

    if (!kvm.has_signal_msi)
        r = kvm_msi_send_by_route(msg);
    else
        r = ioctl(kvm.vm_fd, KVM_SIGNAL_MSI, &m) < 0 ? -errno : 0;
    if (r < 0)
        log_guest_error("MSI 0x%" PRIx64 " 0x%x not delivered: %s", msg.addr, msg.data, strerror(-r));
    return r;
}

static int kvm_irqfd(int fd, int gsi, int resample_fd, bool assign)
{
    struct kvm_irqfd f = { .fd = fd, .gsi = gsi };

    if (!kvm.has_irqfd || (assign && resample_fd >= 0 && !kvm.has_irqfd_resample))
        return -ENOTSUP;
    if (!assign) {
        f.flags = KVM_IRQFD_FLAG_DEASSIGN;
    } else if (resample_fd >= 0) {
        f.flags = KVM_IRQFD_FLAG_RESAMPLE;
        f.resamplefd = resample_fd;
    }
    return ioctl(kvm.vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}

static int kvm_ioeventfd(const struct accel_ioeventfd *e, bool assign)
{
    struct kvm_ioeventfd k = {
        .datamatch = e->data,
        .addr = e->addr,
        .len = e->len,
        .fd = e->fd,
        .flags = (e->pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (e->match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };

    if (!kvm.has_ioeventfd || (e->len == 0 && !kvm.has_ioeventfd_any_length))
        return -ENOTSUP;
    return ioctl(kvm.vm_fd, KVM_IOEVENTFD, &k) < 0 ? -errno : 0;
}

static int kvm_coalesce_mmio(uint64_t addr, uint64_t len, bool on)
{
    struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = len };

    if (!kvm.coalesced_mmio)
        return -ENOTSUP;
    if (ioctl(kvm.vm_fd, on ? KVM_REGISTER_COALESCED_MMIO : KVM_UNREGISTER_COALESCED_MMIO, &z) < 0)
        return -errno;
    cpus_coalesced_zone_count(on ? 1 : -1);
    return 0;
}

static int kvm_coalesce_pio(uint16_t port, uint16_t len, bool on)
{
    struct kvm_coalesced_mmio_zone z = { .addr = port, .size = len, .pio = 1 };

    if (!kvm.coalesced_mmio || !kvm_has_cap(KVM_CAP_COALESCED_PIO))
        return -ENOTSUP;
    if (ioctl(kvm.vm_fd, on ? KVM_REGISTER_COALESCED_MMIO : KVM_UNREGISTER_COALESCED_MMIO, &z) < 0)
        return -errno;
    cpus_coalesced_zone_count(on ? 1 : -1);
    return 0;
}

static const struct accel_ops kvm_accel_ops = {
    .name = "kvm",
    .mem_map = kvm_mem_map,
    .mem_unmap = kvm_mem_unmap,
    .mem_sync_dirty = kvm_mem_sync_dirty,
    .vcpus_stop = cpus_stop,
    .vcpus_resume = cpus_resume,
    .irqchip_reset = kvm_irqchip_reset,
    .pic_set_elcr = kvm_pic_set_elcr,
    .gsi_set = kvm_gsi_set,
    .msi_route_add = kvm_msi_route_add,
    .msi_route_update = kvm_msi_route_update,
    .msi_route_release = kvm_msi_route_release,
    .routes_commit = kvm_routes_commit,
    .msi_send = kvm_msi_send,
    .irqfd = kvm_irqfd,
    .ioeventfd = kvm_ioeventfd,
    .coalesce_mmio = kvm_coalesce_mmio,
    .coalesce_pio = kvm_coalesce_pio,
};

void kvm_accel_install(void)
{
    accel = &kvm_accel_ops;
}
