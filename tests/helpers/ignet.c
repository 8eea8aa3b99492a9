// SPDX-License-Identifier: GPL-2.0-only
/*
 * ignet: probe and load generator for the interface and device rules' tests
 * and benchmarks. Probes print one word, "ok" or the errno name (EPERM,
 * ETIMEDOUT, ...), and exit 0 only on "ok". Waits are bounded (3 s) so a
 * dropped packet ends as ETIMEDOUT rather than a hang.
 *
 *   ignet tcp ADDR PORT [IFNAME]     connect, send, read the echo (IFNAME:
 *                                    SO_BINDTODEVICE after socket creation)
 *   ignet udp ADDR PORT [IFNAME]     sendto, read the echo
 *   ignet serve tcp|udp|tcp1 PORT    echo server (runs until killed; tcp1: one
 *                                    connection at a time, no fork, for bench-crr)
 *   ignet hold-tcp ADDR PORT FIFO    connect, then for every line read from
 *                                    FIFO send it and read the echo (a socket
 *                                    that exists before the rules are loaded)
 *   ignet hold-udp ADDR PORT FIFO    the same with a connected UDP socket
 *   ignet can IFNAME|any send|recv   CAN_RAW socket bound to IFNAME (any:
 *                                    index 0); send one frame or wait for one
 *   ignet can-proto bcm|isotp|j1939 IFNAME
 *                                    a socket of that CAN protocol on IFNAME
 *                                    (bcm: connect, the others: bind)
 *   ignet packet IFNAME|any send     AF_PACKET socket bound to IFNAME, send one frame
 *   ignet packet-to IFNAME sendto|sendmsg
 *                                    AF_PACKET socket bound to nothing, one frame
 *                                    sent with a sockaddr_ll naming IFNAME
 *   ignet spkt IFNAME                obsolete SOCK_PACKET socket, unbound: sendto
 *                                    with a sockaddr_pkt naming IFNAME
 *   ignet scm-give PATH can IFNAME   bind a CAN socket, send a frame on it and
 *                                    hand it over the unix socket PATH
 *   ignet scm-give PATH udp ADDR PORT  the same with a connected UDP socket
 *   ignet scm-take PATH              take a socket from PATH and send on it
 *   ignet open PATH r|w|rw           open(2) a file or device node
 *   ignet mptcp                      create an MPTCP socket
 *   ignet udp-race ADDR PORT_OK PORT_BAD SECS
 *                                    one UDP socket, two processes sending on it
 *                                    at once, one to each port, for SECS;
 *                                    prints "ok=N bad=M": sends that passed
 *   ignet bench-crr ADDR PORT SECS [N]  TCP connect/close per second (prints a number)
 *   ignet bench-udp ADDR PORT SECS [N]  64-byte UDP datagrams sent per second
 *                                    (with N: exactly N operations, SECS ignored;
 *                                    bench/net.sh's counter pass needs a known count)
 *   ignet bench-open PATH N          opens of PATH per second over N opens
 *   ignet open-count PATH N          N read opens of PATH: prints "opened N refused M"
 *                                    (refused: EPERM; any other error fails)
 *   ignet sink-udp PORT              count datagrams (runs until killed)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/can.h>
#include <linux/can/raw.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#define WAIT_MS 3000

static const char *errname(int e)
{
	static const struct {
		int e;
		const char *n;
	} t[] = {
		{ EPERM, "EPERM" },
		{ EACCES, "EACCES" },
		{ ETIMEDOUT, "ETIMEDOUT" },
		{ ECONNREFUSED, "ECONNREFUSED" },
		{ ENETUNREACH, "ENETUNREACH" },
		{ EHOSTUNREACH, "EHOSTUNREACH" },
		{ ENODEV, "ENODEV" },
		{ ENXIO, "ENXIO" },
		{ ENOENT, "ENOENT" },
		{ EINVAL, "EINVAL" },
		{ EAFNOSUPPORT, "EAFNOSUPPORT" },
		{ EADDRNOTAVAIL, "EADDRNOTAVAIL" },
		{ ENOBUFS, "ENOBUFS" },
		{ ECONNRESET, "ECONNRESET" },
		{ EPIPE, "EPIPE" },
		{ ENETDOWN, "ENETDOWN" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	return "EOTHER";
}

static int fail(int e)
{
	printf("%s\n", errname(e));
	return 1;
}

static int ok(void)
{
	printf("ok\n");
	return 0;
}

static int wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r = poll(&p, 1, WAIT_MS);

	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int parse_addr(const char *host, const char *port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in *s4 = (void *)ss;
	struct sockaddr_in6 *s6 = (void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(atoi(port));
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(atoi(port));
		*len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

static int bind_dev(int fd, const char *ifname)
{
	if (ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname)) < 0)
		return -errno;
	return 0;
}

/* Non-blocking connect bounded by WAIT_MS; 0 or -errno. */
static int connect_wait(int fd, struct sockaddr_storage *ss, socklen_t len)
{
	int fl = fcntl(fd, F_GETFL), err = 0;
	socklen_t el = sizeof(err);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)ss, len) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		err = wait_fd(fd, POLLOUT);
		if (err)
			return err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			return -errno;
		if (err)
			return -err;
	}
	fcntl(fd, F_SETFL, fl);
	return 0;
}

static int echo_roundtrip(int fd)
{
	char buf[64];
	ssize_t n;
	int r;

	if (send(fd, "ping\n", 5, MSG_NOSIGNAL) < 0)
		return -errno;
	r = wait_fd(fd, POLLIN);
	if (r)
		return r;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	return n > 0 ? 0 : -ECONNRESET;
}

static int cmd_tcp(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, r;

	if (argc < 4 || parse_addr(argv[2], argv[3], &ss, &len))
		return fail(EINVAL);
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return fail(errno);
	r = bind_dev(fd, argc > 4 ? argv[4] : NULL);
	if (!r)
		r = connect_wait(fd, &ss, len);
	if (!r)
		r = echo_roundtrip(fd);
	close(fd);
	return r ? fail(-r) : ok();
}

static int cmd_udp(int argc, char **argv)
{
	struct sockaddr_storage ss;
	char buf[64];
	socklen_t len;
	int fd, r;

	if (argc < 4 || parse_addr(argv[2], argv[3], &ss, &len))
		return fail(EINVAL);
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail(errno);
	r = bind_dev(fd, argc > 4 ? argv[4] : NULL);
	if (r)
		return fail(-r);
	if (sendto(fd, "ping\n", 5, 0, (struct sockaddr *)&ss, len) < 0)
		return fail(errno);
	r = wait_fd(fd, POLLIN);
	if (r)
		return fail(-r);
	if (recv(fd, buf, sizeof(buf), 0) < 0)
		return fail(errno);
	return ok();
}

static int cmd_serve(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	bool tcp;
	int fd, one = 1, zero = 0;

	if (argc < 4)
		return fail(EINVAL);
	tcp = !strcmp(argv[2], "tcp") || !strcmp(argv[2], "tcp1");
	sa.sin6_port = htons(atoi(argv[3]));
	signal(SIGCHLD, SIG_IGN);
	fd = socket(AF_INET6, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0)
		return fail(errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (tcp && listen(fd, 512) < 0))
		return fail(errno);
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		char buf[65536];
		ssize_t n;

		if (!tcp) {
			n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl);
			if (n > 0)
				sendto(fd, buf, n, 0, (struct sockaddr *)&peer, pl);
			continue;
		}
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			continue;
		if (!strcmp(argv[2], "tcp1")) {
			n = recv(c, buf, sizeof(buf), 0);
			if (n > 0)
				send(c, buf, n, MSG_NOSIGNAL);
			close(c);
			continue;
		}
		if (fork() == 0) {
			close(fd);
			while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
				if (send(c, buf, n, MSG_NOSIGNAL) < 0)
					break;
			_exit(0);
		}
		close(c);
	}
}

static int hold(int argc, char **argv, int type)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char line[256];
	FILE *f;
	int fd, r;

	if (argc < 5 || parse_addr(argv[2], argv[3], &ss, &len))
		return fail(EINVAL);
	fd = socket(ss.ss_family, type, 0);
	if (fd < 0 || (r = connect_wait(fd, &ss, len)))
		return fail(fd < 0 ? errno : -r);
	printf("connected\n");
	fflush(stdout);
	f = fopen(argv[4], "r");
	if (!f)
		return fail(errno);
	while (fgets(line, sizeof(line), f)) {
		r = echo_roundtrip(fd);
		printf("%s\n", r ? errname(-r) : "ok");
		fflush(stdout);
	}
	return 0;
}

static int cmd_hold_tcp(int argc, char **argv)
{
	return hold(argc, argv, SOCK_STREAM);
}

static int cmd_hold_udp(int argc, char **argv)
{
	return hold(argc, argv, SOCK_DGRAM);
}

static int can_socket(const char *ifname, int *fd)
{
	struct sockaddr_can sa = { .can_family = AF_CAN };

	*fd = socket(PF_CAN, SOCK_RAW, CAN_RAW);
	if (*fd < 0)
		return -errno;
	if (strcmp(ifname, "any")) {
		sa.can_ifindex = if_nametoindex(ifname);
		if (!sa.can_ifindex)
			return -ENODEV;
	}
	if (bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

static int can_send(int fd)
{
	struct can_frame fr = { .can_id = 0x123, .can_dlc = 2, .data = { 0xbe, 0xef } };

	if (write(fd, &fr, sizeof(fr)) < 0)
		return -errno;
	return 0;
}

static int cmd_can(int argc, char **argv)
{
	struct can_frame fr;
	int fd, r;

	if (argc < 4)
		return fail(EINVAL);
	r = can_socket(argv[2], &fd);
	if (r)
		return fail(-r);
	if (!strcmp(argv[3], "send")) {
		r = can_send(fd);
	} else {
		r = wait_fd(fd, POLLIN);
		if (!r && read(fd, &fr, sizeof(fr)) < 0)
			r = -errno;
	}
	return r ? fail(-r) : ok();
}

static int cmd_can_proto(int argc, char **argv)
{
	struct sockaddr_can sa = { .can_family = AF_CAN };
	int fd, r;

	if (argc < 4)
		return fail(EINVAL);
	sa.can_ifindex = if_nametoindex(argv[3]);
	if (!sa.can_ifindex)
		return fail(ENODEV);
	if (!strcmp(argv[2], "bcm")) {
		fd = socket(PF_CAN, SOCK_DGRAM, CAN_BCM);
		if (fd < 0)
			return fail(errno);
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} else if (!strcmp(argv[2], "isotp")) {
		fd = socket(PF_CAN, SOCK_DGRAM, CAN_ISOTP);
		if (fd < 0)
			return fail(errno);
		sa.can_addr.tp.rx_id = 0x321;
		sa.can_addr.tp.tx_id = 0x123;
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	} else if (!strcmp(argv[2], "j1939")) {
		fd = socket(PF_CAN, SOCK_DGRAM, CAN_J1939);
		if (fd < 0)
			return fail(errno);
		sa.can_addr.j1939.name = 0; /* J1939_NO_NAME */
		sa.can_addr.j1939.pgn = 0x40000; /* J1939_NO_PGN */
		sa.can_addr.j1939.addr = 0x20;
		r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	} else {
		return fail(EINVAL);
	}
	r = r < 0 ? errno : 0;
	close(fd);
	return r ? fail(r) : ok();
}

static int cmd_packet(int argc, char **argv)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	unsigned char frame[64] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5
	};
	int fd;

	if (argc < 4)
		return fail(EINVAL);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		return fail(errno);
	if (strcmp(argv[2], "any")) {
		sa.sll_ifindex = if_nametoindex(argv[2]);
		if (!sa.sll_ifindex)
			return fail(ENODEV);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail(errno);
	if (!strcmp(argv[3], "send") && send(fd, frame, sizeof(frame), 0) < 0)
		return fail(errno);
	return ok();
}

static int cmd_packet_to(int argc, char **argv)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(0x88b5),
				  .sll_halen = 6 };
	unsigned char frame[64] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5
	};
	struct iovec iov = { .iov_base = frame, .iov_len = sizeof(frame) };
	struct msghdr m = {
		.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1
	};
	ssize_t r;
	int fd;

	if (argc < 4)
		return fail(EINVAL);
	sa.sll_ifindex = if_nametoindex(argv[2]);
	if (!sa.sll_ifindex)
		return fail(ENODEV);
	memset(sa.sll_addr, 0xff, 6);
	fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: bound to nothing */
	if (fd < 0)
		return fail(errno);
	if (!strcmp(argv[3], "sendmsg"))
		r = sendmsg(fd, &m, 0);
	else
		r = sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sa, sizeof(sa));
	return r < 0 ? fail(errno) : ok();
}

static int cmd_spkt(int argc, char **argv)
{
	struct sockaddr_pkt sp = { .spkt_family = AF_PACKET, .spkt_protocol = htons(0x88b5) };
	unsigned char frame[64] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5
	};
	int fd;

	if (argc < 3 || strlen(argv[2]) >= sizeof(sp.spkt_device))
		return fail(EINVAL);
	memcpy(sp.spkt_device, argv[2], strlen(argv[2]));
	fd = socket(AF_PACKET, SOCK_PACKET, htons(0x88b5));
	if (fd < 0)
		return fail(errno);
	if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sp, sizeof(sp)) < 0)
		return fail(errno);
	return ok();
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static int cmd_scm_give(int argc, char **argv)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, b = 'x';
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct sockaddr_un sa;
	struct cmsghdr *c;
	int lfd, cfd, fd, r;

	if (argc < 5 || unix_addr(argv[2], &sa))
		return fail(EINVAL);
	if (!strcmp(argv[3], "can")) {
		r = can_socket(argv[4], &fd);
		/* The giver may use it. */
		if (!r)
			r = can_send(fd);
	} else {
		struct sockaddr_storage ss;
		socklen_t len;

		if (argc < 6 || parse_addr(argv[4], argv[5], &ss, &len))
			return fail(EINVAL);
		fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
			return fail(errno);
		r = echo_roundtrip(fd);
	}
	if (r)
		return fail(-r);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(argv[2]);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0)
		return fail(errno);
	printf("ready\n");
	fflush(stdout);
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0)
		return fail(errno);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(cfd, &m, 0) < 0)
		return fail(errno);
	/* Wait for the taker to finish so the socket is not closed under it. */
	read(cfd, &b, 1);
	return ok();
}

static int cmd_scm_take(int argc, char **argv)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct sockaddr_un sa;
	struct cmsghdr *c;
	int cfd, fd, r;

	if (argc < 3 || unix_addr(argv[2], &sa))
		return fail(EINVAL);
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail(errno);
	if (recvmsg(cfd, &m, 0) <= 0)
		return fail(errno);
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return fail(EINVAL);
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	{
		int dom = 0;
		socklen_t dl = sizeof(dom);

		getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl);
		r = dom == AF_CAN ? can_send(fd) : echo_roundtrip(fd);
	}
	write(cfd, "x", 1);
	return r ? fail(-r) : ok();
}

static int cmd_open(int argc, char **argv)
{
	int flags, fd;

	if (argc < 4)
		return fail(EINVAL);
	flags = !strcmp(argv[3], "r") ? O_RDONLY : !strcmp(argv[3], "w") ? O_WRONLY : O_RDWR;
	fd = open(argv[2], flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fail(errno);
	close(fd);
	return ok();
}

static int cmd_mptcp(int argc, char **argv)
{
	int fd = socket(AF_INET, SOCK_STREAM, 262 /* IPPROTO_MPTCP */);

	(void)argc;
	(void)argv;
	if (fd < 0)
		return fail(errno);
	close(fd);
	return ok();
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_bench_crr(int argc, char **argv)
{
	struct sockaddr_storage ss;
	double end, start;
	unsigned long n = 0, max;
	socklen_t len;

	if (argc < 5 || parse_addr(argv[2], argv[3], &ss, &len))
		return fail(EINVAL);
	max = argc > 5 ? strtoul(argv[5], NULL, 10) : 0;
	start = now();
	end = start + atof(argv[4]);
	while (max ? n < max : now() < end) {
		int fd = socket(ss.ss_family, SOCK_STREAM, 0), r;
		struct linger lg = { 1, 0 };

		if (fd < 0)
			return fail(errno);
		/* RST on close: no TIME_WAIT pile-up in a long run. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		r = connect_wait(fd, &ss, len);
		if (r)
			return fail(-r);
		r = echo_roundtrip(fd);
		close(fd);
		if (r)
			return fail(-r);
		n++;
	}
	printf("%.0f\n", n / (now() - start));
	return 0;
}

/* Sends to ADDR:port on fd until end; returns how many sends passed. */
static unsigned long send_until(int fd, const char *addr, const char *port, double end)
{
	struct sockaddr_storage ss;
	unsigned long n = 0;
	socklen_t len;

	if (parse_addr(addr, port, &ss, &len))
		return 0;
	while (now() < end)
		if (sendto(fd, "race", 4, 0, (struct sockaddr *)&ss, len) == 4)
			n++;
	return n;
}

static int cmd_udp_race(int argc, char **argv)
{
	int fd, pfd[2], status;
	unsigned long ok, bad = 0;
	double end;
	pid_t pid;

	if (argc < 6 || pipe(pfd) < 0)
		return fail(EINVAL);
	fd = socket(strchr(argv[2], ':') ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail(errno);
	end = now() + atof(argv[5]);
	pid = fork();
	if (pid < 0)
		return fail(errno);
	if (pid == 0) {
		bad = send_until(fd, argv[2], argv[4], end);
		_exit(write(pfd[1], &bad, sizeof(bad)) == sizeof(bad) ? 0 : 1);
	}
	ok = send_until(fd, argv[2], argv[3], end);
	if (waitpid(pid, &status, 0) < 0 || status != 0 ||
	    read(pfd[0], &bad, sizeof(bad)) != sizeof(bad))
		return fail(EIO);
	printf("ok=%lu bad=%lu\n", ok, bad);
	return 0;
}

static int cmd_bench_udp(int argc, char **argv)
{
	struct sockaddr_storage ss;
	char payload[64] = { 0 };
	double end, start;
	unsigned long n = 0, max;
	socklen_t len;
	int fd;

	if (argc < 5 || parse_addr(argv[2], argv[3], &ss, &len))
		return fail(EINVAL);
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		return fail(errno);
	max = argc > 5 ? strtoul(argv[5], NULL, 10) : 0;
	start = now();
	end = start + atof(argv[4]);
	if (max) {
		/* a send that keeps failing (denied) must not hang the run */
		for (unsigned long tries = 0; n < max && tries < 4 * max; tries++)
			if (send(fd, payload, sizeof(payload), 0) == sizeof(payload))
				n++;
	} else {
		while (now() < end) {
			for (int i = 0; i < 256; i++)
				if (send(fd, payload, sizeof(payload), 0) == sizeof(payload))
					n++;
		}
	}
	printf("%.0f\n", n / (now() - start));
	return 0;
}

static int cmd_bench_open(int argc, char **argv)
{
	unsigned long n;
	double start;

	if (argc < 4)
		return fail(EINVAL);
	n = strtoul(argv[3], NULL, 10);
	start = now();
	for (unsigned long i = 0; i < n; i++) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC | O_NOCTTY);

		if (fd < 0)
			return fail(errno);
		close(fd);
	}
	printf("%.0f\n", n / (now() - start));
	return 0;
}

static int cmd_open_count(int argc, char **argv)
{
	unsigned long n, opened = 0, refused = 0;

	if (argc < 4)
		return fail(EINVAL);
	n = strtoul(argv[3], NULL, 10);
	for (unsigned long i = 0; i < n; i++) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC | O_NOCTTY);

		if (fd >= 0) {
			opened++;
			close(fd);
		} else if (errno == EPERM) {
			refused++;
		} else {
			return fail(errno);
		}
	}
	printf("opened %lu refused %lu\n", opened, refused);
	return 0;
}

static int cmd_sink_udp(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int fd, zero = 0;
	char buf[2048];

	if (argc < 3)
		return fail(EINVAL);
	sa.sin6_port = htons(atoi(argv[2]));
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail(errno);
	for (;;)
		recv(fd, buf, sizeof(buf), 0);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "tcp", cmd_tcp },
		{ "udp", cmd_udp },
		{ "serve", cmd_serve },
		{ "hold-tcp", cmd_hold_tcp },
		{ "hold-udp", cmd_hold_udp },
		{ "can", cmd_can },
		{ "can-proto", cmd_can_proto },
		{ "packet", cmd_packet },
		{ "packet-to", cmd_packet_to },
		{ "spkt", cmd_spkt },
		{ "scm-give", cmd_scm_give },
		{ "scm-take", cmd_scm_take },
		{ "open", cmd_open },
		{ "mptcp", cmd_mptcp },
		{ "udp-race", cmd_udp_race },
		{ "bench-crr", cmd_bench_crr },
		{ "bench-udp", cmd_bench_udp },
		{ "bench-open", cmd_bench_open },
		{ "open-count", cmd_open_count },
		{ "sink-udp", cmd_sink_udp },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc, argv);
	fprintf(stderr, "usage: see the comment at the top of tests/helpers/ignet.c\n");
	return 2;
}
