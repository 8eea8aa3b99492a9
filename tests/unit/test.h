/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal unit-test framework: TEST(name) { ... CHECK(cond); ... } in any
 * tests/unit/ C file registers itself; build/unit-tests runs them all and
 * ends with the line "N passed, N failed".
 */
#ifndef IG_TEST_H
#define IG_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void ig_test_register(const char *name, void (*fn)(void));
void ig_test_fail(const char *file, int line, const char *what);
/* Directory of test fixtures (first argument of unit-tests). */
const char *ig_test_data(void);
/* Writes a temporary file with the given contents; returns its path (static buffer per call). */
const char *ig_test_tmpfile(const char *name, const char *contents);

#define TEST(name)                                                     \
	static void name(void);                                        \
	__attribute__((constructor)) static void register_##name(void) \
	{                                                              \
		ig_test_register(#name, name);                         \
	}                                                              \
	static void name(void)

#define CHECK(cond)                                              \
	do {                                                     \
		if (!(cond))                                     \
			ig_test_fail(__FILE__, __LINE__, #cond); \
	} while (0)

#define CHECK_STR(a, b)                                                                 \
	do {                                                                            \
		const char *a_ = (a), *b_ = (b);                                        \
		if (!a_ || !b_ || strcmp(a_, b_)) {                                     \
			char m_[1024];                                                  \
			snprintf(m_, sizeof(m_), "%s == %s (\"%s\" vs \"%s\")", #a, #b, \
				 a_ ? a_ : "(null)", b_ ? b_ : "(null)");               \
			ig_test_fail(__FILE__, __LINE__, m_);                           \
		}                                                                       \
	} while (0)

#endif
