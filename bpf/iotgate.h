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

#define IG_ABI_VERSION 1

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

/* Single-entry array map "ig_cfg": the mode and policy generation in force. */
struct ig_config {
	__u32 mode; /* IG_MODE_* */
	__u32 abi_version; /* IG_ABI_VERSION of the daemon that wrote it */
	__u64 generation; /* incremented on every policy/manifest swap */
};

/* Index into the per-CPU counter array "ig_counters". */
#define IG_CNT_EXEC_ALLOWED 0 /* exec of a file in the manifest */
#define IG_CNT_EXEC_DENIED 1 /* exec refused with EPERM (enforce mode) */
#define IG_CNT_EXEC_AUDITED 2 /* exec outside the manifest, let through */
#define IG_CNT_EVENTS_LOST 3 /* ring buffer full: an event was dropped */
#define IG_CNT_MAX 4

/* ig_event.type */
#define IG_EV_EXEC 1

/* ig_event.verdict */
#define IG_VERDICT_ALLOW 0
#define IG_VERDICT_DENY 1 /* denied with EPERM */
#define IG_VERDICT_AUDIT 2 /* would have been denied; audit mode or no LSM */

/* ig_event.reason */
#define IG_REASON_NONE 0
#define IG_REASON_NOT_IN_MANIFEST 1
#define IG_REASON_MODIFIED 2 /* identity known but ctime moved since hashing */
#define IG_REASON_NO_MANIFEST 3 /* no manifest map installed (fail closed) */

#define IG_COMM_LEN 16
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
	char path[IG_PATH_LEN];
};

#define IG_ASSERT_SIZE(type, size) _Static_assert(sizeof(type) == (size), #type " layout changed")

IG_ASSERT_SIZE(struct ig_file_key, 16);
IG_ASSERT_SIZE(struct ig_file_val, 48);
IG_ASSERT_SIZE(struct ig_config, 16);
IG_ASSERT_SIZE(struct ig_event, 320);

#endif /* IOTGATE_ABI_H */
