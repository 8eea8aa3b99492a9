/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Device identification (NISTIR 8259A): a logical id (configured, else
 * /etc/machine-id) and physical ids (DMI or device-tree serial, the permanent
 * MAC address of the first physical network interface).
 */
#ifndef IG_DEVICEID_H
#define IG_DEVICEID_H

#include <json-c/json.h>

/* Adds {"logical_id", "logical_id_source", "serial", "serial_source", "mac", "mac_interface"}. */
struct json_object *ig_identity_json(const char *configured_id, const char *sysroot);

#endif
