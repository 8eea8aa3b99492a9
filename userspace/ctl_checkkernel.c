// SPDX-License-Identifier: GPL-2.0-only
/*
 * iotgatectl check-kernel [CONFIG_FILE]: what the kernel offers iotgate, what
 * is missing (with the option or boot argument that fixes it) and the tier
 * iotgated will run in:
 *   full     BPF LSM usable, kernel BTF, cgroup BPF: exec is denied in the kernel
 *   partial  cgroup BPF and BTF tracepoints: interfaces enforced, exec only measured
 *   none     iotgated cannot run
 * With CONFIG_FILE the tier is judged from that configuration alone; without
 * it, from the running kernel: its configuration (/proc/config.gz or
 * /boot/config-RELEASE), the LSM list, BTF, the cgroup v2 mount and, as root,
 * trial loads of the program types iotgate uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include "bpfobj.h"
#include "ctl.h"
#include "diag.h"

#define CONFIG_MAX_BYTES (16u << 20)
#define LSM_PATH "/sys/kernel/security/lsm"
#define BTF_PATH "/sys/kernel/btf/vmlinux"
#define JIT_PATH "/proc/sys/net/core/bpf_jit_enable"

enum need { NEED_PARTIAL, NEED_FULL, NEED_OPTIONAL, NEED_KILL };
enum state { ST_PRESENT, ST_MISSING, ST_UNKNOWN };

static const char *const need_names[] = { "partial", "full", "optional", "kill" };
static const char *const state_names[] = { "present", "missing", "unknown" };

struct kopt {
	char *name; /* without the CONFIG_ prefix */
	char *val; /* "y", "m", a number or a "string"; "n" for "is not set" */
};

struct kconfig {
	const char *path;
	struct kopt *opt;
	size_t n, cap;
	char version[64]; /* from "# Linux/<arch> <version> Kernel Configuration" */
	char arch[32];
};

struct check {
	const char *name;
	const char *kind; /* "config" or "runtime" */
	enum need need;
	enum state state;
	char detail[256];
	char fix[512];
	char reason[256]; /* why the tier it is needed for is out of reach */
};

#define MAX_CHECKS 24

struct report {
	bool running; /* judged from the running kernel, not a given file */
	char kernel[128];
	char machine[80];
	const char *config_path; /* NULL when no configuration was read */
	bool config_unusable; /* one was found but could not be read or parsed */
	char config_note[512];
	struct check c[MAX_CHECKS];
	size_t n;
	char notes[4][512];
	size_t nnotes;
};

static void kconfig_free(struct kconfig *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->opt[i].name);
		free(k->opt[i].val);
	}
	free(k->opt);
	memset(k, 0, sizeof(*k));
}

static int kconfig_add(struct kconfig *k, const char *name, size_t nlen, const char *val,
		       size_t vlen)
{
	struct kopt *o;

	if (k->n == k->cap) {
		size_t nc = k->cap ? 2 * k->cap : 1024;

		o = realloc(k->opt, nc * sizeof(*o));
		if (!o)
			return -ENOMEM;
		k->opt = o;
		k->cap = nc;
	}
	o = &k->opt[k->n];
	o->name = strndup(name, nlen);
	o->val = strndup(val, vlen);
	if (!o->name || !o->val) {
		free(o->name);
		free(o->val);
		return -ENOMEM;
	}
	k->n++;
	return 0;
}

/* Value of CONFIG_<name>: NULL if the configuration does not mention it. */
static const char *kconfig_get(const struct kconfig *k, const char *name)
{
	for (size_t i = k->n; i-- > 0;)
		if (!strcmp(k->opt[i].name, name))
			return k->opt[i].val;
	return NULL;
}

static bool is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Reads a plain or gzip-compressed file (zlib reads both) into memory. */
static int read_maybe_gz(const char *path, char **out, size_t *len)
{
	struct stat st;
	size_t cap = 1 << 16, n = 0;
	char *buf;
	gzFile gz;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -errno;
		close(fd);
		return r;
	}
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		return -ENOMEM;
	}
	buf = malloc(cap + 1);
	if (!buf) {
		gzclose(gz);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			char *nb;

			if (cap >= CONFIG_MAX_BYTES) {
				r = -EFBIG;
				goto fail;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		r = gzread(gz, buf + n, cap - n);
		if (r < 0) {
			int zerr;

			gzerror(gz, &zerr);
			r = zerr == Z_ERRNO && errno ? -errno : -EBADMSG;
			goto fail;
		}
		if (r == 0)
			break;
		n += r;
	}
	/* A truncated gzip stream reads as a short file: only gzclose() tells. */
	r = gzclose(gz);
	if (r != Z_OK) {
		free(buf);
		return r == Z_BUF_ERROR ? -EBADMSG : -EIO;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	gzclose(gz);
	free(buf);
	return r;
}

/*
 * Parses a kernel .config. Anything but blank lines, comments and
 * CONFIG_NAME=VALUE lines means the file is not a kernel configuration;
 * the first such place is reported as file:line:col.
 */
static int kconfig_parse(struct kconfig *k, const char *path, const char *buf, size_t len,
			 struct ig_diag *d)
{
	unsigned int line = 0;
	size_t pos = 0, nconfig = 0;
	int ret;

	memset(k, 0, sizeof(*k));
	k->path = path;
	while (pos < len) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos), *nul;
		size_t ll = nl ? (size_t)(nl - s) : len - pos, i;

		line++;
		pos += ll + 1;
		if (ll && s[ll - 1] == '\r')
			ll--;
		nul = memchr(s, '\0', ll);
		if (nul) {
			ig_diag_add(d, path, line, nul - s + 1,
				    "binary data (NUL byte): not a kernel configuration");
			return -EINVAL;
		}
		if (!ll)
			continue;
		if (s[0] == '#') {
			char arch[32], ver[64];

			if (ll > 9 && !strncmp(s, "# CONFIG_", 9)) {
				for (i = 9; i < ll && is_name_char(s[i]); i++)
					;
				if (i > 9 && ll - i == 11 && !strncmp(s + i, " is not set", 11)) {
					ret = kconfig_add(k, s + 9, i - 9, "n", 1);
					if (ret)
						return ret;
					nconfig++;
				}
			} else if (!k->version[0] && ll < 200 &&
				   sscanf(s, "# Linux/%31s %63s Kernel Configuration", arch, ver) ==
					   2) {
				snprintf(k->arch, sizeof(k->arch), "%s", arch);
				snprintf(k->version, sizeof(k->version), "%s", ver);
			}
			continue;
		}
		if (ll < 7 || strncmp(s, "CONFIG_", 7)) {
			ig_diag_add(
				d, path, line, 1,
				"expected CONFIG_NAME=VALUE or a '#' comment: not a kernel configuration");
			return -EINVAL;
		}
		for (i = 7; i < ll && is_name_char(s[i]); i++)
			;
		if (i == 7 || i == ll || s[i] != '=') {
			ig_diag_add(
				d, path, line, i + 1,
				"expected '=' after the option name: not a kernel configuration");
			return -EINVAL;
		}
		ret = kconfig_add(k, s + 7, i - 7, s + i + 1, ll - i - 1);
		if (ret)
			return ret;
		nconfig++;
	}
	if (!nconfig) {
		ig_diag_add(d, path, line ? 1 : 0, 1,
			    "no CONFIG_ options: not a kernel configuration");
		return -EINVAL;
	}
	return 0;
}

static int kconfig_load(struct kconfig *k, const char *path, struct ig_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = read_maybe_gz(path, &buf, &len);
	if (ret) {
		ig_diag_add(d, path, 0, 0, "cannot read kernel configuration: %s",
			    ret == -EFBIG   ? "larger than 16 MiB, not a kernel configuration" :
			    ret == -EBADMSG ? "corrupt or truncated gzip data" :
					      strerror(-ret));
		return ret;
	}
	ret = kconfig_parse(k, path, buf, len, d);
	free(buf);
	if (ret)
		kconfig_free(k);
	return ret;
}

static const char *errno_name(int err)
{
	switch (err) {
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case EINVAL:
		return "EINVAL";
	case ENOENT:
		return "ENOENT";
	case ESRCH:
		return "ESRCH";
	case E2BIG:
		return "E2BIG";
	case ENOSYS:
		return "ENOSYS";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case 524: /* the kernel's internal ENOTSUPP leaks out of bpf() */
		return "ENOTSUPP";
	case ENOMEM:
		return "ENOMEM";
	case EFAULT:
		return "EFAULT";
	default:
		return NULL;
	}
}

static void errno_text(int err, char *buf, size_t len)
{
	const char *n = errno_name(err);

	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "errno %d (%s)", err, strerror(err));
}

static struct check *add(struct report *r, const char *name, const char *kind, enum need need)
{
	struct check *c = &r->c[r->n++];

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->kind = kind;
	c->need = need;
	c->state = ST_UNKNOWN;
	return c;
}

/* A kernel version "X.Y..." below 6.4 (arm64 BPF trampolines need 6.4). */
static bool arm64_before_6_4(const char *version)
{
	unsigned int maj, min;

	return sscanf(version, "%u.%u", &maj, &min) == 2 && (maj < 6 || (maj == 6 && min < 4));
}

static void note(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nnotes == sizeof(r->notes) / sizeof(r->notes[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(r->notes[r->nnotes++], sizeof(r->notes[0]), fmt, ap);
	va_end(ap);
}

/* A bool/tristate option: present when =y (or =m where a module will do). */
static void config_bool(struct report *r, const struct kconfig *k, const char *opt, enum need need,
			const char *what)
{
	struct check *c = add(r, opt, "config", need);
	const char *v = k ? kconfig_get(k, opt + 7) : NULL;

	if (!k) {
		snprintf(c->detail, sizeof(c->detail), "%s (configuration not available)", what);
	} else if (v && (!strcmp(v, "y") || !strcmp(v, "m"))) {
		c->state = ST_PRESENT;
		snprintf(c->detail, sizeof(c->detail), "%s=%s: %s", opt, v, what);
	} else {
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail), "%s %s: %s", opt,
			 v ? "is not set" : "is absent", what);
		snprintf(c->reason, sizeof(c->reason), "%s is not set", opt);
	}
	snprintf(c->fix, sizeof(c->fix), "%s=y", opt);
}

/* Does a comma-separated LSM list contain "bpf"? */
/* "a,b" with ",bpf" appended (capability is always on and need not be named). */
static void with_bpf(const char *list, char *out, size_t len)
{
	char tmp[400];
	size_t n = 0;

	tmp[0] = '\0';
	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",\n\" ");

		if (l && !(l == 10 && !strncmp(p, "capability", 10)) && n + l + 2 < sizeof(tmp))
			n += snprintf(tmp + n, sizeof(tmp) - n, "%s%.*s", n ? "," : "", (int)l, p);
		p += l;
		while (*p == ',' || *p == '\n' || *p == '"' || *p == ' ')
			p++;
	}
	snprintf(out, len, "%s%sbpf", tmp, n ? "," : "");
}

static void config_lsm(struct report *r, const struct kconfig *k)
{
	struct check *c = add(r, "CONFIG_LSM", "config", NEED_FULL);
	const char *v = k ? kconfig_get(k, "LSM") : NULL;
	char fixed[420];

	if (!k) {
		snprintf(c->detail, sizeof(c->detail),
			 "default LSM order (configuration not available)");
		snprintf(c->fix, sizeof(c->fix), "CONFIG_LSM=\"...,bpf\" or boot with lsm=...,bpf");
		return;
	}
	if (!v || !strcmp(v, "n")) {
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail),
			 "CONFIG_LSM is absent: this kernel has no configurable LSM order");
		snprintf(c->fix, sizeof(c->fix),
			 "a kernel with CONFIG_LSM (5.1 or later; BPF LSM needs 5.7)");
		snprintf(c->reason, sizeof(c->reason), "CONFIG_LSM is absent");
		return;
	}
	with_bpf(v, fixed, sizeof(fixed));
	if (ig_lsm_list_has_bpf(v)) {
		c->state = ST_PRESENT;
		snprintf(c->detail, sizeof(c->detail),
			 "CONFIG_LSM=%.200s: bpf is in the default LSM order", v);
	} else {
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail),
			 "CONFIG_LSM=%.200s: bpf is not in the default LSM order", v);
		snprintf(c->reason, sizeof(c->reason), "bpf is not in CONFIG_LSM");
	}
	snprintf(c->fix, sizeof(c->fix), "CONFIG_LSM=\"%.200s\" or boot with lsm=%.200s", fixed,
		 fixed);
}

static bool config_y(const struct kconfig *k, const char *name)
{
	const char *v = k ? kconfig_get(k, name) : NULL;

	return v && !strcmp(v, "y");
}

/*
 * BPF LSM programs attach through BPF trampolines, which 32-bit ARM does not
 * have and arm64 has from 6.4 on (they need ftrace direct calls there): listed
 * for these architectures only.
 */
static void trampoline_check(struct report *r, const struct kconfig *k)
{
	struct check *c;

	if (config_y(k, "ARM")) {
		c = add(r, "BPF trampolines", "config", NEED_FULL);
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail), "%s", "32-bit ARM has no BPF trampolines");
		snprintf(c->reason, sizeof(c->reason), "%s",
			 "BPF LSM programs cannot attach on 32-bit ARM (no BPF trampolines)");
		snprintf(c->fix, sizeof(c->fix), "%s",
			 "none on 32-bit ARM: arm64 with Linux >= 6.4");
	} else if (config_y(k, "ARM64") && arm64_before_6_4(r->kernel)) {
		c = add(r, "BPF trampolines", "config", NEED_FULL);
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail), "%s",
			 "arm64 before 6.4: no ftrace direct calls for BPF trampolines");
		snprintf(c->reason, sizeof(c->reason), "%s",
			 "BPF LSM programs cannot attach on arm64 before 6.4 (ENOTSUPP)");
		snprintf(c->fix, sizeof(c->fix), "%s", "Linux >= 6.4 on arm64");
	}
}

static void config_checks(struct report *r, const struct kconfig *k)
{
	config_bool(r, k, "CONFIG_BPF_SYSCALL", NEED_PARTIAL, "the bpf() system call");
	config_bool(r, k, "CONFIG_CGROUP_BPF", NEED_PARTIAL,
		    "cgroup programs (interface and device access control)");
	config_bool(r, k, "CONFIG_DEBUG_INFO_BTF", NEED_PARTIAL,
		    "kernel BTF (CO-RE, BTF tracepoints, BPF LSM attach)");
	config_bool(r, k, "CONFIG_BPF_EVENTS", NEED_PARTIAL,
		    "BPF tracing programs (exec measurement through tp_btf)");
	config_bool(r, k, "CONFIG_BPF_JIT", NEED_FULL,
		    "BPF JIT (BPF LSM programs attach through JIT-built trampolines)");
	config_bool(r, k, "CONFIG_BPF_LSM", NEED_FULL, "BPF LSM hooks (exec denial)");
	trampoline_check(r, k);
	config_bool(r, k, "CONFIG_FTRACE_SYSCALLS", NEED_KILL,
		    "syscall tracepoints (kill tier: mmap/mprotect seen without BPF LSM)");
	config_lsm(r, k);
	config_bool(r, k, "CONFIG_DEBUG_INFO_BTF_MODULES", NEED_OPTIONAL,
		    "module BTF (kfuncs of the optional iotgate_measure module)");
	config_bool(r, k, "CONFIG_IMA", NEED_OPTIONAL,
		    "IMA (its measurement list can seed the manifest)");
	config_bool(r, k, "CONFIG_FS_VERITY", NEED_OPTIONAL,
		    "fs-verity (file digests kept by the filesystem)");
}

static int read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* First cgroup2 mount in /proc/self/mountinfo ("... MOUNTPOINT ... - cgroup2 ..."). */
static bool cgroup2_mount(char *out, size_t len)
{
	char line[4096];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char mnt[1024], *sep = strstr(line, " - ");

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1) {
			snprintf(out, len, "%s", mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/*
 * Loads a two-instruction program ("r0 = ret; exit") of the given type and
 * closes it: 0 if the kernel accepted it, else negative errno.
 */
static int try_load(enum bpf_prog_type type, enum bpf_attach_type attach, __u32 btf_id, int ret)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach,
		    .attach_btf_id = btf_id);
	int fd;

	fd = bpf_prog_load(type, "ig_probe", "GPL", insns, 2, &opts);
	if (fd < 0)
		return fd == -1 ? -errno : fd;
	close(fd);
	return 0;
}

static void probe_result(struct check *c, int err, const char *ok, const char *fix)
{
	char e[64];

	if (!err) {
		c->state = ST_PRESENT;
		snprintf(c->detail, sizeof(c->detail), "%s", ok);
		return;
	}
	errno_text(-err, e, sizeof(e));
	c->state = ST_MISSING;
	snprintf(c->detail, sizeof(c->detail), "program load refused: %s", e);
	snprintf(c->reason, sizeof(c->reason), "%s program load refused: %s", c->name, e);
	snprintf(c->fix, sizeof(c->fix), "%s", fix);
}

static void runtime_checks(struct report *r, const struct kconfig *k)
{
	char lsm[512], buf[256], mnt[1024];
	bool root = geteuid() == 0, lsm_listed = false, have_btf;
	struct check *c;
	int ret;

	/* LSM list: securityfs is only read, never mounted, by this check. */
	c = add(r, "LSM list", "runtime", NEED_FULL);
	ret = read_small(LSM_PATH, lsm, sizeof(lsm));
	if (ret) {
		snprintf(c->detail, sizeof(c->detail), "cannot read %s: %s", LSM_PATH,
			 ret == -ENOENT ? "securityfs is not mounted" : strerror(-ret));
		snprintf(c->fix, sizeof(c->fix),
			 "mount -t securityfs securityfs /sys/kernel/security (to see the list)");
	} else if (ig_lsm_list_has_bpf(lsm)) {
		lsm_listed = true;
		c->state = ST_PRESENT;
		snprintf(c->detail, sizeof(c->detail), "%.200s: bpf is active", lsm);
	} else {
		char fixed[420];

		with_bpf(lsm, fixed, sizeof(fixed));
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail), "%.200s: bpf is not active", lsm);
		snprintf(c->reason, sizeof(c->reason), "bpf is not in the active LSM list (%.150s)",
			 lsm);
		if (k && kconfig_get(k, "BPF_LSM") && !strcmp(kconfig_get(k, "BPF_LSM"), "y"))
			snprintf(c->fix, sizeof(c->fix), "boot with lsm=%.200s", fixed);
		else
			snprintf(c->fix, sizeof(c->fix),
				 "CONFIG_BPF_LSM=y and boot with lsm=%.200s", fixed);
	}

	c = add(r, "kernel BTF", "runtime", NEED_PARTIAL);
	have_btf = access(BTF_PATH, R_OK) == 0;
	if (have_btf) {
		c->state = ST_PRESENT;
		snprintf(c->detail, sizeof(c->detail), "%s", BTF_PATH);
	} else {
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail), "no %s", BTF_PATH);
		snprintf(c->reason, sizeof(c->reason), "the kernel exposes no BTF (%s)", BTF_PATH);
		snprintf(c->fix, sizeof(c->fix), "CONFIG_DEBUG_INFO_BTF=y (built with pahole)");
	}

	c = add(r, "cgroup v2", "runtime", NEED_PARTIAL);
	if (cgroup2_mount(mnt, sizeof(mnt))) {
		c->state = ST_PRESENT;
		snprintf(c->detail, sizeof(c->detail), "mounted at %.200s", mnt);
	} else {
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail), "no cgroup2 file system is mounted");
		snprintf(c->reason, sizeof(c->reason), "no cgroup v2 hierarchy is mounted");
		snprintf(
			c->fix, sizeof(c->fix),
			"mount -t cgroup2 none /sys/fs/cgroup (systemd: systemd.unified_cgroup_hierarchy=1)");
	}

	c = add(r, "BPF JIT", "runtime", NEED_FULL);
	ret = read_small(JIT_PATH, buf, sizeof(buf));
	if (ret == -ENOENT) {
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail), "no %s: the kernel has no BPF JIT",
			 JIT_PATH);
		snprintf(c->reason, sizeof(c->reason), "the kernel has no BPF JIT");
		snprintf(c->fix, sizeof(c->fix), "CONFIG_BPF_JIT=y");
	} else if (ret) {
		snprintf(c->detail, sizeof(c->detail), "cannot read %s: %s", JIT_PATH,
			 strerror(-ret));
	} else if (strcmp(buf, "0")) {
		c->state = ST_PRESENT;
		snprintf(c->detail, sizeof(c->detail), "net.core.bpf_jit_enable = %.32s", buf);
	} else {
		c->state = ST_MISSING;
		snprintf(c->detail, sizeof(c->detail), "net.core.bpf_jit_enable = 0");
		snprintf(c->reason, sizeof(c->reason), "the BPF JIT is disabled");
		snprintf(c->fix, sizeof(c->fix), "sysctl net.core.bpf_jit_enable=1");
	}

	{
		struct check *lsm_load = add(r, "BPF LSM", "runtime", NEED_FULL);
		struct check *tp = add(r, "BTF tracepoint", "runtime", NEED_PARTIAL);
		struct check *cg = add(r, "cgroup_skb", "runtime", NEED_PARTIAL);
		libbpf_print_fn_t old;
		struct btf *btf;
		int id;

		if (!root) {
			snprintf(lsm_load->detail, sizeof(lsm_load->detail),
				 "program load not tried (needs root)");
			snprintf(tp->detail, sizeof(tp->detail),
				 "program load not tried (needs root)");
			snprintf(cg->detail, sizeof(cg->detail),
				 "program load not tried (needs root)");
			note(r,
			     "not root: trial program loads were skipped, so the tier assumes the kernel accepts what it lists");
			return;
		}
		ret = try_load(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, 0, 1);
		probe_result(cg, ret, "cgroup_skb program loads",
			     "CONFIG_BPF_SYSCALL=y and CONFIG_CGROUP_BPF=y");
		if (!have_btf) {
			snprintf(lsm_load->detail, sizeof(lsm_load->detail),
				 "program load not tried: no kernel BTF");
			lsm_load->state = ST_MISSING;
			snprintf(lsm_load->reason, sizeof(lsm_load->reason),
				 "BPF LSM programs need kernel BTF");
			snprintf(tp->detail, sizeof(tp->detail),
				 "program load not tried: no kernel BTF");
			tp->state = ST_MISSING;
			snprintf(tp->reason, sizeof(tp->reason), "BTF tracepoints need kernel BTF");
			return;
		}
		old = libbpf_set_print(silent);
		btf = btf__load_vmlinux_btf();
		libbpf_set_print(old);
		if (!btf) {
			ret = -errno;
			snprintf(lsm_load->detail, sizeof(lsm_load->detail),
				 "cannot load kernel BTF: %s", strerror(-ret));
			snprintf(tp->detail, sizeof(tp->detail), "cannot load kernel BTF: %s",
				 strerror(-ret));
			return;
		}
		id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exec", BTF_KIND_TYPEDEF);
		if (id < 0) {
			tp->state = ST_MISSING;
			snprintf(tp->detail, sizeof(tp->detail),
				 "no sched_process_exec tracepoint in the kernel BTF");
			snprintf(tp->reason, sizeof(tp->reason),
				 "the kernel BTF has no sched_process_exec tracepoint");
			snprintf(tp->fix, sizeof(tp->fix), "CONFIG_BPF_EVENTS=y");
		} else {
			probe_result(tp, try_load(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, id, 0),
				     "tp_btf/sched_process_exec program loads",
				     "CONFIG_BPF_EVENTS=y");
		}
		id = btf__find_by_name_kind(btf, "bpf_lsm_bprm_check_security", BTF_KIND_FUNC);
		if (id < 0) {
			lsm_load->state = ST_MISSING;
			snprintf(lsm_load->detail, sizeof(lsm_load->detail),
				 "no bpf_lsm_bprm_check_security in the kernel BTF");
			snprintf(lsm_load->reason, sizeof(lsm_load->reason),
				 "the kernel has no BPF LSM hooks");
			snprintf(lsm_load->fix, sizeof(lsm_load->fix), "CONFIG_BPF_LSM=y");
		} else {
			probe_result(
				lsm_load, try_load(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, id, 0),
				"lsm/bprm_check_security program loads",
				lsm_listed ?
					"a kernel that lets root load BPF LSM programs: the LSM list allows them, so a security module, sandbox or hypervisor policy refuses them" :
					"CONFIG_BPF_LSM=y and bpf in CONFIG_LSM or lsm=");
			if (lsm_load->state == ST_MISSING && lsm_listed)
				snprintf(lsm_load->reason, sizeof(lsm_load->reason),
					 "BPF LSM listed but program load refused: %s",
					 lsm_load->detail + strlen("program load refused: "));
		}
		btf__free(btf);
	}
	{
		/* Kill tier: what its tracing programs call, from a syscall tracepoint. */
		static const struct {
			enum bpf_func_id id;
			const char *name;
		} helpers[] = { { BPF_FUNC_send_signal, "bpf_send_signal" },
				{ BPF_FUNC_find_vma, "bpf_find_vma" },
				{ BPF_FUNC_task_pt_regs, "bpf_task_pt_regs" } };

		c = add(r, "kill-tier helpers", "runtime", NEED_KILL);
		c->state = ST_PRESENT;
		snprintf(c->detail, sizeof(c->detail), "%s",
			 "bpf_send_signal, bpf_find_vma, bpf_task_pt_regs in tracepoint programs");
		for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
			if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, helpers[i].id,
						    NULL) == 1)
				continue;
			c->state = ST_MISSING;
			snprintf(c->detail, sizeof(c->detail),
				 "%s not available to tracepoint programs", helpers[i].name);
			snprintf(c->reason, sizeof(c->reason),
				 "the kernel has no %s for tracing programs", helpers[i].name);
			snprintf(c->fix, sizeof(c->fix), "%s",
				 "a kernel >= 5.17 with CONFIG_BPF_EVENTS=y");
			break;
		}
	}
}

/* Tier from the checks: every full and partial need met, or every partial one. */
static const char *tier_of(const struct report *r)
{
	bool full = true, kill = true, partial = true;

	for (size_t i = 0; i < r->n; i++) {
		if (r->c[i].state != ST_MISSING)
			continue;
		if (r->c[i].need == NEED_PARTIAL)
			partial = kill = full = false;
		else if (r->c[i].need == NEED_FULL)
			full = false;
		else if (r->c[i].need == NEED_KILL)
			kill = false;
	}
	return full ? "full" : kill ? "kill" : partial ? "partial" : "none";
}

/*
 * Did every check that the tier rests on give an answer? For the running
 * kernel those are the runtime checks: an unknown configuration option is
 * settled by what the kernel does.
 */
static bool tier_verified(const struct report *r, const char *tier)
{
	bool full = !strcmp(tier, "full"), kill = !strcmp(tier, "kill"),
	     partial = !strcmp(tier, "partial");

	for (size_t i = 0; i < r->n; i++)
		if (r->c[i].state == ST_UNKNOWN &&
		    (!r->running || !strcmp(r->c[i].kind, "runtime")) &&
		    ((r->c[i].need == NEED_FULL && full) || (r->c[i].need == NEED_KILL && kill) ||
		     (r->c[i].need == NEED_PARTIAL && (full || kill || partial))))
			return false;
	return true;
}

static void add_reasons(const struct report *r, struct json_object *arr, FILE *f, enum need need)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct check *c = &r->c[i];

		if (c->state != ST_MISSING || c->need != need)
			continue;
		if (arr)
			json_object_array_add(arr, json_object_new_string(c->reason));
		else
			fprintf(f, "  - %s\n", c->reason);
	}
}

static void print_json(const struct report *r, const char *tier)
{
	struct json_object *o = json_object_new_object(), *checks = json_object_new_array();
	struct json_object *reasons = json_object_new_array(), *notes = json_object_new_array();

	json_object_object_add(o, "source",
			       json_object_new_string(r->running ? "running" : "config"));
	json_object_object_add(o, "kernel",
			       r->kernel[0] ? json_object_new_string(r->kernel) : NULL);
	json_object_object_add(o, "machine",
			       r->machine[0] ? json_object_new_string(r->machine) : NULL);
	json_object_object_add(o, "config",
			       r->config_path ? json_object_new_string(r->config_path) : NULL);
	json_object_object_add(o, "runtime_checked", json_object_new_boolean(r->running));
	json_object_object_add(o, "tier", json_object_new_string(tier));
	json_object_object_add(o, "tier_verified", json_object_new_boolean(tier_verified(r, tier)));
	if (strcmp(tier, "full")) {
		add_reasons(r, reasons, NULL, NEED_PARTIAL);
		add_reasons(r, reasons, NULL, NEED_FULL);
		add_reasons(r, reasons, NULL, NEED_KILL);
	}
	json_object_object_add(o, "reasons", reasons);
	for (size_t i = 0; i < r->n; i++) {
		const struct check *c = &r->c[i];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "name", json_object_new_string(c->name));
		json_object_object_add(e, "kind", json_object_new_string(c->kind));
		json_object_object_add(e, "needed_for",
				       json_object_new_string(need_names[c->need]));
		json_object_object_add(e, "status", json_object_new_string(state_names[c->state]));
		json_object_object_add(e, "detail", json_object_new_string(c->detail));
		if (c->state != ST_PRESENT && c->fix[0])
			json_object_object_add(e, "fix", json_object_new_string(c->fix));
		json_object_array_add(checks, e);
	}
	json_object_object_add(o, "checks", checks);
	if (r->config_note[0])
		json_object_array_add(notes, json_object_new_string(r->config_note));
	for (size_t i = 0; i < r->nnotes; i++)
		json_object_array_add(notes, json_object_new_string(r->notes[i]));
	json_object_object_add(o, "notes", notes);
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void print_text(const struct report *r, const char *tier)
{
	if (r->running)
		printf("Running kernel %s (%s); configuration: %s\n", r->kernel, r->machine,
		       r->config_path	  ? r->config_path :
		       r->config_unusable ? "unusable (see the note)" :
					    "not found");
	else
		printf("Kernel configuration %s (Linux %s%s%s)\n", r->config_path,
		       r->kernel[0] ? r->kernel : "version unknown", r->machine[0] ? ", " : "",
		       r->machine);
	printf("\n  %-8s %-30s %-8s %s\n", "status", "check", "for", "detail");
	for (size_t i = 0; i < r->n; i++) {
		const struct check *c = &r->c[i];

		printf("  %-8s %-30s %-8s %s\n", state_names[c->state], c->name,
		       need_names[c->need], c->detail);
		if (c->state != ST_PRESENT && c->fix[0])
			printf("  %-8s %-30s %-8s fix: %s\n", "", "", "", c->fix);
	}
	printf("\nTier: %s%s\n", tier,
	       tier_verified(r, tier) ?
		       "" :
		       " (not verified: some checks could not be made, see 'unknown')");
	if (!strcmp(tier, "none")) {
		printf("iotgated cannot run; missing for the partial tier:\n");
		add_reasons(r, NULL, stdout, NEED_PARTIAL);
	}
	if (strcmp(tier, "full")) {
		printf("Missing for the full tier (exec denied in the kernel):\n");
		add_reasons(r, NULL, stdout, NEED_FULL);
	}
	if (!strcmp(tier, "partial") || !strcmp(tier, "none")) {
		printf("Missing for the kill tier (exec and executable mappings killed without BPF LSM):\n");
		add_reasons(r, NULL, stdout, NEED_KILL);
	}
	if (!strcmp(tier, "kill"))
		printf("In the kill tier exec and executable file mappings outside the manifest, CAN/packet sockets on interfaces the program may not use, ptrace attach, process_vm_writev and /proc/PID/mem opened for writing are stopped with SIGKILL; interfaces and IP devices are enforced; the write guard and the daemon's self-protection (but against tracers) need BPF LSM (status lists each gap in tier_gaps).\n");
	if (!strcmp(tier, "partial"))
		printf("In the partial tier interfaces and devices are enforced; exec is measured and logged but not denied.\n");
	if (r->config_note[0])
		printf("Note: %s\n", r->config_note);
	for (size_t i = 0; i < r->nnotes; i++)
		printf("Note: %s\n", r->notes[i]);
}

static int usage(void)
{
	printf("Usage: iotgatectl [--json] check-kernel [CONFIG_FILE]\n"
	       "Report what the kernel offers iotgate, what is missing (with the option or boot\n"
	       "argument that fixes it) and the tier iotgated will run in: full (BPF LSM: exec is\n"
	       "denied), partial (cgroup BPF and BTF tracepoints: interfaces enforced, exec only\n"
	       "measured) or none.\n\n"
	       "Without CONFIG_FILE the running kernel is checked: its configuration\n"
	       "(/proc/config.gz or /boot/config-RELEASE), the LSM list, BTF, the cgroup v2 mount\n"
	       "and, as root, trial loads of the BPF program types iotgate uses.\n"
	       "With CONFIG_FILE (a .config, plain or gzip) the tier is judged from it alone.\n");
	return 0;
}

int ctl_check_kernel(int argc, char **argv)
{
	struct report *r;
	struct kconfig k = { 0 };
	struct ig_diag diag;
	struct utsname un;
	const char *given = NULL, *tier;
	bool have_config = false;
	char boot[512];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage();
		if (argv[i][0] == '-' && argv[i][1])
			return fail(
				"check-kernel: unknown option '%s' (try 'iotgatectl check-kernel --help')",
				argv[i]);
		if (given)
			return fail("check-kernel: expected at most one CONFIG_FILE");
		given = argv[i];
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail("out of memory");
	ig_diag_init(&diag);
	if (given) {
		if (kconfig_load(&k, given, &diag)) {
			fail("check-kernel: %s", diag.n ? diag.msgs[0] : given);
			ig_diag_free(&diag);
			free(r);
			return 1;
		}
		have_config = true;
		r->config_path = given;
		snprintf(r->kernel, sizeof(r->kernel), "%s", k.version);
		snprintf(r->machine, sizeof(r->machine), "%s", k.arch);
		snprintf(
			r->config_note, sizeof(r->config_note),
			"judged from %.300s alone: the running kernel's LSM list, BTF, cgroup mount and program loads were not checked",
			given);
	} else {
		r->running = true;
		uname(&un);
		snprintf(r->kernel, sizeof(r->kernel), "%s", un.release);
		snprintf(r->machine, sizeof(r->machine), "%s", un.machine);
		snprintf(boot, sizeof(boot), "/boot/config-%s", un.release);
		if (access("/proc/config.gz", F_OK) == 0 &&
		    !kconfig_load(&k, "/proc/config.gz", &diag)) {
			r->config_path = "/proc/config.gz";
			have_config = true;
		} else if (access(boot, F_OK) == 0 && !kconfig_load(&k, boot, &diag)) {
			r->config_path = boot;
			have_config = true;
		}
		r->config_unusable = diag.n > 0;
		if (diag.n)
			snprintf(r->config_note, sizeof(r->config_note),
				 "configuration ignored: %.400s", diag.msgs[0]);
		else if (!have_config)
			snprintf(
				r->config_note, sizeof(r->config_note),
				"no /proc/config.gz (CONFIG_IKCONFIG_PROC) or %.200s: configuration options not checked",
				boot);
	}
	config_checks(r, have_config ? &k : NULL);
	if (r->running)
		runtime_checks(r, have_config ? &k : NULL);
	if (config_y(have_config ? &k : NULL, "ARM"))
		note(r,
		     "32-bit ARM: CONFIG_DEBUG_INFO_BTF=y is required (Debian's armmp kernels have none); with it, the kill tier at best (no BPF trampolines: no BPF LSM), partial without syscall tracepoints");
	tier = tier_of(r);
	if (json_mode)
		print_json(r, tier);
	else
		print_text(r, tier);
	kconfig_free(&k);
	ig_diag_free(&diag);
	free(r);
	return 0;
}
