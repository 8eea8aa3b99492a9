// SPDX-License-Identifier: GPL-2.0-only
/* The LSM list every loader and check-kernel read the same way. */
#include "bpfobj.h"
#include "test.h"

TEST(lsm_list_has_bpf)
{
	CHECK(ig_lsm_list_has_bpf("lockdown,capability,landlock,yama,apparmor,bpf"));
	CHECK(ig_lsm_list_has_bpf("bpf"));
	CHECK(ig_lsm_list_has_bpf("capability,bpf,selinux\n"));
	/* CONFIG_LSM as the kernel's config quotes it */
	CHECK(ig_lsm_list_has_bpf("\"landlock,lockdown,yama,bpf\""));
	CHECK(!ig_lsm_list_has_bpf("lockdown,capability,landlock,yama,apparmor"));
	CHECK(!ig_lsm_list_has_bpf("bpfx,xbpf,bp"));
	CHECK(!ig_lsm_list_has_bpf(""));
}
