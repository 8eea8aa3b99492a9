// SPDX-License-Identifier: GPL-2.0-only
/* Pins, re-use and the LSM probe every loader shares (see bpfobj.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfobj.h"
#include "iotgate.h"

static int pin_one(struct ig_bpf_pins *p, struct bpf_map *map)
{
	char path[256];

	if (p->n == IG_BPF_MAX_MAPS)
		return -E2BIG;
	snprintf(path, sizeof(path), "%s/%s", IG_PIN_DIR, bpf_map__name(map));
	if (bpf_map__set_pin_path(map, path))
		return -ENOMEM;
	p->m[p->n].map = map;
	p->m[p->n].reused = access(path, F_OK) == 0;
	p->n++;
	return 0;
}

int ig_bpf_pin_maps(struct ig_bpf_pins *p, struct bpf_object *obj, const char *const *names,
		    size_t nnames)
{
	struct bpf_map *map;
	int ret;

	p->n = 0;
	if (names) {
		for (size_t i = 0; i < nnames; i++) {
			map = bpf_object__find_map_by_name(obj, names[i]);
			if (!map)
				return -ENOENT;
			ret = pin_one(p, map);
			if (ret)
				return ret;
		}
		return 0;
	}
	bpf_object__for_each_map(map, obj)
	{
		if (strchr(bpf_map__name(map), '.'))
			continue;
		ret = pin_one(p, map);
		if (ret)
			return ret;
	}
	return 0;
}

void ig_bpf_unpin_new(const struct ig_bpf_pins *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (!p->m[i].reused && bpf_map__is_pinned(p->m[i].map))
			bpf_map__unpin(p->m[i].map, NULL);
}

int ig_bpf_pin_link(struct bpf_link *link, const char *pin)
{
	int ret = bpf_link__pin(link, pin);

	if (ret)
		bpf_link__destroy(link);
	return ret;
}

int ig_bpf_unpin_link(const char *pin)
{
	int fd = bpf_obj_get(pin), ret = 0;

	/*
	 * From 6.5 on, the last reference dropped through a pin frees the link
	 * from a kworker, so the program could still refuse execs after
	 * stop-enforcing returned. Holding a descriptor across the unlink makes
	 * its close the last reference, which detaches before close() returns.
	 */
	if (unlink(pin) && errno != ENOENT)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	return ret;
}

bool ig_lsm_list_has_bpf(const char *list)
{
	size_t n = strlen(list);

	for (const char *p = list; p < list + n;) {
		size_t l = strcspn(p, ",\n\" ");

		if (l == 3 && !strncmp(p, "bpf", 3))
			return true;
		p += l + 1;
	}
	return false;
}

bool ig_bpf_lsm_active(void)
{
	char buf[512];
	ssize_t n;
	int fd;

	fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return ig_lsm_list_has_bpf(buf);
}

void ig_bpf_release_image(const void *p, size_t sz)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	uintptr_t e = ((uintptr_t)p + sz) & ~(pg - 1);

	/* Whole pages inside the object only: what shares its edges stays. */
	if (p && e > a)
		madvise((void *)a, e - a, MADV_DONTNEED);
}
