# SPDX-License-Identifier: GPL-2.0-only
# The real rsyslogd, as nobody, on a private socket: RFC 5424 through the
# regular parser chain (the configuration README's Fleets section gives
# operators), structured data parsed by mmpstrucdata, iotgated's messages
# written as JSON lines to $RS/out.json (tests/lib/sdcheck.py reads them).

# rs_start DIR: rsyslogd listening on DIR/log.sock; RSPID its pid
rs_start() {
	RS=$1
	mkdir -p "$RS/work"
	chown -R 65534:65534 "$RS"
	cat >"$RS/rsyslog.conf" <<CONF
global(workDirectory="$RS/work")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$RS/log.sock" UseSpecialParser="off" IgnoreTimestamp="off")
module(load="mmpstrucdata")
template(name="sdjson" type="list" option.jsonf="on") {
	property(outname="pri" name="pri" format="jsonf")
	property(outname="hostname" name="hostname" format="jsonf")
	property(outname="app" name="app-name" format="jsonf")
	property(outname="procid" name="procid" format="jsonf")
	property(outname="msgid" name="msgid" format="jsonf")
	property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
	property(outname="msg" name="msg" format="jsonf")
	property(outname="sd" name="\$!rfc5424-sd" format="jsonf")
}
if \$app-name == "iotgated" and \$msgid != "-" then {
	action(type="mmpstrucdata")
	action(type="omfile" file="$RS/out.json" template="sdjson")
}
CONF
	: >"$RS/out.json"
	chown 65534:65534 "$RS/out.json"
	timeout 600 setpriv --reuid=65534 --regid=65534 --clear-groups \
		rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslogd.pid" >"$RS/rsyslogd.log" 2>&1 &
	RSPID=$!
	for _ in $(seq 100); do
		[[ -S $RS/log.sock ]] && return 0
		kill -0 "$RSPID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$RS/rsyslogd.log" >&2
	return 1
}

rs_stop() {
	[[ -n ${RSPID:-} ]] && kill "$RSPID" 2>/dev/null
	RSPID=
}
