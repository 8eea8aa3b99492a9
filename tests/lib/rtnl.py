#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Raw rtnetlink requests that iproute2 never sends, for the link checks.

  rtnl.py vxlan NAME VNI UNDERLAY [data-first] [pad N]
      RTM_NEWLINK of a VXLAN device whose underlay (IFLA_VXLAN_LINK) is the
      interface named UNDERLAY. data-first: IFLA_INFO_DATA before
      IFLA_INFO_KIND (the kernel parses both in any order); pad N: N
      IFLA_VXLAN_TTL attributes before the underlay's.
Prints "ok" or the errno's name (EPERM, ...), as tests/helpers/ignet does.
"""
import errno
import socket
import struct
import sys

NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR, RTM_NEWLINK = 2, 16
IFLA_IFNAME, IFLA_LINKINFO = 3, 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_VXLAN_ID, IFLA_VXLAN_LINK, IFLA_VXLAN_TTL = 1, 3, 5
NLA_F_NESTED = 0x8000


def attr(t, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, t) + payload + b"\0" * (-n % 4)


def vxlan(name, vni, under, data_first=False, pad=0):
    data = b"".join(attr(IFLA_VXLAN_TTL, struct.pack("=B", 64)) for _ in range(pad))
    data = attr(IFLA_VXLAN_ID, struct.pack("=I", vni)) + data
    data += attr(IFLA_VXLAN_LINK, struct.pack("=I", socket.if_nametoindex(under)))
    kind = attr(IFLA_INFO_KIND, b"vxlan")
    dattr = attr(IFLA_INFO_DATA | NLA_F_NESTED, data)
    info = dattr + kind if data_first else kind + dattr
    body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
    body += attr(IFLA_IFNAME, name.encode() + b"\0") + attr(IFLA_LINKINFO | NLA_F_NESTED, info)
    flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    return struct.pack("=IHHII", 16 + len(body), RTM_NEWLINK, flags, 1, 0) + body


def request(msg):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        s.send(msg)
    except OSError as e:  # refused at send: the LSM's netlink_send
        return e.errno
    reply = s.recv(65536)
    _, mtype, _, _, _ = struct.unpack_from("=IHHII", reply)
    if mtype != NLMSG_ERROR:
        sys.exit("rtnl.py: unexpected reply type %d" % mtype)
    return -struct.unpack_from("=i", reply, 16)[0]


def main(argv):
    if len(argv) < 5 or argv[1] != "vxlan":
        sys.exit(__doc__)
    rest = argv[5:]
    pad = int(rest[rest.index("pad") + 1]) if "pad" in rest else 0
    err = request(vxlan(argv[2], int(argv[3]), argv[4], "data-first" in rest, pad))
    print("ok" if err == 0 else errno.errorcode.get(err, str(err)))


if __name__ == "__main__":
    main(sys.argv)
