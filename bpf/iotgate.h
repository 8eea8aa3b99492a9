/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iotgate kernel/userspace ABI: map keys, map values and event records shared
 * by the BPF programs in bpf/ and the daemon in userspace/.
 *
 * Rules for everything in this file:
 *  - fixed-width types only (__u8/__u32/__u64), no pointers, no enums in
 *    structs, no bitfields: the BPF side is always 64-bit while the daemon may
 *    be 32-bit ARM, and both must see the same layout;
 *  - every hole is an explicit, zeroed padding field and every struct has a
 *    compile-time size check below;
 *  - new fields go at the end; IG_ABI_VERSION changes when a layout changes so
 *    a daemon never re-adopts pinned maps of another layout.
 */
#ifndef IOTGATE_ABI_H
#define IOTGATE_ABI_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define IG_ABI_VERSION 2

/* Where the daemon pins programs, links and maps (bpffs). */
#define IG_PIN_DIR "/sys/fs/bpf/iotgate"

/* ig_cfg.mode */
#define IG_MODE_AUDIT 0 /* log and count what would be denied, deny nothing */
#define IG_MODE_ENFORCE 1 /* deny (EPERM) what the policy does not allow */

/*
 * Identity of an executable file version, the key of the manifest map.
 *
 * dev: the kernel-internal dev_t of the file's superblock (inode->i_sb->s_dev,
 *      encoded MAJOR << 20 | MINOR). Userspace takes it from the
 *      major:minor of the file's mount in /proc/self/mountinfo, not from
 *      stat(2)'s st_dev, because btrfs and multi-layer overlayfs report
 *      st_dev values that are not the superblock's.
 * ino: inode->i_ino, which equals st_ino on the filesystems iotgate supports.
 */
struct ig_file_key {
	__u64 dev;
	__u64 ino;
};

/*
 * Manifest map value. ctime is the inode change time observed when the
 * daemon hashed the file: any write, truncate, chmod or link count change
 * moves ctime, so the BPF program treats a file whose ctime differs as
 * unmeasured (trust is dropped before the changed bytes can run), and an
 * inode number reused by a new file never inherits trust.
 */
struct ig_file_val {
	__u8 digest[32]; /* SHA-256 of the content the daemon verified */
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 flags; /* IG_FILE_* */
};

#define IG_FILE_F_NONE 0
#define IG_FILE_F_MEASURED 0x1 /* set by BPF on first use: one IG_EV_MEASURE per entry */
/*
 * The entry is the daemon's own executable (or the file that will replace it
 * at the same path): processes running it are "the daemon" for self-protection.
 */
#define IG_FILE_F_DAEMON 0x2
/* The policy names the program allow-jit: it may make anonymous or written memory executable. */
#define IG_FILE_F_JIT 0x4
/* The policy names the program allow-ptrace: it may trace and write into other processes. */
#define IG_FILE_F_PTRACE 0x8
/*
 * Lazy appraisal (a kernel measurement source, see kmeasure.bpf.c): the
 * daemon took the entry's identity and ctime at start without hashing it;
 * digest is the manifest's. The first exec or mapping (of any kind: a
 * mapping made executable by mprotect meets no hook that may hash) hashes the
 * file in the kernel: a match clears the flag, a difference sets
 * IG_FILE_F_MISMATCH. bpf/exec.bpf.c admits only entries without either.
 */
#define IG_FILE_F_UNAPPRAISED 0x10
#define IG_FILE_F_MISMATCH 0x20
/*
 * Bits 16..31: the program is the Nth named by allow-memfd (IG_FILE_F_MEMFD(N));
 * it may run the memfds whose ig_memfd value has bit N.
 */
#define IG_FILE_F_MEMFD_SHIFT 16
#define IG_MEMFD_PROGS 16
#define IG_FILE_F_MEMFD(n) (1u << (IG_FILE_F_MEMFD_SHIFT + (n)))

/* Single-entry array map "ig_cfg": the mode and policy generation in force. */
struct ig_config {
	__u32 mode; /* IG_MODE_* */
	__u32 flags; /* IG_CFG_* */
	__u64 generation; /* incremented on every policy/manifest swap */
	__u32 abi_version; /* IG_ABI_VERSION of the daemon that wrote it */
	__u32 slot; /* the ig_manifest slot (0 or 1) whose map is the manifest in force */
};

/*
 * IG_CFG_PROTECT: opening an allowlisted file for writing, truncating it or
 * writing to it through an older descriptor is denied (EPERM). Without it
 * the file's manifest entry is deleted before the write can happen, so it
 * cannot run again until the daemon measures it anew.
 */
#define IG_CFG_PROTECT 0x1
/*
 * IG_CFG_SELF_PROTECT (full tier, enforce mode): only the daemon may open
 * iotgate's pinned objects or change /sys/fs/bpf/iotgate (listed in ig_pins),
 * get fds of ig_* maps and programs, signal it (init excepted) or ptrace it.
 */
#define IG_CFG_SELF_PROTECT 0x2
/*
 * IG_CFG_KILL (kill tier: no BPF LSM, tracing programs): in enforce mode a
 * refused exec or executable mapping is a SIGKILL of the process, sent from
 * the sched_process_exec tracepoint or the mmap/mprotect syscall-exit
 * tracepoints, which the task cannot get past before it runs user code.
 * Events say IG_VERDICT_KILL.
 */
#define IG_CFG_KILL 0x4

/*
 * Hash map "ig_memfd": names of memfd files (memfd_create(NAME), seen as
 * "memfd:NAME" on the kernel's internal shm mount) whose content may run
 * although it cannot be in a manifest: only once sealed against writes
 * (F_SEAL_WRITE), and only by (executed or mapped executable by) a program
 * the policy names for it. Value: __u32, bit N for the program whose manifest
 * entry has IG_FILE_F_MEMFD(N).
 */
#define IG_MEMFD_NAME_LEN 64
struct ig_memfd_key {
	char name[IG_MEMFD_NAME_LEN]; /* NUL-padded, without the "memfd:" prefix */
};

/* Index into the per-CPU counter array "ig_counters". */
#define IG_CNT_EXEC_ALLOWED 0 /* exec of a file in the manifest */
#define IG_CNT_EXEC_DENIED 1 /* exec refused with EPERM (enforce mode) */
#define IG_CNT_EXEC_AUDITED 2 /* exec outside the manifest, let through */
#define IG_CNT_EVENTS_LOST 3 /* ring buffer full: an event was dropped */
#define IG_CNT_MMAP_ALLOWED 4 /* file mapped executable (mmap/mprotect), allowed */
#define IG_CNT_MMAP_DENIED 5
#define IG_CNT_MMAP_AUDITED 6
#define IG_CNT_WRITE_DENIED 7 /* write to an allowlisted file refused (protect) */
#define IG_CNT_TRUST_DROPPED 8 /* allowlisted file opened for write: entry removed */
#define IG_CNT_SELF_DENIED 9 /* a bpf/pin/signal/ptrace access to the daemon refused */
#define IG_CNT_MAX 10

/* ig_event.type (2 and 3 are the interface/device events further down) */
#define IG_EV_EXEC 1 /* bprm_check_security / sched_process_exec */
#define IG_EV_MMAP 4 /* mmap_file with PROT_EXEC */
#define IG_EV_MPROTECT 5 /* file_mprotect adding PROT_EXEC */
#define IG_EV_WRITE 6 /* write access to an allowlisted file (denied or trust dropped) */
#define IG_EV_MEASURE 7 /* first exec/executable mapping of a manifest entry: log it */
#define IG_EV_SELF 8 /* an access to the daemon or its kernel objects was refused */
#define IG_EV_INJECT 9 /* ptrace attach, PTRACE_TRACEME, /proc/PID/mem or process_vm_writev */
/*
 * Code or firmware loaded into the kernel (full tier, kernel_read_file and
 * kernel_load_data): allowed, like an exec, only from an unchanged manifest
 * entry; the first allowed load of an entry is an IG_EV_MEASURE like an
 * exec's. path is the file's name (its last component).
 */
#define IG_EV_MODULE 10 /* finit_module, init_module */
#define IG_EV_KEXEC 11 /* kexec_file_load (kernel and initramfs), kexec_load */
#define IG_EV_FIRMWARE 12 /* request_firmware and its fallbacks */

/* ig_event.verdict */
#define IG_VERDICT_ALLOW 0
#define IG_VERDICT_DENY 1 /* denied with EPERM */
#define IG_VERDICT_AUDIT 2 /* would have been denied; audit mode or no LSM */
#define IG_VERDICT_KILL 3 /* kill tier: the process was sent SIGKILL */

/* ig_event.reason */
#define IG_REASON_NONE 0
#define IG_REASON_NOT_IN_MANIFEST 1
#define IG_REASON_MODIFIED 2 /* identity known but ctime moved since hashing */
#define IG_REASON_NO_MANIFEST 3 /* no manifest map installed (fail closed) */
#define IG_REASON_PROTECTED 4 /* IG_EV_WRITE: the write was refused */
#define IG_REASON_TRUST_DROPPED 5 /* IG_EV_WRITE: the entry was removed, write allowed */
#define IG_REASON_MEMFD 6 /* anonymous memfd code not allowed by name */
#define IG_REASON_PIN 7 /* IG_EV_SELF: /sys/fs/bpf/iotgate */
#define IG_REASON_BPF_OBJ 8 /* IG_EV_SELF: fd of an ig_* map or program */
#define IG_REASON_SIGNAL 9 /* IG_EV_SELF: signal to the daemon */
#define IG_REASON_PTRACE 10 /* IG_EV_SELF: ptrace of the daemon */
#define IG_REASON_DIGEST_MISMATCH 11 /* in-kernel digest differs from the manifest's */
/*
 * IG_EV_MMAP/IG_EV_MPROTECT: memory that is or was writable made executable
 * (anonymous, W+X, or a private file mapping written since it was mapped),
 * by a program the policy does not name allow-jit.
 */
#define IG_REASON_WX 12
/* IG_EV_INJECT: the tracer is not named allow-ptrace. */
#define IG_REASON_NOT_TRACER 13
/* IG_EV_MODULE/KEXEC/FIRMWARE: loaded from memory (init_module, kexec_load): no file to measure. */
#define IG_REASON_NO_FILE 14
/* Lazy appraisal: the kernel did not hash the entry's file (too big, read error). */
#define IG_REASON_UNAPPRAISED 15
/* IG_EV_SELF: unmount, move or mount over the bpffs that holds the pins. */
#define IG_REASON_MOUNT 20
/* IG_EV_SELF: an fd of one of iotgate's links by id (BPF_LINK_GET_FD_BY_ID). */
#define IG_REASON_BPF_LINK 21
/* IG_EV_SELF: moving, freezing or killing the daemon through its cgroup. */
#define IG_REASON_CGROUP 22
/* IG_EV_SELF: a write to the daemon's oom_score_adj or oom_adj. */
#define IG_REASON_OOM 23
/* IG_EV_SELF: prctl(PR_SET_MM, PR_SET_MM_EXE_FILE or PR_SET_MM_MAP). */
#define IG_REASON_EXE_LINK 24
/* IG_EV_SELF: binfmt_misc registration (a handler would run before the manifest check). */
#define IG_REASON_BINFMT 25
/* IG_EV_SELF: a change to the state or keys directory or to the policy/manifest files. */
#define IG_REASON_PROTECTED_PATH 26
/*
 * IG_EV_WRITE: a write to a manifest file that is mapped (by anyone) while
 * the file has been mapped executable. The pages of a mapped file are the
 * page cache: a write would change code that is already running, which
 * dropping trust for future execs cannot undo. Refused whatever `protect`
 * says; once the last mapping is gone, `protect` decides again. On
 * overlayfs a write to the overlay file or to the layer's file that holds
 * the data (lower or upper, opened directly) is the same write.
 */
#define IG_REASON_MAPPED_EXEC 27

/* Hash map "ig_prot" (key struct ig_file_key): what only the daemon may change. */
#define IG_PROT_DIR 0x1 /* a directory: its entries and everything below */
#define IG_PROT_FILE 0x2 /* one file (or directory entry itself) */

#define IG_COMM_LEN 16

/* A uid or gid that no task has ((uid_t)-1): the subject of an unlabelled socket. */
#define IG_ID_NONE 0xffffffffu
#define IG_PATH_LEN 256

/* Record in the ring buffer "ig_events". path is NUL-terminated. */
struct ig_event {
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() */
	__u64 dev;
	__u64 ino;
	__u32 type; /* IG_EV_* */
	__u32 verdict; /* IG_VERDICT_* */
	__u32 reason; /* IG_REASON_* */
	__u32 pid; /* thread group id of the task */
	__u32 uid;
	__u32 gid;
	char comm[IG_COMM_LEN];
	char path[IG_PATH_LEN]; /* exec: the name passed to exec; mappings: the file's name */
	__u8 digest[32]; /* IG_EV_MEASURE: the manifest digest of the file */
};

#define IG_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " layout changed")

IG_ASSERT_SIZE(struct ig_file_key, 16);
IG_ASSERT_SIZE(struct ig_file_val, 48);
IG_ASSERT_SIZE(struct ig_config, 24);
IG_ASSERT_SIZE(struct ig_memfd_key, 64);
IG_ASSERT_SIZE(struct ig_event, 352);

/*
 * Self-protection is bound to the running daemon process, not to its file.
 *
 * Hash map "ig_daemon" (one entry, key 0): the daemon process. A process
 * records itself there at its first bpf() call when no daemon is recorded,
 * it runs the manifest entry marked IG_FILE_F_DAEMON and it is not traced;
 * the insert is BPF_NOEXIST, so one process holds it. The entry is removed
 * when that process's group leader exits (sched_process_exit), and the exit
 * is kept in "ig_dexit" for the next daemon's previous_daemon. The exemptions
 * of IG_CFG_SELF_PROTECT are for the recorded process only (matched by tgid
 * and the leader's start time): another process running the same binary, a
 * traced one or one whose exe link changed is not the daemon.
 */
#define IG_DAEMON_CGROUPS 8
struct ig_daemon {
	__u32 tgid;
	__u32 nr_cgroups; /* valid entries in cgroup_ids */
	__u64 start_ns; /* the group leader's start_time (CLOCK_MONOTONIC ns) */
	/* kernfs ids of its cgroup v2 (cgroup_ids[0]) and of the ancestors up to the root */
	__u64 cgroup_ids[IG_DAEMON_CGROUPS];
};

/* Array map "ig_dexit" (one entry): how the last recorded daemon ended. */
struct ig_dexit {
	__u32 tgid; /* 0: no recorded daemon has exited since the maps were created */
	__s32 exit_code; /* task->exit_code: wait(2) status (signal in the low 7 bits) */
	__u64 start_ns;
	__u64 exit_ns; /* bpf_ktime_get_boot_ns() */
};

IG_ASSERT_SIZE(struct ig_daemon, 80);
IG_ASSERT_SIZE(struct ig_dexit, 24);

/* --- interface and device rules --- */
/*
 * bpf/ifaces.bpf.c and userspace/ifaces.c. The daemon compiles the policy's
 * interface and device rules into "rule sets": for one target (an interface
 * or a device the policy names) and one subject (a measured program, a uid,
 * a gid or anyone) the list of rules that apply, most specific first.
 *
 * Every key carries a generation (0 or 1): a new policy is written under the
 * generation not in use, then ig_net_config.gen flips to it in one update,
 * so programs see either the old or the complete new rules.
 */

/* Targets: 0 is "an interface the policy does not name" (only "on *" rules). */
#define IG_TARGET_ANYIF 0
#define IG_TARGET_DEV_BASE 0x10000 /* device targets are numbered from here */

/* ig_rule.protos and socket classes */
#define IG_P_TCP 0x01
#define IG_P_UDP 0x02
#define IG_P_ICMP 0x04
#define IG_P_RAW 0x08 /* SOCK_RAW inet sockets */
#define IG_P_CAN 0x10 /* PF_CAN: raw, bcm, isotp, j1939 */
#define IG_P_PACKET 0x20 /* PF_PACKET */
#define IG_P_OTHER 0x40 /* other inet sockets (SCTP, ...): only "any" rules match */
#define IG_P_ANY 0x7f

/* ig_rule.dirs for interfaces: who opened the flow (see userspace/netpolicy.h) */
#define IG_DIR_IN 0x01
#define IG_DIR_OUT 0x02
/* ig_rule.dirs for devices: the access asked for */
#define IG_ACC_READ 0x01
#define IG_ACC_WRITE 0x02

/* ig_rule.verdict, and the result of an evaluation */
#define IG_RV_NOMATCH 0
#define IG_RV_ALLOW 1
#define IG_RV_DENY 2

/* ig_rule.flags */
#define IG_RF_PORTS 0x01 /* port_lo..port_hi restricts the service port */
#define IG_RF_GENERAL 0x02 /* from "on *" or a device class: after the specific rules */

struct ig_rule {
	__u8 verdict; /* IG_RV_ALLOW or IG_RV_DENY */
	__u8 dirs; /* IG_DIR_* or IG_ACC_* */
	__u8 protos; /* IG_P_*; devices: IG_P_ANY */
	__u8 flags; /* IG_RF_* */
	__u16 port_lo;
	__u16 port_hi;
};

#define IG_RULES_MAX 16

/* ig_rule_set.flags */
#define IG_RS_CTIME 0x01 /* program subject: allow rules need an unchanged executable */

/*
 * The first nspec rules name the target itself (the interface, the device
 * node), the rest (flagged IG_RF_GENERAL) come from "on *" or a device
 * class: a match among the first decides before the others are looked at.
 * A deny among matches wins. Unused slots are zero and match nothing.
 */
struct ig_rule_set {
	__s64 ctime_sec; /* program subjects: the measured file's ctime */
	__u32 ctime_nsec;
	__u32 flags; /* IG_RS_* */
	__u32 n;
	__u32 nspec;
	struct ig_rule r[IG_RULES_MAX];
};

/* ig_rule_key.kind */
#define IG_SUBJ_PROGRAM 1 /* id_a = dev, id_b = ino of the task's executable (ig_file_key) */
#define IG_SUBJ_UID 2 /* id_a = effective uid */
#define IG_SUBJ_GID 3 /* id_a = effective gid */
#define IG_SUBJ_ANYONE 4

/* Hash map "ig_rules": (target, subject) -> the subject's rules on the target. */
struct ig_rule_key {
	__u32 target;
	__u32 kind; /* IG_SUBJ_* */
	__u64 id_a;
	__u64 id_b;
	__u32 gen;
	__u32 pad;
};

/* ig_if_val.flags */
#define IG_IF_DISABLED 0x01 /* "interface NAME disable": nothing passes */
#define IG_IF_CAN 0x02 /* ARPHRD_CAN: counts for "bind to every CAN interface" */
#define IG_IF_ALSO 0x04 /* target2/dflt2 apply as well: both must allow */
#define IG_IF_BOUND 0x08 /* a declaration governs it: renames are refused (full tier) */
/*
 * Forwarded traffic (iotgate.conf(5), 'forward'): the policy gives the
 * device a forward verdict (IG_IF_FWD) and the tc programs ig_fwd_in and
 * ig_fwd_out are attached to it (clsact, handle IG_TC_HANDLE, priority
 * IG_TC_PRIO); IG_IF_FWD_DENY: that verdict is deny. IG_IF_PORT: the device
 * is a bridge port: frames for another host than the bridge (master_mac)
 * are bridged, not dropped by the stack.
 */
#define IG_IF_FWD 0x10
#define IG_IF_FWD_DENY 0x20
#define IG_IF_PORT 0x40
/*
 * Stacked devices (iotgate.conf(5), STACKED DEVICES): a device stacked on
 * declared ones (VLAN, macvlan, ipvlan, a tunnel by its underlay, a bridge
 * or bond over its ports, a port of a declared master) carries their socket
 * rules: what it sends leaves through them without passing their hooks.
 * IG_IF_STACKED: it takes rules from below (moves to another namespace are
 * refused, full tier); IG_IF_LOWER: target3/dflt3 apply as well. A device
 * without a declaration of its own takes the first one below as target.
 */
#define IG_IF_STACKED 0x80
#define IG_IF_LOWER 0x100
#define IG_TC_HANDLE 0x1914
#define IG_TC_PRIO 0x1914

/*
 * Hash map "ig_ifaces": the interfaces of the governed network namespace,
 * kept current by the daemon from rtnetlink. An interface missing here is
 * treated as IG_TARGET_ANYIF with the global default.
 *
 * Rules bind to the device (iotgate.conf(5), RENAMES): target is the
 * declaration the device fell under when it was first governed (by name or
 * MAC address), kept across renames; when its current name falls under
 * another declaration, that one is target2 (IG_IF_ALSO) and a packet must
 * be allowed by both. name is the device's name as the daemon last saw it.
 * A stacked device's declarations below it take target (when it has none
 * of its own), target2 (IG_IF_ALSO, when free) and target3 (IG_IF_LOWER):
 * every one that applies must allow; more than fit: IG_IF_DISABLED.
 */
struct ig_if_key {
	__u64 netns; /* network namespace cookie */
	__u32 ifindex;
	__u32 gen;
};

struct ig_if_val {
	__u32 target;
	__u32 flags; /* IG_IF_* */
	__u32 dflt; /* IG_RV_ALLOW or IG_RV_DENY when no rule matches */
	__u32 target2; /* with IG_IF_ALSO */
	__u32 dflt2;
	__u32 target3; /* with IG_IF_LOWER: a declaration below the device */
	char name[16]; /* IFNAMSIZ */
	__u8 master_mac[6]; /* IG_IF_PORT: the bridge's address (frames for the host itself) */
	__u16 dflt3; /* with IG_IF_LOWER */
};

/* ig_dev_key.type: as in BPF_DEVCG_DEV_* */
#define IG_DEV_BLOCK 1
#define IG_DEV_CHAR 2
#define IG_MINOR_ANY 0xffffffffu

/* Hash map "ig_devs": gated device numbers (minor IG_MINOR_ANY: the whole major). */
struct ig_dev_key {
	__u32 type;
	__u32 major;
	__u32 minor;
	__u32 gen;
};

struct ig_dev_val {
	__u32 target;
	__u32 pad;
};

/* ig_net_config.flags */
#define IG_NCF_ACTIVE 0x01 /* rules are loaded: enforce them */
/*
 * A packet of a socket without a label (the kernel's own sockets, and
 * program sockets opened before the rules that could not be labeled) is
 * judged as an unknown program of an unknown user: only rules for anyone and
 * the interface defaults decide. The stack's control sockets (SOCK_RAW with
 * TCP, ICMP or ICMPv6: resets and ICMP replies) stay exempt. Sockets of
 * other network namespaces are labeled (as foreign) while this is set.
 */
#define IG_NCF_UNLABELLED_DENY 0x02
/* interface-changes allow: declared interfaces may be renamed, moved, ... (full tier) */
#define IG_NCF_CHANGES_OK 0x04
/*
 * Kill tier (no LSM socket hooks): CAN and packet sockets are judged at the
 * socket, bind, connect, sendto and sendmsg syscalls, and a refusal in
 * enforce mode is a SIGKILL of the task (ifaces.bpf.c: ig_ksock_*).
 */
#define IG_NCF_KILL 0x08

/* Single-entry array map "ig_net_cfg". */
struct ig_net_config {
	__u64 netns; /* cookie of the network namespace the interface rules govern */
	/*
	 * Moves on every change: invalidates per-socket verdict caches. The
	 * daemon writes entries (ig_ifaces, ig_rules, ig_devs) first, then a
	 * full fence (__atomic_thread_fence: the kernel's stores of the earlier
	 * map updates are in its thread's program order), then this word. A
	 * program about to cache an answer reads it with a fully ordered
	 * atomic (__sync_fetch_and_add(&epoch, 0), which clang emits as
	 * atomic_fetch_or with 0: LDSETAL, or an LL/SC loop ending in DMB ISH,
	 * on arm64; a locked cmpxchg on x86-64; 6.1 has no load-acquire
	 * instruction) before and after reading the entries, seqcount style,
	 * and caches only when both reads agree with the snapshot the answer
	 * is keyed with: a new epoch is never paired with an older entry
	 * (weakly ordered CPUs), nor an answer from entries that changed
	 * under it. The per-packet path with a cached answer reads it plainly.
	 */
	__u64 epoch;
	__u32 gen; /* live generation of ig_rules, ig_ifaces, ig_devs */
	__u32 mode; /* IG_MODE_* for interface and device rules */
	__u32 dflt; /* IG_RV_* for interfaces the policy does not name */
	__u32 flags; /* IG_NCF_* */
};

/* Per-CPU array "ig_net_cnt": IG_NCNT(family, what) */
#define IG_FAM_IPV4 0
#define IG_FAM_IPV6 1
#define IG_FAM_CAN 2
#define IG_FAM_PACKET 3
#define IG_FAM_DEV 4
#define IG_FAM_MAX 5
#define IG_NC_ALLOWED 0
#define IG_NC_DENIED 1 /* operation refused with EPERM */
#define IG_NC_DROPPED 2 /* packet dropped (egress drops also return EPERM to the sender) */
#define IG_NC_AUDITED 3 /* would have been refused; access-mode audit */
#define IG_NCNT(fam, what) ((fam)*4 + (what))
#define IG_NCNT_EVENTS_LOST (IG_FAM_MAX * 4)
#define IG_NCNT_MAX (IG_NCNT_EVENTS_LOST + 1)

/*
 * Decisions per interface and per device, for the metrics (IG_NC_* index
 * n[]). The per-CPU hash map "ig_if_cnt", keyed by struct ig_if_key with
 * gen 0 (ifindex 0: a CAN or packet socket used on every interface of its
 * kind), and for devices "ig_dev_slot" and "ig_dev_cnts" below (gated
 * devices only, by the number opened). The daemon removes the entries of
 * interfaces that are gone. When a map is full, a new interface or device
 * is counted in ig_net_cnt only (the status says so: net.counters.untracked).
 */
struct ig_dec_cnt {
	__u64 n[4];
};

#define IG_IF_CNT_MAX 1024
#define IG_DEV_CNT_MAX 1024

/*
 * Per-CPU array "ig_if_cnts": decisions per interface by index (the slot
 * is the ifindex, below IG_IF_SLOTS), an array index per packet where the
 * hash map costs a lookup. A slot counts only for the interface whose
 * namespace cookie and index it holds: the daemon writes them when it
 * learns of the interface (slot 0: ifindex 0 of its namespace) and clears
 * them when the interface is gone. What no slot takes (an index of
 * IG_IF_SLOTS or more, an interface the daemon has not seen yet) goes to
 * ig_if_cnt; an interface's counts are the sum of both.
 */
struct ig_if_slot {
	__u64 netns; /* 0: not in use */
	__u32 ifindex;
	__u32 pad;
	struct ig_dec_cnt c;
};

#define IG_IF_SLOTS 1024

/*
 * Hash map "ig_dev_slot": struct ig_dev_key (gen 0) -> __u64, the device's
 * slot in the per-CPU array "ig_dev_cnts" (struct ig_dec_cnt per slot),
 * given by the programs at the device's first decision and kept for the
 * life of the pins. The key with gen IG_DEV_SLOT_NEXT_GEN (the rest 0)
 * holds the next slot to give; from IG_DEV_CNT_MAX on, new devices are not
 * counted one by one (the status says "devices_untracked"). A decision on
 * a device with a slot is counted there only: the device family's entries
 * of ig_net_cnt hold the decisions on devices without one, and the family's
 * totals are those plus every slot's.
 */
#define IG_DEV_SLOT_NEXT_GEN 0xffffffffu
#define IG_DEV_SLOT_NONE 0xffffffffu

/* ig_net_event.type */
#define IG_EV_NET 2
#define IG_EV_DEV 3
#define IG_EV_LINK 4 /* a change of a controlled interface refused (full tier) */

/* ig_net_event.op */
#define IG_OP_PKT_OUT 1
#define IG_OP_PKT_IN 2
#define IG_OP_BIND 3
#define IG_OP_CONNECT 4
#define IG_OP_SEND 5
#define IG_OP_RECV 6
#define IG_OP_OPEN 7
/* IG_EV_LINK: ifindex is the controlled interface (0: named, not found by index) */
#define IG_OP_RENAME 8
#define IG_OP_NETNS 9 /* move to another network namespace */
#define IG_OP_DELETE 10
#define IG_OP_STACK 11 /* a device stacked on it, or it enslaved to a master */
#define IG_OP_FOREIGN 12 /* a link change addressed to another namespace by id */
#define IG_OP_OPAQUE 13 /* a link change the program could not read whole */
#define IG_OP_CREATE 14 /* socket(): no right on any interface of the kind */
/*
 * A packet routed or bridged through the interface (no socket of this host
 * sends or receives it), refused by its forward verdict. Subject unknown
 * (uid and gid IG_ID_NONE); family IG_FAM_PACKET for frames that are not IP;
 * at most one event per second per interface and direction (lport 0: in,
 * 1: out), the counters count them all.
 */
#define IG_OP_FORWARD 15

/*
 * Record in the ring buffer "ig_net_ev": a refused (or, in audit mode, a
 * would-be refused) use of an interface or device. For packets the subject
 * is the socket's owner (pid 0: not known in packet context); a socket
 * sends at most one event per direction until the rules change.
 */
struct ig_net_event {
	__u64 ts_ns;
	__u64 exe_dev; /* the subject's executable, 0/0 if unknown */
	__u64 exe_ino;
	__u32 type; /* IG_EV_NET or IG_EV_DEV */
	__u32 verdict; /* IG_VERDICT_DENY, IG_VERDICT_AUDIT, or IG_VERDICT_KILL (IG_NCF_KILL) */
	__u32 family; /* IG_FAM_* */
	__u32 op; /* IG_OP_* */
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__u32 ifindex;
	__u32 proto; /* IG_P_* */
	__u32 access; /* devices: IG_ACC_* */
	__u16 lport;
	__u16 rport;
	__u32 major;
	__u32 minor;
	__u32 pad;
	char comm[IG_COMM_LEN];
};

IG_ASSERT_SIZE(struct ig_rule, 8);
IG_ASSERT_SIZE(struct ig_rule_set, 152);
IG_ASSERT_SIZE(struct ig_rule_key, 32);
IG_ASSERT_SIZE(struct ig_if_key, 16);
IG_ASSERT_SIZE(struct ig_if_val, 48);
IG_ASSERT_SIZE(struct ig_dev_key, 16);
IG_ASSERT_SIZE(struct ig_dev_val, 8);
IG_ASSERT_SIZE(struct ig_net_config, 32);
IG_ASSERT_SIZE(struct ig_net_event, 96);
IG_ASSERT_SIZE(struct ig_dec_cnt, 32);
IG_ASSERT_SIZE(struct ig_if_slot, 48);

/* --- in-kernel measurement (kmod) --- */
/*
 * bpf/kmeasure.bpf.c and userspace/kmeasure.c. Sleepable LSM programs on
 * bprm_check_security and mmap_file (PROT_EXEC) hash the file in the kernel,
 * at the moment it runs or is mapped, with the kfunc of the optional module
 * kmod/iotgate_measure.ko or, without it, IMA's bpf_ima_file_hash. Each
 * version of a file (identity and digest) is reported once per load of the
 * programs; a failed measurement of an exec is reported with err < 0.
 */

/* ig_kmeas_event.source, and the source the daemon measures with */
#define IG_KMS_USERSPACE 0 /* nothing in the kernel: the daemon hashes, after the fact */
#define IG_KMS_MODULE 1 /* kfunc iotgate_file_sha256 of iotgate_measure.ko (cached) */
#define IG_KMS_IMA 2 /* bpf_ima_file_hash (hashes on every call unless IMA caches) */

/* ig_kmeas_event.hook */
#define IG_KMH_EXEC 1 /* bprm_check_security: the file about to be executed */
#define IG_KMH_MMAP 2 /* mmap_file with PROT_EXEC: libraries, ld.so-run programs */

/* Index into the per-CPU counter array "ig_kmeas_cnt". */
#define IG_KMC_CALLS 0 /* files the programs had measured */
#define IG_KMC_HASHED 1 /* of those, hashed now (module: cache misses; IMA: each call) */
#define IG_KMC_EVENTS 2 /* records written: new file versions and failed exec measurements */
#define IG_KMC_ERRORS 3 /* measurements that failed (non-regular files included) */
#define IG_KMC_LOST 4 /* ring buffer full: a record was dropped */
#define IG_KMC_APPRAISED 5 /* lazy appraisal: manifest entries found to match */
#define IG_KMC_REFUSED 6 /* lazy appraisal: manifest entries found to differ */
#define IG_KMC_MAX 7

/* Record in the ring buffer "ig_kmeas". path is NUL-terminated. */
struct ig_kmeas_event {
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() */
	__u64 dev; /* identity as in struct ig_file_key */
	__u64 ino;
	__s64 ctime_sec; /* inode ctime when measured */
	__u32 ctime_nsec;
	__u32 source; /* IG_KMS_MODULE or IG_KMS_IMA */
	__u32 hook; /* IG_KMH_* */
	__s32 err; /* 0, or negative errno: no digest (zeroed) */
	__u32 pid; /* thread group id of the task */
	__u32 uid;
	__u64 size; /* inode size when measured */
	__u8 digest[32]; /* SHA-256 of the content at that moment */
	char comm[IG_COMM_LEN];
	char path[IG_PATH_LEN]; /* the file's path in the task's root (d_path) */
};

IG_ASSERT_SIZE(struct ig_kmeas_event, 368);

#endif /* IOTGATE_ABI_H */
