/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TPM 2.0 access for the measurement log (issue #17): read SHA-256 PCRs and
 * extend one, through tpm2-tss (libtss2-esys with the "device" TCTI of
 * libtss2-tctildr).
 *
 * Like libcrypto (crypto.h) the libraries are loaded with dlopen(), and only
 * when IG_TPM_DEVICE exists: a device without a TPM never maps them, and
 * the packages need not be installed there. Every call runs in a
 * short-lived child (isolate.h), so the long-lived daemon does not keep
 * tpm2-tss's pages either. Built without the tss2 headers (make TPM=0), the
 * same API reports every TPM as absent.
 *
 * Only the SHA-256 bank is used: the log's template hashes are SHA-256
 * (measlog.h), and a TPM without that bank is treated as absent.
 */
#ifndef IG_TPM_H
#define IG_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hash.h"

/* The kernel's resource manager: several users (iotgated, tpm2-tools, a
 * Keylime agent) may talk to the TPM at once. */
#define IG_TPM_DEVICE "/dev/tpmrm0"
/* IMA's runtime measurement count: more than its boot_aggregate means an
 * IMA policy measures into PCR 10 (CONFIG_IMA_MEASURE_PCR_IDX). */
#define IG_TPM_IMA_COUNT "/sys/kernel/security/ima/runtime_measurements_count"
#define IG_TPM_IMA_LIST "/sys/kernel/security/ima/ascii_runtime_measurements"
#define IG_TPM_PCR 10 /* when the kernel's IMA measures nothing */
#define IG_TPM_PCR_IMA 11 /* when it does */
#define IG_TPM_WHY 256

/* Does IG_TPM_DEVICE exist (and was iotgate built with tpm2-tss)? */
bool ig_tpm_present(void);
/*
 * The PCR iotgate extends (needs the boot_aggregate digest):
 * - no IMA in the kernel (no IG_TPM_IMA_COUNT): IG_TPM_PCR (10);
 * - IMA with its boot_aggregate only (no IMA policy measures): 10 if that
 *   record is exactly the one iotgate writes (the kernel's template is
 *   ima-ng and its hash sha256: the kernel's list and iotgate's begin alike
 *   and continue as one in PCR 10, what Keylime attests), else
 *   IG_TPM_PCR_IMA (11: another template, e.g. Debian's ima-sig);
 * - IMA measuring (count > 1): IG_TPM_PCR_IMA.
 * Returns the PCR or negative errno (why filled).
 */
int ig_tpm_choose_pcr(const uint8_t boot_aggregate[IG_SHA256_LEN], char *why);
/*
 * Reads SHA-256 PCRs first .. first + n - 1 (n <= 16) into out. 0 or
 * negative errno with why (IG_TPM_WHY bytes) filled.
 */
int ig_tpm_pcr_read(unsigned int first, unsigned int n, uint8_t out[][IG_SHA256_LEN], char *why);
/*
 * Extends the SHA-256 bank of PCR pcr with each of the n digests, in order;
 * *done says how many were (also on failure).
 */
int ig_tpm_extend(unsigned int pcr, const uint8_t (*digests)[IG_SHA256_LEN], size_t n, size_t *done,
		  char *why);
/*
 * IMA's boot_aggregate for the SHA-256 bank (ima_crypto.c
 * ima_calc_boot_aggregate): SHA-256(PCR0 || PCR1 || ... || PCR9), PCRs 8
 * and 9 being included for every bank but SHA-1.
 */
int ig_tpm_boot_aggregate(uint8_t out[IG_SHA256_LEN], char *why);

#endif
