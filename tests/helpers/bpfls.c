// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpfls: the BPF programs and links the kernel holds, one line each, for the
 * suites that check what the daemon attached without bpftool (which
 * meta-oe does not build for 32-bit ARM, where the ptest suites run too).
 *
 *   bpfls progs   "prog ID NAME TYPE"      (TYPE: libbpf's name, e.g. tracing)
 *   bpfls links   "link ID TYPE PROG_ID [TP_NAME]"  (tracepoint name of a
 *                 raw tracepoint or tp_btf link)
 *
 * Exit status 0, or 1 with one line on stderr ("bpfls: ...").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static int list_progs(void)
{
	__u32 id = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		const char *type;
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* freed meanwhile */
			return -errno;
		}
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd);
			return -errno;
		}
		close(fd);
		type = libbpf_bpf_prog_type_str(info.type);
		printf("prog %u %s %s\n", id, info.name, type ? type : "unknown");
	}
	return errno == ENOENT ? 0 : -errno;
}

static int list_links(void)
{
	__u32 id = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info info;
		__u32 len = sizeof(info);
		char tp[128] = "";
		const char *type;
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		memset(&info, 0, sizeof(info));
		info.raw_tracepoint.tp_name = (__u64)(unsigned long)tp;
		info.raw_tracepoint.tp_name_len = sizeof(tp);
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd);
			return -errno;
		}
		close(fd);
		type = libbpf_bpf_link_type_str(info.type);
		printf("link %u %s %u%s%s\n", id, type ? type : "unknown", info.prog_id,
		       info.type == BPF_LINK_TYPE_RAW_TRACEPOINT ? " " : "",
		       info.type == BPF_LINK_TYPE_RAW_TRACEPOINT ? tp : "");
	}
	return errno == ENOENT ? 0 : -errno;
}

int main(int argc, char **argv)
{
	int ret;

	if (argc != 2 || (strcmp(argv[1], "progs") && strcmp(argv[1], "links"))) {
		fprintf(stderr, "usage: bpfls progs|links\n");
		return 2;
	}
	ret = strcmp(argv[1], "progs") ? list_links() : list_progs();
	if (ret) {
		fprintf(stderr, "bpfls: cannot list the kernel's BPF %s: %s\n", argv[1],
			strerror(-ret));
		return 1;
	}
	return 0;
}
