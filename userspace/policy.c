// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "iotgate.h"
#include "lex.h"
#include "manifest.h"
#include "policy.h"

#define POLICY_MAX_BYTES (1u << 20)

enum {
	SEEN_VERSION,
	SEEN_MODE,
	SEEN_MANIFEST,
	SEEN_PROTECT,
	SEEN_UNSIGNED,
	SEEN_SELF,
	SEEN_ID,
	SEEN_LOCK,
	SEEN_HASH_LIMITS,
	SEEN_N
};

struct pstate {
	const char *name;
	const char *basedir;
	struct ig_policy *p;
	struct ig_diag *d;
	unsigned int seen_line[SEEN_N];
};

#define MEMFD_NAME_MAX 63 /* IG_MEMFD_NAME_LEN - 1; memfd_create allows 249 */

const char *ig_mode_name(unsigned int mode)
{
	return mode == IG_MODE_ENFORCE ? "enforce" : "audit";
}

static bool once(struct pstate *st, int which, unsigned int line, const struct ig_tok *t)
{
	if (st->seen_line[which]) {
		ig_diag_add(st->d, st->name, line, t->col, "'%-s' given again (first on line %u)",
			    t->s, st->seen_line[which]);
		return false;
	}
	st->seen_line[which] = line;
	return true;
}

static bool nargs(struct pstate *st, unsigned int line, const struct ig_line *l, unsigned int n,
		  const char *usage)
{
	if (l->ntok == n + 1)
		return true;
	if (l->ntok < n + 1)
		ig_diag_add(st->d, st->name, line, l->tok[0].col + strlen(l->tok[0].s) + 1,
			    "missing argument: usage is '%-s'", usage);
	else
		ig_diag_add(st->d, st->name, line, l->tok[n + 1].col,
			    "unexpected '%s': usage is '%-s'", l->tok[n + 1].s, usage);
	return false;
}

/* A path from the policy: relative ones are relative to the policy's directory. */
static int resolve(struct pstate *st, const char *arg, char **out)
{
	if (arg[0] == '/' || !st->basedir)
		*out = strdup(arg);
	else if (asprintf(out, "%s/%s", st->basedir, arg) < 0)
		*out = NULL;
	return *out ? 0 : -ENOMEM;
}

static bool listed(char *const *list, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], path))
			return true;
	return false;
}

void ig_policy_mark(const struct ig_policy *p, const struct ig_manifest *m, struct ig_verified *v,
		    size_t n)
{
	for (size_t i = 0; i < n && m->e; i++) {
		const char *path = m->e[v[i].entry].path;

		if (listed(p->jit, p->njit, path))
			v[i].val.flags |= IG_FILE_F_JIT;
		if (listed(p->tracers, p->ntracers, path))
			v[i].val.flags |= IG_FILE_F_PTRACE;
		for (size_t j = 0; j < p->nmemfd_progs; j++)
			if (!strcmp(p->memfd_progs[j], path))
				v[i].val.flags |= IG_FILE_F_MEMFD(j);
	}
}

bool ig_policy_allows_unsigned_manifest(const struct ig_policy *p)
{
	if (p->unsigned_manifests >= 0)
		return p->unsigned_manifests;
	return p->mode != IG_MODE_ENFORCE;
}

/* A byte count: digits with an optional binary suffix K, M, G or T; at least 1. */
static bool parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || !v)
		return false;
	if (*end) {
		u = strchr(units, *end);
		if (!u || !*u || end[1])
			return false;
		for (long i = 0; i <= u - units; i++) {
			if (v > UINT64_MAX >> 10)
				return false;
			v <<= 10;
		}
	}
	*out = v;
	return true;
}

static void hash_limits(struct pstate *st, unsigned int line, const struct ig_line *l)
{
	struct ig_hash_limits *h = &st->p->hash_limits;

	if (!once(st, SEEN_HASH_LIMITS, line, &l->tok[0]) ||
	    !nargs(st, line, l, 3, "hash-limits FILE-SIZE TOTAL-SIZE SECONDS"))
		return;
	if (!parse_size(l->tok[1].s, &h->max_file))
		ig_diag_add(st->d, st->name, line, l->tok[1].col,
			    "expected a size such as 512M (K, M, G, T), not '%s'", l->tok[1].s);
	else if (!parse_size(l->tok[2].s, &h->max_total))
		ig_diag_add(st->d, st->name, line, l->tok[2].col,
			    "expected a size such as 16G (K, M, G, T), not '%s'", l->tok[2].s);
	else if (h->max_total < h->max_file)
		ig_diag_add(st->d, st->name, line, l->tok[2].col,
			    "total size is smaller than the file size");
	else if (!ig_parse_u32(l->tok[3].s, &h->timeout) || !h->timeout)
		ig_diag_add(st->d, st->name, line, l->tok[3].col,
			    "expected seconds from 1 to 4294967295, not '%s'", l->tok[3].s);
}

/* Index of s in a list, appending a copy when absent; -1: out of memory. */
static int find_or_add(char ***list, size_t *n, const char *s)
{
	char **nl;

	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*list)[i], s))
			return (int)i;
	nl = realloc(*list, (*n + 1) * sizeof(*nl));
	if (!nl)
		return -1;
	*list = nl;
	nl[*n] = strdup(s);
	return nl[*n] ? (int)(*n)++ : -1;
}

/* allow-memfd PROGRAM NAME */
static void memfd_directive(struct pstate *st, unsigned int line, struct ig_line *l)
{
	struct ig_policy *p = st->p;
	size_t nnames = p->nmemfd;
	const char *prog, *name;
	__u32 *mask;
	int j, i;

	if (!nargs(st, line, l, 2, "allow-memfd PROGRAM NAME"))
		return;
	prog = l->tok[1].s;
	name = l->tok[2].s;
	if (prog[0] != '/') {
		ig_diag_add(st->d, st->name, line, l->tok[1].col,
			    "program must be an absolute path, as in the manifest");
		return;
	}
	if (!*name || strlen(name) > MEMFD_NAME_MAX || strchr(name, '/')) {
		ig_diag_add(st->d, st->name, line, l->tok[2].col,
			    "memfd name must be 1 to %d characters without '/'", MEMFD_NAME_MAX);
		return;
	}
	j = find_or_add(&p->memfd_progs, &p->nmemfd_progs, prog);
	if (j >= IG_MEMFD_PROGS) {
		free(p->memfd_progs[--p->nmemfd_progs]);
		ig_diag_add(st->d, st->name, line, l->tok[1].col,
			    "allow-memfd names more than %d programs", IG_MEMFD_PROGS);
		return;
	}
	mask = realloc(p->memfd_mask, (p->nmemfd + 1) * sizeof(*mask));
	if (j < 0 || !mask)
		return;
	p->memfd_mask = mask;
	i = find_or_add(&p->memfd, &p->nmemfd, name);
	if (i < 0)
		return;
	if (p->nmemfd > nnames)
		mask[i] = 0;
	else if (mask[i] & 1u << j)
		ig_diag_add(st->d, st->name, line, l->tok[1].col, "allow-memfd %s %s given twice",
			    prog, name);
	mask[i] |= 1u << j;
}

static void directive(struct pstate *st, unsigned int line, struct ig_line *l)
{
	const char *kw = l->tok[0].s;

	if (!strcmp(kw, "version")) {
		if (!once(st, SEEN_VERSION, line, &l->tok[0]) ||
		    !nargs(st, line, l, 1, "version N"))
			return;
		if (!ig_parse_u32(l->tok[1].s, &st->p->version))
			ig_diag_add(st->d, st->name, line, l->tok[1].col,
				    "version must be an integer from 0 to 4294967295, not '%s'",
				    l->tok[1].s);
	} else if (!strcmp(kw, "mode")) {
		if (!once(st, SEEN_MODE, line, &l->tok[0]) ||
		    !nargs(st, line, l, 1, "mode enforce|audit"))
			return;
		if (!strcmp(l->tok[1].s, "enforce"))
			st->p->mode = IG_MODE_ENFORCE;
		else if (!strcmp(l->tok[1].s, "audit"))
			st->p->mode = IG_MODE_AUDIT;
		else
			ig_diag_add(st->d, st->name, line, l->tok[1].col,
				    "unknown mode '%s' (expected 'enforce' or 'audit')",
				    l->tok[1].s);
	} else if (!strcmp(kw, "manifest")) {
		const char *arg = l->tok[1].s;

		if (!once(st, SEEN_MANIFEST, line, &l->tok[0]) ||
		    !nargs(st, line, l, 1, "manifest PATH"))
			return;
		if (!*arg) {
			ig_diag_add(st->d, st->name, line, l->tok[1].col, "empty manifest path");
			return;
		}
		free(st->p->manifest);
		if (arg[0] == '/' || !st->basedir)
			st->p->manifest = strdup(arg);
		else if (asprintf(&st->p->manifest, "%s/%s", st->basedir, arg) < 0)
			st->p->manifest = NULL;
	} else if (!strcmp(kw, "protect")) {
		if (!once(st, SEEN_PROTECT, line, &l->tok[0]) ||
		    !nargs(st, line, l, 1, "protect on|off"))
			return;
		if (!strcmp(l->tok[1].s, "on"))
			st->p->protect = true;
		else if (strcmp(l->tok[1].s, "off"))
			ig_diag_add(st->d, st->name, line, l->tok[1].col,
				    "expected 'on' or 'off', not '%s'", l->tok[1].s);
	} else if (!strcmp(kw, "device-id")) {
		if (!once(st, SEEN_ID, line, &l->tok[0]) || !nargs(st, line, l, 1, "device-id ID"))
			return;
		if (!*l->tok[1].s || strlen(l->tok[1].s) > 128) {
			ig_diag_add(st->d, st->name, line, l->tok[1].col,
				    "device id must be 1 to 128 characters");
			return;
		}
		free(st->p->device_id);
		st->p->device_id = strdup(l->tok[1].s);
	} else if (!strcmp(kw, "self-protect")) {
		if (!once(st, SEEN_SELF, line, &l->tok[0]) ||
		    !nargs(st, line, l, 1, "self-protect on|off"))
			return;
		if (!strcmp(l->tok[1].s, "off"))
			st->p->self_protect = false;
		else if (strcmp(l->tok[1].s, "on"))
			ig_diag_add(st->d, st->name, line, l->tok[1].col,
				    "expected 'on' or 'off', not '%s'", l->tok[1].s);
	} else if (!strcmp(kw, "lock")) {
		if (!once(st, SEEN_LOCK, line, &l->tok[0]) || !nargs(st, line, l, 1, "lock on|off"))
			return;
		if (!strcmp(l->tok[1].s, "on"))
			st->p->lock = true;
		else if (strcmp(l->tok[1].s, "off"))
			ig_diag_add(st->d, st->name, line, l->tok[1].col,
				    "expected 'on' or 'off', not '%s'", l->tok[1].s);
	} else if (!strcmp(kw, "policy-key")) {
		const char *id = l->tok[1].s;
		size_t n = 0;
		char **nk;

		if (!nargs(st, line, l, 1, "policy-key ID"))
			return;
		while (id[n] && strchr("0123456789abcdef", id[n]))
			n++;
		if (n != IG_SHA256_LEN * 2 || id[n]) {
			ig_diag_add(
				st->d, st->name, line, l->tok[1].col + (int)n,
				"a key id is 64 lowercase hex digits (the SHA-256 of the DER public key, as status shows a signer)");
			return;
		}
		nk = realloc(st->p->policy_keys, (st->p->npolicy_keys + 1) * sizeof(*nk));
		if (!nk)
			return;
		st->p->policy_keys = nk;
		nk[st->p->npolicy_keys] = strdup(id);
		if (nk[st->p->npolicy_keys])
			st->p->npolicy_keys++;
	} else if (!strcmp(kw, "trusted-key")) {
		char **nk;

		if (!nargs(st, line, l, 1, "trusted-key PATH"))
			return;
		if (!*l->tok[1].s) {
			ig_diag_add(st->d, st->name, line, l->tok[1].col, "empty key path");
			return;
		}
		nk = realloc(st->p->trusted_keys, (st->p->ntrusted_keys + 1) * sizeof(*nk));
		if (!nk)
			return;
		st->p->trusted_keys = nk;
		if (resolve(st, l->tok[1].s, &nk[st->p->ntrusted_keys]) == 0)
			st->p->ntrusted_keys++;
	} else if (!strcmp(kw, "unsigned-manifests")) {
		if (!once(st, SEEN_UNSIGNED, line, &l->tok[0]) ||
		    !nargs(st, line, l, 1, "unsigned-manifests refuse|allow"))
			return;
		if (!strcmp(l->tok[1].s, "refuse"))
			st->p->unsigned_manifests = 0;
		else if (!strcmp(l->tok[1].s, "allow"))
			st->p->unsigned_manifests = 1;
		else
			ig_diag_add(st->d, st->name, line, l->tok[1].col,
				    "expected 'refuse' or 'allow', not '%s'", l->tok[1].s);
	} else if (!strcmp(kw, "allow-jit") || !strcmp(kw, "allow-ptrace")) {
		bool jit = !strcmp(kw, "allow-jit");
		char ***list = jit ? &st->p->jit : &st->p->tracers;
		size_t *n = jit ? &st->p->njit : &st->p->ntracers;
		char **nl;

		if (!nargs(st, line, l, 1, jit ? "allow-jit PROGRAM" : "allow-ptrace PROGRAM"))
			return;
		if (l->tok[1].s[0] != '/') {
			ig_diag_add(st->d, st->name, line, l->tok[1].col,
				    "program must be an absolute path, as in the manifest");
			return;
		}
		nl = realloc(*list, (*n + 1) * sizeof(*nl));
		if (!nl)
			return;
		*list = nl;
		nl[*n] = strdup(l->tok[1].s);
		if (nl[*n])
			(*n)++;
	} else if (!strcmp(kw, "hash-limits")) {
		hash_limits(st, line, l);
	} else if (!strcmp(kw, "allow-memfd")) {
		memfd_directive(st, line, l);
	} else if (!ig_netpolicy_directive(&st->p->net, st->name, line, l, st->d)) {
		ig_diag_add(st->d, st->name, line, l->tok[0].col, "unknown directive '%s'", kw);
	}
}

int ig_policy_parse(const char *name, const char *buf, size_t len, const char *basedir,
		    struct ig_policy *p, struct ig_diag *d)
{
	struct pstate st = { .name = name, .basedir = basedir, .p = p, .d = d };
	size_t before = d->n, pos = 0;
	unsigned int line = 0;
	struct ig_line *l;

	memset(p, 0, sizeof(*p));
	p->mode = IG_MODE_AUDIT;
	p->unsigned_manifests = -1;
	p->self_protect = true;
	p->hash_limits.max_file = IG_HASH_MAX_FILE_DEFAULT;
	p->hash_limits.max_total = IG_HASH_MAX_TOTAL_DEFAULT;
	p->hash_limits.timeout = IG_HASH_TIMEOUT_DEFAULT;
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		const char *err = NULL;
		unsigned int col;

		line++;
		if (memchr(buf + pos, '\0', ll)) {
			ig_diag_add(d, name, line, 1, "NUL byte in policy file");
		} else if ((col = ig_lex_line(buf + pos, ll, l, &err))) {
			ig_diag_add(d, name, line, col, "%s", err);
		} else if (l->ntok) {
			directive(&st, line, l);
		}
		pos += ll + 1;
	}
	free(l);
	ig_netpolicy_finish(&p->net, name, d);
	if (!st.seen_line[SEEN_MODE])
		ig_diag_add(d, name, line + 1, 1, "missing 'mode enforce|audit' directive");
	if (!st.seen_line[SEEN_MANIFEST])
		ig_diag_add(d, name, line + 1, 1, "missing 'manifest PATH' directive");
	p->path = strdup(name);
	if (d->n != before) {
		ig_policy_free(p);
		return -EINVAL;
	}
	if (!p->path || !p->manifest) {
		ig_policy_free(p);
		return -ENOMEM;
	}
	return 0;
}

int ig_policy_load(const char *path, struct ig_policy *p, struct ig_diag *d)
{
	char *buf, *dir, *copy;
	size_t len;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = ig_read_file(path, POLICY_MAX_BYTES, &buf, &len);
	if (ret) {
		ig_diag_add(d, path, 0, 0, "cannot read policy: %s",
			    ret == -EFBIG ? "larger than 1 MiB" : strerror(-ret));
		return ret;
	}
	copy = strdup(path);
	if (!copy) {
		free(buf);
		return -ENOMEM;
	}
	dir = dirname(copy);
	ret = ig_policy_parse(path, buf, len, dir, p, d);
	free(copy);
	free(buf);
	return ret;
}

void ig_policy_free(struct ig_policy *p)
{
	free(p->path);
	free(p->manifest);
	for (size_t i = 0; i < p->nmemfd; i++)
		free(p->memfd[i]);
	free(p->memfd);
	free(p->memfd_mask);
	for (size_t i = 0; i < p->nmemfd_progs; i++)
		free(p->memfd_progs[i]);
	free(p->memfd_progs);
	for (size_t i = 0; i < p->njit; i++)
		free(p->jit[i]);
	free(p->jit);
	for (size_t i = 0; i < p->ntracers; i++)
		free(p->tracers[i]);
	free(p->tracers);
	for (size_t i = 0; i < p->ntrusted_keys; i++)
		free(p->trusted_keys[i]);
	free(p->trusted_keys);
	for (size_t i = 0; i < p->npolicy_keys; i++)
		free(p->policy_keys[i]);
	free(p->policy_keys);
	free(p->device_id);
	ig_netpolicy_free(p->net);
	memset(p, 0, sizeof(*p));
}

bool ig_policy_key_pinned(const struct ig_policy *p, const char *id)
{
	if (!p->npolicy_keys)
		return true;
	for (size_t i = 0; i < p->npolicy_keys; i++)
		if (!strcmp(p->policy_keys[i], id))
			return true;
	return false;
}
