// SPDX-License-Identifier: GPL-2.0-only
/*
 * exectool: the ways of getting code to run that a shell cannot express, for
 * the VM suites. Each prints nothing on success and "errno=NAME" on failure,
 * and exits 0 / 1 (exec'd programs exit with their own status).
 *   exectool mprotect FILE       map FILE read-only, then mprotect it PROT_EXEC
 *   exectool mmap FILE           map FILE PROT_READ|PROT_EXEC directly
 *   exectool mapwait FILE        map FILE PROT_READ|PROT_EXEC, print "mapped" and
 *                                keep the mapping until stdin reaches its end
 *   exectool mmapw FD            map an inherited descriptor shared and writable and
 *                                write one byte through the mapping
 *   exectool fdexec FILE [ARG]   open FILE and execveat(fd, "", AT_EMPTY_PATH)
 *   exectool procfd FILE [ARG]   open FILE and execve("/proc/self/fd/N")
 *   exectool memfd NAME SRC [seal]
 *                                copy SRC into memfd_create(NAME), seal it against
 *                                writes (F_SEAL_WRITE) if asked, and fexecve it
 *   exectool writefd FD          write one byte to an inherited descriptor
 *   exectool ptrace PID          PTRACE_SEIZE a process
 *   exectool kill PID SIG        send a signal
 *   exectool as UID CMD [ARG...] drop to uid and gid UID, no groups, and exec CMD
 *   exectool unlink PATH         unlink a file (a pin)
 *   exectool objget PATH         BPF_OBJ_GET a pinned object
 *   exectool wx anon|rwx|w2x     W^X: anonymous RWX memory; a file mapping that
 *                                is writable and executable (rwx FILE); anonymous
 *                                RW memory made RX (w2x)
 *   exectool rxrwrx FILE         map FILE private RX, make it RW, write, make it RX
 *   exectool inject poke|mem|vm|traceme|selfmem
 *                                write 2 into a child that then exits with it (else
 *                                1): PTRACE_ATTACH+POKEDATA, /proc/PID/mem,
 *                                process_vm_writev, or the child asks to be traced
 *                                (PTRACE_TRACEME), execs this program and its parent
 *                                writes into the new image; selfmem: write over its
 *                                own code through /proc/self/mem. Exits 0 if the
 *                                write succeeded, 1 if refused, 128+N if the attacker
 *                                (traceme: the child) died of signal N; prints how
 *                                the child ended (victim=N|stopped|killed; a child
 *                                left stopped is sent SIGCONT)
 *   exectool traced-unlink BIN PATH
 *                                a child asks to be traced (PTRACE_TRACEME) and execs
 *                                BIN; stopped after the exec, its tracer makes it call
 *                                unlink(PATH) (x86-64) and prints that call's errno
 *   exectool exe-file FILE       prctl(PR_SET_MM, PR_SET_MM_EXE_FILE) to FILE
 *   exectool linkfd ID           BPF_LINK_GET_FD_BY_ID
 *   exectool rename FROM TO      rename(2)
 *   exectool link FROM TO        link(2)
 *   exectool kload finit|mem|kexec-file FILE
 *                                load FILE as a kernel module (finit_module from its
 *                                descriptor, init_module from a copy in memory) or as
 *                                the kexec kernel (kexec_file_load, then unloaded)
 *   exectool kload kexec x       kexec_load with no segment (unloads a loaded image)
 *   exectool uring-open FILE w|x open FILE through io_uring (IORING_OP_OPENAT): for
 *                                writing (w), or for reading and then exec the
 *                                descriptor (x, execveat AT_EMPTY_PATH)
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/user.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kexec.h>
#include <linux/io_uring.h>

extern char **environ;

static int fail(void)
{
	printf("errno=%s\n", strerrorname_np(errno));
	return 1;
}

static int map(const char *path, bool via_mprotect)
{
	int fd = open(path, O_RDONLY);
	void *p;

	if (fd < 0)
		return fail();
	p = mmap(NULL, 4096, via_mprotect ? PROT_READ : PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return fail();
	if (via_mprotect && mprotect(p, 4096, PROT_READ | PROT_EXEC))
		return fail();
	return 0;
}

static int mapwait(const char *path)
{
	int fd = open(path, O_RDONLY);
	char c;

	if (fd < 0 || mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED)
		return fail();
	printf("mapped\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

static int mmapw(int fd)
{
	char *p = mmap(NULL, 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return fail();
	p[0] ^= 1;
	return msync(p, 1, MS_SYNC) ? fail() : 0;
}

static int wx(const char *how, const char *file)
{
	void *p;

	if (!strcmp(how, "anon")) {
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? fail() : 0;
	}
	if (!strcmp(how, "w2x")) {
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return fail();
		*(volatile char *)p = (char)0xc3;
		return mprotect(p, 4096, PROT_READ | PROT_EXEC) ? fail() : 0;
	}
	/* pkey_mprotect with no key is mprotect under another syscall number */
	if (!strcmp(how, "pkey")) {
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return fail();
		*(volatile char *)p = (char)0xc3;
		return syscall(SYS_pkey_mprotect, p, 4096, PROT_READ | PROT_EXEC, -1) ? fail() : 0;
	}
	/* SysV shared memory written through one attachment, attached executable again */
	if (!strcmp(how, "shm")) {
		int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0700); /* SHM_EXEC needs x */
		char *w;

		if (id < 0)
			return fail();
		w = shmat(id, NULL, 0);
		shmctl(id, IPC_RMID, NULL); /* gone with the last detach (Linux attaches still) */
		if (w == (void *)-1)
			return fail();
		w[0] = (char)0xc3;
		p = shmat(id, NULL, SHM_EXEC | SHM_RDONLY);
		return p == (void *)-1 ? fail() : 0;
	}
	if (!strcmp(how, "rwx") && file) {
		int fd = open(file, O_RDONLY);

		if (fd < 0)
			return fail();
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, fd, 0);
		return p == MAP_FAILED ? fail() : 0;
	}
	return 2;
}

static int rxrwrx(const char *file)
{
	int fd = open(file, O_RDONLY);
	char *p;

	if (fd < 0)
		return fail();
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ | PROT_WRITE))
		return fail();
	p[0] ^= 1;
	return mprotect(p, 4096, PROT_READ | PROT_EXEC) ? fail() : 0;
}

static int __attribute__((noinline)) victim(void)
{
	return 1;
}

/*
 * Code no manifest measured, written over this program's own text through
 * /proc/self/mem (which ignores the page's protection, as debuggers need):
 * 0 if it ran, 1 if the write was refused.
 */
static int selfmem(void)
{
#if defined(__x86_64__)
	static const unsigned char code[] = { 0xb8, 0x2a, 0, 0, 0, 0xc3 }; /* mov $42,%eax; ret */
#elif defined(__aarch64__)
	static const unsigned int code[] = { 0x52800540, 0xd65f03c0 }; /* mov w0,#42; ret */
#else
	static const unsigned char code[1];

	return 2;
#endif
	int (*volatile fn)(void) = victim;
	int fd = open("/proc/self/mem", O_RDWR);

	if (fd < 0 || pwrite(fd, code, sizeof(code), (off_t)(unsigned long)fn) != sizeof(code))
		return fail();
	close(fd);
	return fn() == 42 ? 0 : 3;
}

/* The victim's own exit status; an injection makes it 2. */
static volatile long target = 1;

/* Where the first mapping of a process's executable starts (PIE: its load address). */
static unsigned long exe_base(pid_t pid)
{
	unsigned long base = 0;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lx-", &base) != 1)
			base = 0;
		fclose(f);
	}
	return base;
}

/* 0 if the write into the child succeeded, 1 (errno printed) if refused. */
static int attack(const char *how, pid_t pid)
{
	long v = 2;
	int ret = 0;

	if (!strcmp(how, "poke")) {
		if (ptrace(PTRACE_ATTACH, pid, NULL, NULL))
			return fail();
		waitpid(pid, NULL, 0);
		if (ptrace(PTRACE_POKEDATA, pid, (void *)&target, (void *)v))
			ret = fail();
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	} else if (!strcmp(how, "mem")) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		fd = open(path, O_RDWR);
		if (fd < 0 || pwrite(fd, &v, sizeof(v), (off_t)(unsigned long)&target) != sizeof(v))
			ret = fail();
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(how, "vm")) {
		struct iovec local = { .iov_base = &v, .iov_len = sizeof(v) };
		struct iovec remote = { .iov_base = (void *)&target, .iov_len = sizeof(v) };

		if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != sizeof(v))
			ret = fail();
	} else {
		ret = 2;
	}
	return ret;
}

/* Reports how a victim ended: victim=<exit status>, victim=killed or victim=stopped. */
static void report_victim(pid_t pid, int st)
{
	if (WIFSTOPPED(st)) {
		printf("victim=stopped\n");
		fflush(stdout);
		kill(pid, SIGCONT);
	} else if (WIFSIGNALED(st)) {
		printf("victim=killed\n");
	} else {
		printf("victim=%d\n", WEXITSTATUS(st));
	}
	fflush(stdout);
}

/*
 * PTRACE_TRACEME, then exec of this program as "inject victim": the parent,
 * its tracer, writes 2 into the new image's target at the exec stop. 0 if
 * that worked, 1 if refused; 128+N if the child died of signal N.
 */
static int traceme(char *self)
{
	char *argv[] = { self, "inject", "victim", NULL };
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail();
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL)) {
			printf("errno=%s\n", strerrorname_np(errno));
			_exit(1);
		}
		execv(self, argv);
		_exit(3);
	}
	if (waitpid(pid, &st, 0) != pid)
		return fail();
	if (WIFSTOPPED(st)) {
		unsigned long at = (unsigned long)&target - exe_base(getpid()) + exe_base(pid);

		if (ptrace(PTRACE_POKEDATA, pid, (void *)at, (void *)2L))
			fail();
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		waitpid(pid, &st, 0);
	}
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	report_victim(pid, st);
	return WIFEXITED(st) && WEXITSTATUS(st) == 2 ? 0 : 1;
}

/*
 * A child (the victim) that waits until its parent is done or gone, then
 * exits with target; the parent writes into it one way (selfmem: into
 * itself, no child; victim: just exit with target). The attack runs in a process of
 * its own under this one, a child subreaper, so that when the kill tier
 * kills the attacker its orphaned victim is still reaped and reported here.
 * Exits as the attacker did (128+N for signal N).
 */
static int inject(const char *how, char *self)
{
	int pipefd[2], st, ret;
	pid_t pid, attacker;
	char c;

	if (!strcmp(how, "victim"))
		return target;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return fail();
	fflush(stdout);
	attacker = fork();
	if (attacker < 0)
		return fail();
	if (attacker == 0) {
		if (!strcmp(how, "traceme"))
			ret = traceme(self);
		else if (!strcmp(how, "selfmem"))
			ret = selfmem();
		else
			ret = -1;
		if (ret >= 0) {
			fflush(stdout);
			_exit(ret);
		}
		if (pipe(pipefd))
			_exit(fail());
		pid = fork();
		if (pid < 0)
			_exit(fail());
		if (pid == 0) {
			close(pipefd[1]);
			if (read(pipefd[0], &c, 1) < 0)
				_exit(3);
			_exit(target);
		}
		close(pipefd[0]);
		ret = attack(how, pid);
		close(pipefd[1]);
		if (waitpid(pid, &st, 0) == pid)
			report_victim(pid, st);
		fflush(stdout);
		_exit(ret);
	}
	if (waitpid(attacker, &st, 0) != attacker)
		return fail();
	ret = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	/* A victim orphaned by a killed attacker; a stopped one is continued. */
	for (;;) {
		int vst;

		pid = waitpid(-1, &vst, WUNTRACED);
		if (pid < 0)
			break;
		report_victim(pid, vst);
	}
	return ret;
}

/*
 * The tracee's registers, and the one instruction that makes a syscall,
 * planted at its pc: x86-64 "syscall" (0f 05), arm64 "svc #0" (d4000001).
 * Elsewhere the attack is not written (traced_unlink says ENOSYS).
 */
#if defined(__x86_64__)
#define TRACE_REGS 1
typedef struct user_regs_struct tregs;
static int tregs_get(pid_t pid, tregs *r)
{
	return ptrace(PTRACE_GETREGS, pid, NULL, r);
}
static int tregs_set(pid_t pid, tregs *r)
{
	return ptrace(PTRACE_SETREGS, pid, NULL, r);
}
#define TREG_SP(r) ((r).rsp)
#define TREG_PC(r) ((r).rip)
#define TREG_RET(r) ((long)(r).rax)
#define SYSCALL_INSN 0x050ful
#define SYSCALL_MASK 0xfffful
static void tregs_unlink(tregs *r, unsigned long path)
{
	r->rax = SYS_unlink;
	r->orig_rax = -1; /* not inside a syscall: no restart */
	r->rdi = path;
}
#elif defined(__aarch64__)
#define TRACE_REGS 1
typedef struct user_regs_struct tregs; /* glibc's: regs[31], sp, pc, pstate */
static int tregs_io(pid_t pid, tregs *r, int req)
{
	struct iovec v = { r, sizeof(*r) };

	return ptrace(req, pid, (void *)NT_PRSTATUS, &v);
}
static int tregs_get(pid_t pid, tregs *r)
{
	return tregs_io(pid, r, PTRACE_GETREGSET);
}
static int tregs_set(pid_t pid, tregs *r)
{
	return tregs_io(pid, r, PTRACE_SETREGSET);
}
#define TREG_SP(r) ((r).sp)
#define TREG_PC(r) ((r).pc)
#define TREG_RET(r) ((long)(r).regs[0])
#define SYSCALL_INSN 0xd4000001ul
#define SYSCALL_MASK 0xfffffffful
static void tregs_unlink(tregs *r, unsigned long path)
{
	/* arm64 has no unlink(2) */
	r->regs[8] = SYS_unlinkat;
	r->regs[0] = (unsigned long)AT_FDCWD;
	r->regs[1] = path;
	r->regs[2] = 0;
}
#endif

/*
 * The attack: a traced process running the daemon's binary, whose
 * tracer makes it unlink a pin. The tracer writes the syscall instruction at
 * the stopped child's instruction pointer and sets the registers for
 * unlink(PATH).
 */
static int traced_unlink(const char *bin, const char *path)
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return fail();
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL)) {
			printf("traceme errno=%s\n", strerrorname_np(errno));
			fflush(stdout);
			_exit(1);
		}
		execl(bin, bin, "--version", (char *)NULL);
		printf("exec errno=%s\n", strerrorname_np(errno));
		fflush(stdout);
		_exit(1);
	}
	if (waitpid(pid, &st, 0) != pid || WIFEXITED(st))
		return WIFEXITED(st) ? WEXITSTATUS(st) : fail();
#ifdef TRACE_REGS
	tregs r, call;
	size_t n = strlen(path) + 1;
	unsigned long addr, text;
	long ret;

	if (tregs_get(pid, &r))
		return fail();
	addr = (TREG_SP(r) - 1024) & ~7ul;
	for (size_t i = 0; i < n; i += sizeof(long)) {
		long w = 0;

		memcpy(&w, path + i, n - i < sizeof(long) ? n - i : sizeof(long));
		if (ptrace(PTRACE_POKEDATA, pid, (void *)(addr + i), (void *)w))
			return fail();
	}
	errno = 0;
	text = (unsigned long)ptrace(PTRACE_PEEKTEXT, pid, (void *)TREG_PC(r), NULL);
	if (errno || ptrace(PTRACE_POKETEXT, pid, (void *)TREG_PC(r),
			    (void *)((text & ~SYSCALL_MASK) | SYSCALL_INSN)))
		return fail();
	call = r;
	tregs_unlink(&call, addr);
	if (tregs_set(pid, &call) || ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL))
		return fail();
	waitpid(pid, &st, 0);
	if (tregs_get(pid, &call))
		return fail();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ret = TREG_RET(call);
	if (ret < 0) {
		printf("errno=%s\n", strerrorname_np((int)-ret));
		return 1;
	}
	return 0;
#else
	(void)path;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("errno=ENOSYS\n");
	return 2;
#endif
}

/* Kernel code from a file or from memory (tests/vm/kload.bats). */
static int kload(const char *how, const char *file)
{
	struct stat st;
	void *buf;
	int fd;

	if (!strcmp(how, "kexec"))
		return syscall(SYS_kexec_load, 0UL, 0UL, NULL, (unsigned long)KEXEC_ARCH_DEFAULT) ?
			       fail() :
			       0;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail();
	if (!strcmp(how, "finit"))
		return syscall(SYS_finit_module, fd, "", 0) ? fail() : 0;
#ifdef SYS_kexec_file_load
	if (!strcmp(how, "kexec-file")) {
		if (syscall(SYS_kexec_file_load, fd, -1, 1UL, "",
			    (unsigned long)KEXEC_FILE_NO_INITRAMFS))
			return fail();
		return syscall(SYS_kexec_file_load, -1, -1, 0UL, NULL,
			       (unsigned long)KEXEC_FILE_UNLOAD) ?
			       fail() :
			       0;
	}
#endif
	if (fstat(fd, &st))
		return fail();
	buf = malloc(st.st_size);
	if (!buf || read(fd, buf, st.st_size) != st.st_size)
		return fail();
	return syscall(SYS_init_module, buf, (unsigned long)st.st_size, "") ? fail() : 0;
}

/* One IORING_OP_OPENAT through a fresh ring: the descriptor, or -errno. */
static int uring_openat(const char *path, int flags)
{
	struct io_uring_params p;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned int *tail, *head;
	size_t sz;
	void *sq;
	int ring;

	memset(&p, 0, sizeof(p));
	ring = syscall(__NR_io_uring_setup, 1, &p);
	if (ring < 0)
		return -errno;
	sz = p.sq_off.array + p.sq_entries * sizeof(__u32);
	if (sz < p.cq_off.cqes + p.cq_entries * sizeof(*cqe))
		sz = p.cq_off.cqes + p.cq_entries * sizeof(*cqe);
	if (!(p.features & IORING_FEAT_SINGLE_MMAP))
		return -ENOSYS; /* every kernel since 5.4 has it */
	sq = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
		  IORING_OFF_SQ_RING);
	sqe = mmap(NULL, p.sq_entries * sizeof(*sqe), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || sqe == MAP_FAILED)
		return -errno;
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_OPENAT;
	sqe->fd = AT_FDCWD;
	sqe->addr = (unsigned long)path;
	sqe->open_flags = flags | O_CLOEXEC;
	tail = (unsigned int *)((char *)sq + p.sq_off.tail);
	((unsigned int *)((char *)sq +
			  p.sq_off.array))[*tail &
					   *(unsigned int *)((char *)sq + p.sq_off.ring_mask)] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -errno;
	head = (unsigned int *)((char *)sq + p.cq_off.head);
	cqe = (struct io_uring_cqe *)((char *)sq + p.cq_off.cqes) +
	      (__atomic_load_n(head, __ATOMIC_ACQUIRE) &
	       *(unsigned int *)((char *)sq + p.cq_off.ring_mask));
	return cqe->res;
}

static int uring_open(const char *path, const char *how)
{
	char *args[] = { (char *)path, NULL };
	int fd = uring_openat(path, *how == 'w' ? O_WRONLY | O_APPEND : O_RDONLY);

	if (fd < 0) {
		printf("errno=%s\n", strerrorname_np(-fd));
		return 1;
	}
	if (*how == 'x') {
		execveat(fd, "", args, environ, AT_EMPTY_PATH);
		return fail();
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *args[] = { argv[argc > 3 ? 3 : 2], argc > 3 ? argv[3] : NULL, NULL };
	char buf[64];
	int fd, src;

	if (argc < 3) {
		fprintf(stderr, "usage: see the comment in tests/helpers/exectool.c\n");
		return 2;
	}
	if (!strcmp(argv[1], "mprotect"))
		return map(argv[2], true);
	if (!strcmp(argv[1], "mmap"))
		return map(argv[2], false);
	if (!strcmp(argv[1], "mapwait"))
		return mapwait(argv[2]);
	if (!strcmp(argv[1], "mmapw"))
		return mmapw(atoi(argv[2]));
	if (!strcmp(argv[1], "ptrace"))
		return ptrace(PTRACE_SEIZE, atoi(argv[2]), NULL, NULL) ? fail() : 0;
	if (!strcmp(argv[1], "as") && argc > 3) {
		/* numeric ids: no NSS module is loaded (the kill tier would kill for it) */
		uid_t id = atoi(argv[2]);

		if (setgroups(0, NULL) || setresgid(id, id, id) || setresuid(id, id, id))
			return fail();
		execv(argv[3], argv + 3);
		return fail();
	}
	if (!strcmp(argv[1], "kill"))
		return argc < 4 || kill(atoi(argv[2]), atoi(argv[3])) ? fail() : 0;
	if (!strcmp(argv[1], "unlink"))
		return unlink(argv[2]) ? fail() : 0;
	if (!strcmp(argv[1], "objget")) {
		union bpf_attr attr;

		memset(&attr, 0, sizeof(attr));
		attr.pathname = (__u64)(unsigned long)argv[2];
		return syscall(__NR_bpf, BPF_OBJ_GET, &attr, sizeof(attr)) < 0 ? fail() : 0;
	}
	if (!strcmp(argv[1], "linkfd")) {
		union bpf_attr attr;
		int lfd;

		memset(&attr, 0, sizeof(attr));
		attr.link_id = atoi(argv[2]);
		lfd = syscall(__NR_bpf, BPF_LINK_GET_FD_BY_ID, &attr, sizeof(attr));
		return lfd < 0 ? fail() : 0;
	}
	if (!strcmp(argv[1], "rename"))
		return argc < 4 || rename(argv[2], argv[3]) ? fail() : 0;
	if (!strcmp(argv[1], "link"))
		return argc < 4 || link(argv[2], argv[3]) ? fail() : 0;
	if (!strcmp(argv[1], "traced-unlink"))
		return argc < 4 ? 2 : traced_unlink(argv[2], argv[3]);
	if (!strcmp(argv[1], "exe-file")) {
		fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			return fail();
		return prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, fd, 0, 0) ? fail() : 0;
	}
	if (!strcmp(argv[1], "wx"))
		return wx(argv[2], argc > 3 ? argv[3] : NULL);
	if (!strcmp(argv[1], "rxrwrx"))
		return rxrwrx(argv[2]);
	if (!strcmp(argv[1], "inject"))
		return inject(argv[2], argv[0]);
	if (!strcmp(argv[1], "uring-open"))
		return argc < 4 ? 2 : uring_open(argv[2], argv[3]);
	if (!strcmp(argv[1], "kload"))
		return argc < 4 ? 2 : kload(argv[2], argv[3]);
	if (!strcmp(argv[1], "writefd"))
		return write(atoi(argv[2]), "x", 1) == 1 ? 0 : fail();
	if (!strcmp(argv[1], "memfd")) {
		struct stat st;

		if (argc < 4)
			return 2;
		fd = memfd_create(argv[2], MFD_CLOEXEC | MFD_ALLOW_SEALING);
		src = open(argv[3], O_RDONLY);
		if (fd < 0 || src < 0 || fstat(src, &st))
			return fail();
		if (sendfile(fd, src, NULL, st.st_size) != st.st_size)
			return fail();
		if (argc > 4 && !strcmp(argv[4], "seal") && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE))
			return fail();
		args[0] = argv[2];
		args[1] = NULL;
		fexecve(fd, args, environ);
		return fail();
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		return fail();
	args[0] = argv[2];
	args[1] = argc > 3 ? argv[3] : NULL;
	if (!strcmp(argv[1], "fdexec")) {
		execveat(fd, "", args, environ, AT_EMPTY_PATH);
		return fail();
	}
	if (!strcmp(argv[1], "procfd")) {
		snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
		execve(buf, args, environ);
		return fail();
	}
	return 2;
}
