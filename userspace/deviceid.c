// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include "deviceid.h"

/* First line of a small file, trimmed; "" if unreadable or empty. */
static void first_line(const char *root, const char *path, char *buf, size_t len)
{
	char full[512];
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", root, path);
	buf[0] = '\0';
	f = fopen(full, "re");
	if (!f)
		return;
	if (fgets(buf, len, f)) {
		size_t n = strcspn(buf, "\n");

		buf[n] = '\0';
		/* device-tree strings end in NUL; firmware fills blanks with spaces */
		while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
			buf[--n] = '\0';
	}
	fclose(f);
}

/* DMI placeholders that vendors leave in unset fields. */
static int placeholder(const char *s)
{
	static const char *const junk[] = { "",
					    "0",
					    "None",
					    "Not Specified",
					    "Default string",
					    "To be filled by O.E.M.",
					    "System Serial Number",
					    "0123456789" };

	for (size_t i = 0; i < sizeof(junk) / sizeof(*junk); i++)
		if (!strcasecmp(s, junk[i]))
			return 1;
	return 0;
}

/*
 * Permanent (burned-in) MAC through ETHTOOL_GPERMADDR, so a changed address
 * does not fool it. SIOCETHTOOL is a device ioctl that the kernel serves on
 * a socket of any family: an AF_UNIX one works where the service may not
 * open AF_INET sockets (the systemd unit's RestrictAddressFamilies).
 */
static int perm_mac(const char *ifname, char *out, size_t len)
{
	struct {
		struct ethtool_perm_addr pa;
		unsigned char data[32];
	} req = { .pa = { .cmd = ETHTOOL_GPERMADDR, .size = 32 } };
	struct ifreq ifr = { 0 };
	int fd, ret = 0;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	ifr.ifr_data = (void *)&req;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0 || req.pa.size != 6)
		ret = -ENODATA;
	else
		snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x", req.data[0], req.data[1],
			 req.data[2], req.data[3], req.data[4], req.data[5]);
	close(fd);
	return ret;
}

struct json_object *ig_identity_json(const char *configured_id, const char *root)
{
	struct json_object *o = json_object_new_object();
	char buf[256], path[512];
	struct dirent **names = NULL;
	int n;

	if (configured_id && *configured_id) {
		json_object_object_add(o, "logical_id", json_object_new_string(configured_id));
		json_object_object_add(o, "logical_id_source", json_object_new_string("policy"));
	} else {
		first_line(root, "/etc/machine-id", buf, sizeof(buf));
		json_object_object_add(o, "logical_id", json_object_new_string(buf));
		json_object_object_add(o, "logical_id_source",
				       json_object_new_string(*buf ? "/etc/machine-id" : "none"));
	}
	static const char *const serials[] = { "/sys/class/dmi/id/product_serial",
					       "/sys/class/dmi/id/board_serial",
					       "/proc/device-tree/serial-number",
					       "/sys/class/dmi/id/product_uuid" };
	json_object_object_add(o, "serial", NULL);
	for (size_t i = 0; i < sizeof(serials) / sizeof(*serials); i++) {
		first_line(root, serials[i], buf, sizeof(buf));
		if (!placeholder(buf)) {
			json_object_object_add(o, "serial", json_object_new_string(buf));
			json_object_object_add(o, "serial_source",
					       json_object_new_string(serials[i]));
			break;
		}
	}
	/* The first physical NIC: one backed by a device, in name order. */
	json_object_object_add(o, "mac", NULL);
	snprintf(path, sizeof(path), "%s/sys/class/net", root);
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char dev[1024];

		snprintf(dev, sizeof(dev), "%s/%s/device", path, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && access(dev, F_OK) == 0 &&
		    !json_object_get_string(json_object_object_get(o, "mac")) &&
		    perm_mac(names[i]->d_name, buf, sizeof(buf)) == 0) {
			json_object_object_add(o, "mac", json_object_new_string(buf));
			json_object_object_add(o, "mac_interface",
					       json_object_new_string(names[i]->d_name));
		}
		free(names[i]);
	}
	free(names);
	return o;
}
