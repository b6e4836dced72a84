#!/bin/bash
# certspoa-healthcheck [CONFIG [PATH]] - exit 0 when the agent's stats
# listener answers GET PATH (default /healthz) with 200, 1 otherwise.
#
# The container image's HEALTHCHECK. It needs only bash (no curl in the
# image): the address is the [stats] listen line of CONFIG (default
# /etc/certspoa/certspoa.ini), so it follows the config instead of a
# hard-coded port. 0.0.0.0 and [::] are asked on the loopback address.
set -u
conf=${1:-/etc/certspoa/certspoa.ini}
path=${2:-/healthz}

# The [stats] section's listen value, in bash alone (no awk needed).
addr=""
sec=""
while IFS= read -r line || [ -n "$line" ]; do
	line=${line#"${line%%[![:space:]]*}"}
	case $line in
		\[*\]*) sec=${line#[}; sec=${sec%%]*}; sec=${sec//[[:space:]]/} ;;
		listen*=*)
			[ "$sec" = stats ] || continue
			v=${line#*=}
			v=${v%%[;#]*}
			v=${v//[[:space:]]/}
			addr=$v
			break ;;
	esac
done <"$conf" 2>/dev/null
if [ -z "$addr" ]; then
	echo "certspoa-healthcheck: no [stats] listen in $conf" >&2
	exit 1
fi
case $addr in
	unix:*) echo "certspoa-healthcheck: [stats] listens on $addr; this check needs HOST:PORT" >&2; exit 1 ;;
esac
port=${addr##*:}
host=${addr%:*}
host=${host#[}
host=${host%]}
case $host in
	'' | 0.0.0.0 | '*') host=127.0.0.1 ;;
	::) host=::1 ;;
esac

# One HTTP/1.0 request over bash's /dev/tcp, 3 seconds at most.
status=$(timeout 3 bash -c '
	exec 3<>"/dev/tcp/$1/$2" || exit 1
	printf "GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n" "$3" >&3
	IFS= read -r line <&3 && printf "%s" "$line"
' healthcheck "$host" "$port" "$path" 2>/dev/null)
case $status in
	"HTTP/1."[01]" 200"*) exit 0 ;;
esac
echo "certspoa-healthcheck: GET http://$host:$port$path: ${status:-no answer}" >&2
exit 1
