// SPDX-License-Identifier: GPL-2.0-only
/* Placeholder until the kernel readiness check lands (issue 6); replaced by its implementation. */
#include "ctl.h"

int ctl_check_kernel(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return fail("check-kernel: not available in this build");
}
