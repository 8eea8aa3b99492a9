// SPDX-License-Identifier: GPL-2.0-only
/* Diagnostics for a reply: where and what is wrong, never the input's text. */
#include "diag.h"
#include "policy.h"
#include "test.h"

TEST(diag_redacted_leaves_the_text_out)
{
	struct ig_policy p;
	struct ig_diag d;
	static const char shadow[] = "root:$y$j9T$secret:19000:0:99999:7:::\nmode x\n";

	ig_diag_init(&d);
	d.redact = true;
	CHECK(ig_policy_parse("/etc/shadow", shadow, strlen(shadow), "/etc", &p, &d) < 0);
	CHECK(d.n >= 2);
	CHECK_STR(d.msgs[0], "/etc/shadow:1:1: unknown directive '...'");
	CHECK_STR(d.msgs[1], "/etc/shadow:2:6: unknown mode '...' (expected 'enforce' or 'audit')");
	for (size_t i = 0; i < d.n; i++)
		CHECK(!strstr(d.msgs[i], "secret") && !strstr(d.msgs[i], "root"));
	ig_diag_free(&d);
	/* kept: what is not the input's text ('%-s', unquoted), numbers, whole-file messages */
	ig_diag_init(&d);
	d.redact = true;
	ig_diag_add(&d, "f", 3, 2, "unexpected '%s': usage is '%-s' (%u)", "secret", "x N", 7u);
	ig_diag_add(&d, "f", 0, 0, "cannot read: '%s'", "No such file");
	ig_diag_add(&d, "f", 1, 1, "width '%*s'", 3, "secret");
	ig_diag_add(&d, "f", 2, 1, "%s rule: '%.1s' %%s", "deny", "secret");
	CHECK_STR(d.msgs[0], "f:3:2: unexpected '...': usage is 'x N' (7)");
	CHECK_STR(d.msgs[1], "f: cannot read: 'No such file'");
	CHECK_STR(d.msgs[2], "f:1:1: invalid input");
	CHECK_STR(d.msgs[3], "f:2:1: deny rule: '...' %s");
	ig_diag_free(&d);
	/* not redacted: the same messages as ever */
	ig_diag_init(&d);
	CHECK(ig_policy_parse("/etc/shadow", shadow, strlen(shadow), "/etc", &p, &d) < 0);
	CHECK_STR(d.msgs[0],
		  "/etc/shadow:1:1: unknown directive 'root:$y$j9T$secret:19000:0:99999:7:::'");
	ig_diag_free(&d);
}
