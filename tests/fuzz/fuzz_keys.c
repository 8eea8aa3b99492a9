// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: trusted keys and detached signatures. Parts of the input
 * (FUZZ_SEP): a public key file, a signature file, the signed data. The key
 * is parsed by libcrypto (loaded with dlopen(), not instrumented): what is
 * fuzzed is iotgate's reading of the files and its use of the results.
 */
#include "fuzz.h"
#include "sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_part part[3];
	struct ig_keyring *kr = NULL;
	char key[128], sig[128], *files[1] = { key };
	char keyid[IG_KEYID_LEN + 1];
	struct ig_diag d;

	fuzz_split(data, size, part, 3);
	fuzz_write(fuzz_path(key, sizeof(key), "key.pem"), part[0].p, part[0].len);
	fuzz_write(fuzz_path(sig, sizeof(sig), "data.sig"), part[1].present ? part[1].p : NULL,
		   part[1].len);
	ig_diag_init(&d);
	if (ig_keyring_load(&kr, NULL, files, 1, &d) == 0) {
		char *buf = fuzz_dup(part[2].p, part[2].len);
		int ret = ig_sig_verify(kr, buf, part[2].len, sig, keyid);

		if (!ret && strlen(keyid) != IG_KEYID_LEN)
			abort();
		ig_sig_strerror(ret);
		free(buf);
		ig_keyring_free(kr);
	}
	free(ig_diag_join(&d));
	ig_diag_free(&d);
	return 0;
}
