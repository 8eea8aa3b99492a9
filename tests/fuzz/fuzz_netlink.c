// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the rtnetlink link messages iotgated follows
 * (userspace/ifaces.c nl_read and link_msg, which are static: the file is
 * compiled into this target). The input is one datagram as the kernel would
 * queue it on the netlink socket, read through a socket pair. The first
 * byte of the input picks whether a policy naming interfaces is in force
 * (the messages are then described in the log) and whether the table holds
 * interfaces before the message.
 *
 * The kernel pads every message to NLMSG_ALIGNTO, but a sender with
 * CAP_NET_ADMIN can send a datagram of any length to the socket: inputs are
 * sent as they are, unaligned last messages included (nl_read() once read
 * past its buffer there: corpus/netlink/unaligned-last-message).
 */
#include <sys/socket.h>
#include "fuzz.h"
#include "../../userspace/ifaces.c"
#include "policy.h"

static struct ig_policy policy;
static bool have_policy;

static void load_policy(void)
{
	static const char text[] = "mode audit\nmanifest m\n"
				   "interface eth0 mac 02:00:00:00:00:01 default deny\n"
				   "interface wlan0 disable\ninterface can0\n"
				   "allow anyone on can0 can\n";
	struct ig_diag d;

	ig_diag_init(&d);
	if (ig_policy_parse("fuzz.conf", text, sizeof(text) - 1, "/", &policy, &d))
		abort();
	ig_diag_free(&d);
	have_policy = true;
	ig_log_init("fuzz", IG_LOG_DEBUG, true); /* to syslog: formatted, not printed */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ig_net n;
	bool done = false;
	uint8_t *msg;
	size_t len;
	int sv[2];

	if (!have_policy)
		load_policy();
	if (!size)
		return 0;
	memset(&n, 0, sizeof(n));
	if (data[0] & 1)
		n.np = policy.net;
	if (data[0] & 2) {
		static const struct nif known[] = {
			{ .ifindex = 1, .name = "lo" },
			{ .ifindex = 2,
			  .name = "eth0",
			  .mac = { 2, 0, 0, 0, 0, 1 },
			  .has_mac = true },
			{ .ifindex = 3, .name = "can0", .can = true },
		};

		n.ifs = malloc(sizeof(known));
		if (!n.ifs)
			abort();
		memcpy(n.ifs, known, sizeof(known));
		n.nifs = 3;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		abort();
	n.nlfd = sv[0];
	len = size - 1;
	msg = calloc(1, len + 1);
	if (!msg)
		abort();
	memcpy(msg, data + 1, size - 1);
	if (send(sv[1], msg, len, 0) != (ssize_t)len)
		abort();
	free(msg);
	nl_read(&n, data[0] & 4, &done);
	if (n.nifs > MAX_NIFS)
		abort();
	/* What status lists of stacked devices, from whatever links were read. */
	json_object_put(stacked_json(&n));
	close(sv[0]);
	close(sv[1]);
	free(n.ifs);
	return 0;
}
