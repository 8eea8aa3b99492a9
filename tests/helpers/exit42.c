// SPDX-License-Identifier: GPL-2.0-only
/* exit42: a program of its own content for the VM suites: it exits 42 (what an attacker runs). */
int main(void)
{
	return 42;
}
