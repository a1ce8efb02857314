#!/usr/bin/env bash
# Starts a Kubernetes control plane for trying kiln by hand and for kiln's
# cluster tests: etcd and kube-apiserver on free loopback ports, with a CA,
# serving and admin client certificates of its own and RBAC on. Writes
# DIR/kubeconfig (an admin identity: group system:masters) and returns once
# the API server's /readyz answers. There is no controller-manager, scheduler
# or kubelet: nothing runs pods, marks workloads ready, collects garbage or
# finalizes a deleted namespace. Requests of the admin identity are logged, as
# they arrive, to DIR/audit.log.
#
#   tests/cluster/up.sh DIR     # builds the binaries if needed (build.sh)
#   kubectl --kubeconfig DIR/kubeconfig get ns
#   tests/cluster/down.sh DIR
#
# Environment:
#   KILN_CLUSTER_BIN         where kube-apiserver and etcd are (default: built by build.sh)
#   KILN_CLUSTER_WATCH_PID   stop the control plane (down.sh) once this process has exited
#   KILN_CLUSTER_CLEANUP=1   with KILN_CLUSTER_WATCH_PID: remove DIR as well then
#   KILN_CLUSTER_TIMEOUT     seconds to wait for readiness (default 180)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
mkdir -p "$1"
dir=$(cd "$1" && pwd)
if [ -e "$dir/kube-apiserver.pid" ] && "$here/down.sh" --running "$dir"; then
	echo "up.sh: a control plane is running in $dir already (stop it with down.sh $dir)" >&2
	exit 1
fi

if [ -n "${KILN_CLUSTER_BIN:-}" ]; then
	bin=$KILN_CLUSTER_BIN
	for b in kube-apiserver etcd; do
		if [ ! -x "$bin/$b" ]; then
			echo "up.sh: $bin/$b is missing; build it with: KILN_CLUSTER_BIN=$bin $here/build.sh" >&2
			exit 1
		fi
	done
else
	bin=$("$here/build.sh")
fi

for tool in openssl curl base64 setsid; do
	if ! command -v "$tool" >/dev/null; then
		echo "up.sh: '$tool' is not on PATH (Debian: apt-get install openssl curl coreutils util-linux)" >&2
		exit 1
	fi
done

# --- certificates ------------------------------------------------------------
pki=$dir/pki
mkdir -p "$pki"
(
	cd "$pki"
	key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
	key ca.key
	openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=kiln-cluster-ca" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out ca.crt 2>/dev/null
	sign() { # NAME SUBJECT EXTFILE-CONTENT
		key "$1.key"
		openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
		printf '%s\n' "$3" >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
			-extfile "$1.ext" -out "$1.crt" 2>/dev/null
		rm -f "$1.csr" "$1.ext"
	}
	sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
	sign admin "/O=system:masters/CN=kiln-admin" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
	# the key that signs and checks service-account tokens
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
	openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
)

# Every request of the admin identity, logged when received (before it is
# handled), so that tests can count what a client sent: DIR/audit.log, one JSON
# event a line. The server's own requests are not logged.
cat >"$dir/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [ResponseStarted, ResponseComplete, Panic]
rules:
- level: Metadata
  users: [kiln-admin]
- level: None
POLICY

# --- free loopback ports -------------------------------------------------------
taken=" "
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 30000))
		case $taken in *" $p "*) continue ;; esac
		# a port nothing answers on (a refused connection) is free
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			taken="$taken$p "
			echo "$p"
			return 0
		fi
	done
	echo "up.sh: found no free loopback port" >&2
	return 1
}

stop() {
	"$here/down.sh" "$dir" >/dev/null 2>&1 || true
}

start_etcd() {
	etcd_port=$(free_port)
	etcd_peer=$(free_port)
	rm -rf "$dir/etcd"
	setsid "$bin/etcd" --name=kiln --data-dir="$dir/etcd" \
		--listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
		--listen-peer-urls="http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
		--initial-cluster="kiln=http://127.0.0.1:$etcd_peer" \
		--log-level=warn \
		--quota-backend-bytes=1073741824 --unsafe-no-fsync \
		</dev/null >"$dir/etcd.log" 2>&1 &
	echo $! >"$dir/etcd.pid"
}

start_apiserver() {
	api_port=$(free_port)
	setsid "$bin/kube-apiserver" \
		--etcd-servers="http://127.0.0.1:$etcd_port" --etcd-prefix=/kiln \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
		--endpoint-reconciler-type=none \
		--tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
		--client-ca-file="$pki/ca.crt" \
		--authorization-mode=RBAC --anonymous-auth=false \
		--service-account-issuer=https://kubernetes.default.svc \
		--service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
		--service-cluster-ip-range=10.96.0.0/16 \
		--profiling=false \
		--audit-policy-file="$dir/audit-policy.yaml" --audit-log-path="$dir/audit.log" \
		--audit-log-format=json --audit-log-mode=blocking --audit-log-maxsize=0 \
		</dev/null >"$dir/kube-apiserver.log" 2>&1 &
	echo $! >"$dir/kube-apiserver.pid"
}

# waits for URL to answer 200 (curl ARGS... URL); fails if PIDFILE's process dies
wait_for() {
	local name=$1 pidfile=$2 deadline=$3
	shift 3
	while :; do
		if curl -fsS --max-time 5 -o /dev/null "$@" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
			echo "up.sh: $name exited; the end of its log ($dir/$name.log):" >&2
			tail -n 20 "$dir/$name.log" >&2
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "up.sh: $name is not ready after ${KILN_CLUSTER_TIMEOUT:-180}s; the end of its log ($dir/$name.log):" >&2
			tail -n 20 "$dir/$name.log" >&2
			return 1
		fi
		sleep 0.2
	done
}

deadline=$((SECONDS + ${KILN_CLUSTER_TIMEOUT:-180}))
# A port found free can be taken before the server binds it: try again then.
for attempt in 1 2 3; do
	start_etcd
	if wait_for etcd "$dir/etcd.pid" "$deadline" "http://127.0.0.1:$etcd_port/health"; then
		break
	fi
	stop
	if [ "$attempt" = 3 ] || ! grep -q 'address already in use' "$dir/etcd.log"; then
		exit 1
	fi
done
for attempt in 1 2 3; do
	start_apiserver
	if wait_for kube-apiserver "$dir/kube-apiserver.pid" "$deadline" \
		--cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
		"https://127.0.0.1:$api_port/readyz"; then
		break
	fi
	if [ "$attempt" = 3 ] || ! grep -q 'address already in use' "$dir/kube-apiserver.log"; then
		stop
		exit 1
	fi
	"$here/down.sh" --only kube-apiserver "$dir" >/dev/null 2>&1 || true
done

b64() { base64 -w0 <"$1"; }
umask 077
cat >"$dir/kubeconfig.tmp" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: kiln-cluster
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: kiln-admin
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: kiln-cluster
  context:
    cluster: kiln-cluster
    user: kiln-admin
    namespace: default
current-context: kiln-cluster
KUBECONFIG
mv "$dir/kubeconfig.tmp" "$dir/kubeconfig"

if [ -n "${KILN_CLUSTER_WATCH_PID:-}" ]; then
	# Stops the control plane once the watched process is gone (a test binary
	# that exits without running destructors, or is killed).
	setsid bash -c '
		while kill -0 "$1" 2>/dev/null; do sleep 1; done
		"$2/down.sh" "$3"
		if [ "$4" = 1 ]; then rm -rf -- "$3"; fi
	' watch "$KILN_CLUSTER_WATCH_PID" "$here" "$dir" "${KILN_CLUSTER_CLEANUP:-0}" \
		</dev/null >/dev/null 2>&1 &
	echo $! >"$dir/watch.pid"
fi

echo "https://127.0.0.1:$api_port"
