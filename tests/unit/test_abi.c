// SPDX-License-Identifier: GPL-2.0-only
/*
 * The structs shared with the BPF programs must have the layout the BPF
 * compiler gave them, whatever the userspace target (x86-64, aarch64, 32-bit
 * ARM): scripts/cross-test runs this test on all three. The BPF side is read
 * from the BTF of the object embedded in the exec skeleton, so this compares
 * two compilers' output rather than numbers written down by hand.
 */
#include <stddef.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "iotgate.h" /* before the skeleton: it names our structs */
#include "exec.skel.h"
#include "test.h"

struct abi_member {
	const char *name;
	size_t offset;
	size_t size;
};

/* clang-format off */
#define MEMBER(type, m) { #m, offsetof(struct type, m), sizeof(((struct type *)0)->m) }
/* clang-format on */

static const struct abi_member file_key[] = { MEMBER(ig_file_key, dev),
					      MEMBER(ig_file_key, ino),
					      {} };
static const struct abi_member file_val[] = { MEMBER(ig_file_val, digest),
					      MEMBER(ig_file_val, ctime_sec),
					      MEMBER(ig_file_val, ctime_nsec),
					      MEMBER(ig_file_val, flags),
					      {} };
static const struct abi_member config[] = { MEMBER(ig_config, mode),
					    MEMBER(ig_config, generation),
					    MEMBER(ig_config, abi_version),
					    MEMBER(ig_config, slot),
					    {} };

static const struct {
	const char *name;
	size_t size;
	const struct abi_member *members;
} abi_structs[] = {
	{ "ig_file_key", sizeof(struct ig_file_key), file_key },
	{ "ig_file_val", sizeof(struct ig_file_val), file_val },
	{ "ig_config", sizeof(struct ig_config), config },
};

static struct bpf_object *open_exec_object(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "ig_exec");
	const void *elf;
	size_t sz;

	elf = ig_exec__elf_bytes(&sz);
	return bpf_object__open_mem(elf, sz, &opts);
}

/* Offset in bytes of member `name` of BTF struct t, or -1. */
static long btf_member_offset(const struct btf *btf, const struct btf_type *t, const char *name,
			      __u32 *type_id)
{
	const struct btf_member *m = btf_members(t);

	for (unsigned int i = 0; i < btf_vlen(t); i++, m++) {
		if (strcmp(btf__name_by_offset(btf, m->name_off), name))
			continue;
		*type_id = m->type;
		return btf_member_bit_offset(t, i) / 8;
	}
	return -1;
}

TEST(abi_layout_matches_bpf_btf)
{
	struct bpf_object *obj = open_exec_object();
	const struct btf *btf;
	char msg[256];

	CHECK(obj != NULL);
	if (!obj)
		return;
	btf = bpf_object__btf(obj);
	CHECK(btf != NULL);
	for (size_t i = 0; btf && i < sizeof(abi_structs) / sizeof(abi_structs[0]); i++) {
		int id = btf__find_by_name_kind(btf, abi_structs[i].name, BTF_KIND_STRUCT);
		const struct btf_type *t;

		if (id < 0) {
			snprintf(msg, sizeof(msg), "struct %s is not in exec.bpf.o's BTF",
				 abi_structs[i].name);
			ig_test_fail(__FILE__, __LINE__, msg);
			continue;
		}
		t = btf__type_by_id(btf, id);
		if (t->size != abi_structs[i].size) {
			snprintf(msg, sizeof(msg), "sizeof(struct %s): %zu here, %u in BPF",
				 abi_structs[i].name, abi_structs[i].size, t->size);
			ig_test_fail(__FILE__, __LINE__, msg);
		}
		for (const struct abi_member *m = abi_structs[i].members; m->name; m++) {
			__u32 type_id = 0;
			long off = btf_member_offset(btf, t, m->name, &type_id);
			__s64 msize = off < 0 ? -1 : btf__resolve_size(btf, type_id);

			if (off != (long)m->offset || msize != (__s64)m->size) {
				snprintf(
					msg, sizeof(msg),
					"struct %s.%s: offset %zu size %zu here, offset %ld size %lld in BPF",
					abi_structs[i].name, m->name, m->offset, m->size, off,
					(long long)msize);
				ig_test_fail(__FILE__, __LINE__, msg);
			}
		}
	}
	bpf_object__close(obj);
}
