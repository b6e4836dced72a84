#!/usr/bin/env bash
# podns.sh ROOT VOLUMES STATE - the pod's filesystem, for tests/deploy/run.sh.
#
# Run as root inside "unshare --mount --propagation private": nothing here is
# seen outside this mount namespace, and it all goes away with its last
# process. Mounts, over the directory ROOT:
#   /usr          the host's, read-only (the base system: libc, libssl3,
#                 libev4, libinih1, bash; and haproxy for the second container)
#   /usr/local    ROOT/usr-local: what the Dockerfile's runtime stage COPYs
#   /dev /proc /sys
#   each volume   VOLUMES/NAME at its mountPath, read-only when the pod says
#                 so (list in STATE/mounts: "mountPath|volume|readOnly")
#   /             then ROOT itself read-only (readOnlyRootFilesystem)
# Then it writes STATE/mounted and sleeps; run.sh starts the containers in
# this namespace with nsenter, chrooted to ROOT.
set -eu
R=$1 VOL=$2 STATE=$3

ro_bind() { mount --bind "$1" "$2" && mount -o remount,bind,ro "$2"; }

mount --bind "$R" "$R"
ro_bind /usr "$R/usr"
ro_bind "$R/usr-local" "$R/usr/local"
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
ro_bind /sys "$R/sys"
while IFS='|' read -r mp vname ro; do
	if [ "$ro" = True ]; then
		ro_bind "$VOL/$vname" "$R$mp"
	else
		mount --bind "$VOL/$vname" "$R$mp"
	fi
done <"$STATE/mounts"
mount -o remount,bind,ro "$R"
touch "$STATE/mounted"
# bounded: the test ends long before, and kills this first
exec sleep 900
