// SPDX-License-Identifier: GPL-2.0-only
/*
 * Interface and device rules: the compiler from the parsed policy to the
 * kernel's maps (see netpolicy.h). All in memory, diagnostics to the caller;
 * nothing here touches the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "netpolicy.h"

/* A rule's subject as the kernel sees it. */
struct rsubj {
	bool valid; /* the rule can match something */
	__u32 kind;
	__u64 a, b;
	int64_t csec;
	uint32_t cnsec;
};

/* A device rule resolved to one number. */
struct rdev {
	size_t rule;
	struct ig_dev_num num;
	bool specific;
};

struct cstate {
	const struct ig_netpolicy *np;
	const char *file;
	struct ig_np_compiled *out;
	struct rsubj *subj;
	struct ig_diag *err;
	size_t cap;
};

static bool same_rsubj(const struct rsubj *x, const struct rsubj *y)
{
	return x->kind == y->kind && x->a == y->a && x->b == y->b;
}

static struct ig_rule to_rule(const struct ig_np_rule *r)
{
	struct ig_rule o = { .verdict = r->verdict };

	if (r->dev) {
		o.dirs = r->access;
		o.protos = IG_P_ANY;
		o.port_hi = 0xffff;
	} else {
		o.dirs = r->dirs;
		o.protos = r->protos;
		o.flags = r->ports ? IG_RF_PORTS : 0;
		o.port_lo = r->ports ? r->port_lo : 0;
		o.port_hi = r->ports ? r->port_hi : 0xffff;
	}
	return o;
}

static int add_set(struct cstate *st, __u32 target, const struct rsubj *s, const size_t *spec,
		   size_t nspec, const size_t *gen, size_t ngen, const char *what)
{
	struct ig_np_compiled *o = st->out;
	struct ig_rule_set *set;
	size_t n = 0;

	if (o->nsets == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;
		struct ig_rule_key *k = realloc(o->keys, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		o->keys = k;
		set = realloc(o->sets, cap * sizeof(*set));
		if (!set)
			return -ENOMEM;
		o->sets = set;
		st->cap = cap;
	}
	set = &o->sets[o->nsets];
	memset(set, 0, sizeof(*set));
	memset(&o->keys[o->nsets], 0, sizeof(o->keys[0]));
	o->keys[o->nsets].target = target;
	o->keys[o->nsets].kind = s->kind;
	o->keys[o->nsets].id_a = s->a;
	o->keys[o->nsets].id_b = s->b;
	if (s->kind == IG_SUBJ_PROGRAM) {
		set->flags = IG_RS_CTIME;
		set->ctime_sec = s->csec;
		set->ctime_nsec = s->cnsec;
	}
	for (size_t i = 0; i < nspec + ngen; i++) {
		size_t ri = i < nspec ? spec[i] : gen[i - nspec];
		const struct ig_np_rule *r = &st->np->rules[ri];

		if (n == IG_RULES_MAX) {
			ig_diag_add(
				st->err, st->file, r->line, r->col,
				"too many rules for one subject on %s (at most %d, counting '*' and class rules)",
				what, IG_RULES_MAX);
			return -EINVAL;
		}
		set->r[n] = to_rule(r);
		if (i >= nspec)
			set->r[n].flags |= IG_RF_GENERAL;
		n++;
	}
	set->n = n;
	set->nspec = nspec;
	o->nsets++;
	return 0;
}

/*
 * For one target: every distinct subject among the rules in spec[] and gen[]
 * gets a set with its specific rules first.
 */
static int add_target(struct cstate *st, __u32 target, const size_t *spec, size_t nspec,
		      const size_t *gen, size_t ngen, const char *what)
{
	size_t total = nspec + ngen, *s1 = NULL, *g1 = NULL;
	int ret = 0;

	if (!total)
		return 0;
	s1 = malloc(total * sizeof(*s1));
	g1 = malloc(total * sizeof(*g1));
	if (!s1 || !g1) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < total && !ret; i++) {
		size_t ri = i < nspec ? spec[i] : gen[i - nspec];
		const struct rsubj *s = &st->subj[ri];
		size_t n1 = 0, n2 = 0;
		bool first = true;

		if (!s->valid)
			continue;
		/* Only the first rule of each subject builds its set. */
		for (size_t j = 0; j < i && first; j++) {
			size_t rj = j < nspec ? spec[j] : gen[j - nspec];

			if (st->subj[rj].valid && same_rsubj(&st->subj[rj], s))
				first = false;
		}
		if (!first)
			continue;
		for (size_t j = 0; j < nspec; j++)
			if (st->subj[spec[j]].valid && same_rsubj(&st->subj[spec[j]], s))
				s1[n1++] = spec[j];
		for (size_t j = 0; j < ngen; j++)
			if (st->subj[gen[j]].valid && same_rsubj(&st->subj[gen[j]], s))
				g1[n2++] = gen[j];
		ret = add_set(st, target, s, s1, n1, g1, n2, what);
	}
out:
	free(s1);
	free(g1);
	return ret;
}

static int resolve_subjects(struct cstate *st, const struct ig_np_resolver *res,
			    struct ig_diag *notes)
{
	const struct ig_netpolicy *np = st->np;

	for (size_t i = 0; i < np->nrules; i++) {
		const struct ig_np_rule *r = &np->rules[i];
		struct rsubj *s = &st->subj[i];

		s->kind = r->subj.kind;
		s->valid = true;
		if (r->subj.kind == IG_SUBJ_UID || r->subj.kind == IG_SUBJ_GID) {
			s->a = r->subj.id;
		} else if (r->subj.kind == IG_SUBJ_PROGRAM) {
			struct ig_file_key key = { 0 };
			bool measured = false, first = i == 0 || np->rules[i - 1].line != r->line;
			int ret = res->program(res->ctx, r->subj.path, &key, &s->csec, &s->cnsec,
					       &measured);

			if (ret == -ENOMEM)
				return ret;
			if (ret) {
				s->valid = false;
				st->out->unmeasured++;
				if (first)
					ig_diag_add(notes, st->file, r->line, r->col,
						    "program %s: %s; this rule matches nothing",
						    r->subj.path, strerror(-ret));
				continue;
			}
			s->a = key.dev;
			s->b = key.ino;
			if (!measured && r->verdict == IG_RV_ALLOW) {
				s->valid = false;
				st->out->unmeasured++;
				if (first)
					ig_diag_add(
						notes, st->file, r->line, r->col,
						"program %s is not a verified manifest entry; this allow rule matches nothing",
						r->subj.path);
			}
		}
	}
	return 0;
}

static int compile_net(struct cstate *st)
{
	const struct ig_netpolicy *np = st->np;
	size_t *spec = malloc((np->nrules + 1) * sizeof(*spec));
	size_t *gen = malloc((np->nrules + 1) * sizeof(*gen));
	size_t ngen = 0;
	int ret = -ENOMEM;

	if (!spec || !gen)
		goto out;
	for (size_t i = 0; i < np->nrules; i++)
		if (!np->rules[i].dev && !np->rules[i].iface)
			gen[ngen++] = i;
	ret = add_target(st, IG_TARGET_ANYIF, NULL, 0, gen, ngen, "every interface ('*')");
	for (size_t f = 0; f < np->nifs && !ret; f++) {
		size_t nspec = 0;
		char what[64];

		for (size_t i = 0; i < np->nrules; i++)
			if (!np->rules[i].dev && np->rules[i].iface &&
			    !strcmp(np->rules[i].iface, np->ifs[f].name))
				spec[nspec++] = i;
		snprintf(what, sizeof(what), "interface '%s'", np->ifs[f].name);
		ret = add_target(st, ig_netpolicy_target(np, &np->ifs[f]), spec, nspec, gen, ngen,
				 what);
	}
out:
	free(spec);
	free(gen);
	return ret;
}

static bool num_eq(const struct ig_dev_num *a, const struct ig_dev_num *b)
{
	return a->type == b->type && a->major == b->major && a->minor == b->minor;
}

static int compile_dev(struct cstate *st, const struct ig_np_resolver *res, struct ig_diag *notes)
{
	const struct ig_netpolicy *np = st->np;
	struct ig_np_compiled *o = st->out;
	struct rdev *rd = NULL;
	struct ig_dev_num nums[64];
	size_t nrd = 0, cap = 0, *spec = NULL, *gen = NULL;
	int ret = -ENOMEM;

	for (size_t i = 0; i < np->nrules; i++) {
		const struct ig_np_rule *r = &np->rules[i];
		size_t n = 0;
		bool specific = false;

		if (!r->dev)
			continue;
		if (r->devspec == IG_NPD_PATH) {
			int e = res->devnode(res->ctx, r->path, &nums[0].type, &nums[0].major,
					     &nums[0].minor);

			if (e) {
				ig_diag_add(notes, st->file, r->line, r->col,
					    "device %s: %s; the rule applies once it exists",
					    r->path,
					    e == -ENOTBLK ? "not a device node" : strerror(-e));
				continue;
			}
			n = 1;
			specific = true;
		} else if (r->devspec == IG_NPD_NODE) {
			nums[0] = (struct ig_dev_num){ r->type, r->major, r->minor };
			n = 1;
			specific = r->minor != IG_MINOR_ANY;
		} else {
			n = ig_dev_class_nums(r->cls, res->proc_devices, nums, 64);
		}
		for (size_t k = 0; k < n; k++) {
			if (nrd == cap) {
				struct rdev *nr;

				cap = cap ? cap * 2 : 32;
				nr = realloc(rd, cap * sizeof(*nr));
				if (!nr)
					goto out;
				rd = nr;
			}
			rd[nrd++] = (struct rdev){ i, nums[k], specific };
		}
	}
	spec = malloc((nrd + 1) * sizeof(*spec));
	gen = malloc((nrd + 1) * sizeof(*gen));
	if (!spec || !gen)
		goto out;
	ret = 0;
	for (size_t i = 0; i < nrd && !ret; i++) {
		struct ig_dev_num k = rd[i].num, any = k;
		size_t nspec = 0, ngen = 0;
		bool first = true;
		char what[64];

		for (size_t j = 0; j < i; j++)
			if (num_eq(&rd[j].num, &k))
				first = false;
		if (!first)
			continue;
		any.minor = IG_MINOR_ANY;
		for (size_t j = 0; j < nrd; j++) {
			if (rd[j].specific && num_eq(&rd[j].num, &k))
				spec[nspec++] = rd[j].rule;
			else if (!rd[j].specific &&
				 (num_eq(&rd[j].num, &k) || num_eq(&rd[j].num, &any)))
				gen[ngen++] = rd[j].rule;
		}
		{
			struct ig_dev_key *dk = realloc(o->devkeys, (o->ndevs + 1) * sizeof(*dk));
			struct ig_dev_val *dv;

			if (!dk) {
				ret = -ENOMEM;
				break;
			}
			o->devkeys = dk;
			dv = realloc(o->devvals, (o->ndevs + 1) * sizeof(*dv));
			if (!dv) {
				ret = -ENOMEM;
				break;
			}
			o->devvals = dv;
			dk[o->ndevs] = (struct ig_dev_key){ k.type, k.major, k.minor, 0 };
			dv[o->ndevs] = (struct ig_dev_val){ IG_TARGET_DEV_BASE + o->ndevs, 0 };
			if (k.minor == IG_MINOR_ANY)
				snprintf(what, sizeof(what), "device %s %u:*",
					 k.type == IG_DEV_CHAR ? "char" : "block", k.major);
			else
				snprintf(what, sizeof(what), "device %s %u:%u",
					 k.type == IG_DEV_CHAR ? "char" : "block", k.major,
					 k.minor);
			ret = add_target(st, dv[o->ndevs].target, spec, nspec, gen, ngen, what);
			o->ndevs++;
		}
	}
out:
	free(rd);
	free(spec);
	free(gen);
	return ret;
}

int ig_netpolicy_compile(const struct ig_netpolicy *np, const char *file,
			 const struct ig_np_resolver *res, struct ig_np_compiled *out,
			 struct ig_diag *err, struct ig_diag *notes)
{
	struct cstate st = { .np = np, .file = file, .out = out, .err = err };
	size_t before = err->n;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!np)
		return 0;
	st.subj = calloc(np->nrules + 1, sizeof(*st.subj));
	if (!st.subj)
		return -ENOMEM;
	ret = resolve_subjects(&st, res, notes);
	if (!ret)
		ret = compile_net(&st);
	if (!ret)
		ret = compile_dev(&st, res, notes);
	free(st.subj);
	if (!ret && err->n != before)
		ret = -EINVAL;
	if (ret)
		ig_np_compiled_free(out);
	return ret;
}

void ig_np_compiled_free(struct ig_np_compiled *c)
{
	free(c->keys);
	free(c->sets);
	free(c->devkeys);
	free(c->devvals);
	memset(c, 0, sizeof(*c));
}
