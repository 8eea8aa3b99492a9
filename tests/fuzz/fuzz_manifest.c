// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: manifests (sha256sum format, optional version header). */
#include "fuzz.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_dup(data, size);
	struct ig_manifest m;
	struct ig_diag d;

	ig_diag_init(&d);
	if (ig_manifest_parse("fuzz.sha256", buf, size, &m, &d) == 0) {
		for (size_t i = 0; i < m.n; i++)
			if (m.e[i].path[0] != '/')
				abort(); /* the parser promises absolute paths */
		ig_manifest_free(&m);
	} else {
		free(ig_diag_join(&d));
	}
	ig_diag_free(&d);
	free(buf);
	return 0;
}
