/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every loader does with its BPF object, once: pin its shared maps
 * under IG_PIN_DIR (re-using the pins an earlier daemon left, so enforcement
 * and its state survive a restart), remove only the pins a failed load made,
 * pin a link as soon as it is attached (the pin owns it from then on),
 * unpin it so that it is detached on return, and tell whether BPF LSM is
 * active.
 */
#ifndef IG_BPFOBJ_H
#define IG_BPFOBJ_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;
struct bpf_map;
struct bpf_link;

/* More than any of our objects has, .rodata and .bss included. */
#define IG_BPF_MAX_MAPS 40

struct ig_bpf_pins {
	size_t n;
	struct {
		struct bpf_map *map;
		bool reused; /* pinned before this load: never removed by it */
	} m[IG_BPF_MAX_MAPS];
};

/*
 * Between open and load: IG_PIN_DIR/NAME becomes the pin path of each map
 * in names, or, names NULL, of every map but the object's own sections
 * (.rodata and .bss are per load and frozen). libbpf re-uses a pin that
 * exists and pins a new map at load. -ENOENT: a name the object lacks.
 */
int ig_bpf_pin_maps(struct ig_bpf_pins *p, struct bpf_object *obj, const char *const *names,
		    size_t nnames);
/* After a failed load or attach: removes the pins this load made. */
void ig_bpf_unpin_new(const struct ig_bpf_pins *p);

/*
 * After a load: the pages of the embedded object (a skeleton's elf_bytes)
 * leave the resident set. They are read-only file pages, clean: a later
 * open reads them again.
 */
void ig_bpf_release_image(const void *p, size_t sz);
/* The same for skeleton NAME (ig_exec...), in the file that includes its header. */
#define ig_bpf_release_skel(NAME)                           \
	do {                                                \
		size_t sz_;                                 \
		const void *img_ = NAME##__elf_bytes(&sz_); \
		ig_bpf_release_image(img_, sz_);            \
	} while (0)
/* Pins a link just attached; on failure the link is destroyed (detached). */
int ig_bpf_pin_link(struct bpf_link *link, const char *pin);
/*
 * Removes a link's pin so that the link is detached when this returns (0 or
 * negative errno); a missing pin is not an error.
 */
int ig_bpf_unpin_link(const char *pin);
/* "bpf" is an entry of a comma-separated LSM list (CONFIG_LSM, /sys/kernel/security/lsm). */
bool ig_lsm_list_has_bpf(const char *list);
/* The running kernel lists "bpf" in /sys/kernel/security/lsm. */
bool ig_bpf_lsm_active(void);

#endif
