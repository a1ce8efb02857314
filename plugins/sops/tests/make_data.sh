#!/usr/bin/env bash
# Regenerates the sops test fixtures in tests/data/: our own keys, and files encrypted and
# decrypted by the real sops (built from the Go module proxy into a temporary GOBIN).
# Usage: make_data.sh [--new-keys]
#   Keeps the committed keys unless --new-keys (or none exist); always re-encrypts every file.
# Needs: go, gpg (Debian `gnupg`), age-keygen (Debian `age`).
set -euo pipefail
# The sops that writes every file; format-2.enc.ini comes from the last release that wrote
# multi-line INI values as triple-quoted strings.
sops_version=v3.13.3
sops_ini_version=v3.13.1

here=$(cd "$(dirname "$0")" && pwd)
data="$here/data"
new_keys=false
[ "${1:-}" = --new-keys ] && new_keys=true
work=$(mktemp -d)
trap 'gpgconf --homedir "$work/gnupg" --kill all 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$data" "$work/gnupg" "$work/plain"
chmod 700 "$work/gnupg"
export GNUPGHOME="$work/gnupg"

build_sops() { # version -> path of the binary
  GOBIN="$work/$1" GOFLAGS=-mod=mod go install "github.com/getsops/sops/v3/cmd/sops@$1" >&2
  echo "$work/$1/sops"
}
sops=$(build_sops "$sops_version")
sops_ini=$(build_sops "$sops_ini_version")

# Keys: two PGP keys (RSA, and Ed25519 with a Curve25519 encryption subkey), two age identities.
if $new_keys || [ ! -e "$data/pgp-keys.asc" ] || [ ! -e "$data/age-keys.txt" ]; then
  gen() { # uid algo encryption-subkey-algo
    gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key "$1" "$2" sign never 2>/dev/null
    local fp
    fp=$(gpg --with-colons --list-secret-keys "$1" | awk -F: '/^fpr/ {print $10; exit}')
    gpg --batch --pinentry-mode loopback --passphrase '' --quick-add-key "$fp" "$3" encr never 2>/dev/null
    echo "$fp"
  }
  one=$(gen 'kiln test key one <one@kiln.invalid>' rsa3072 rsa3072)
  two=$(gen 'kiln test key two <two@kiln.invalid>' ed25519 cv25519)
  gpg --batch --armor --export-secret-keys "$one" "$two" 2>/dev/null > "$data/pgp-keys.asc"
  gpg --batch --armor --export-secret-keys "$two" 2>/dev/null > "$data/pgp-key-two.asc"
  printf '%s\n' "$one" "$two" > "$data/pgp-fingerprints.txt"
  { age-keygen 2>/dev/null; age-keygen 2>/dev/null; } > "$data/age-keys.txt"
else
  gpg --batch --import "$data/pgp-keys.asc" 2>/dev/null
fi
mapfile -t fps < "$data/pgp-fingerprints.txt"
mapfile -t recipients < <(sed -n 's/^# public key: //p' "$data/age-keys.txt")

enc() { # sops-binary input-type recipients-flag recipients plaintext-file output-file
  "$1" encrypt --input-type "$2" --output-type "$2" "$3" "$4" "$5" > "$6"
}

# One file per format, for the first PGP key; what sops prints decrypting it is the expected output.
printf 'service: web\nreplicas: 3\ndb:\n    # who connects\n    user: admin\n    password: kiln-test-pw\n' > "$work/plain/format.yaml"
printf '{\n\t"service": "web",\n\t"replicas": 3,\n\t"db": {\n\t\t"user": "admin",\n\t\t"password": "kiln-test-pw"\n\t}\n}\n' > "$work/plain/format.json"
printf 'SERVICE=web\nDB_PASSWORD=kiln-test-pw\n' > "$work/plain/format.env"
printf '[service]\nname = web\n\n[db]\nuser = admin\npassword = kiln-test-pw\n' > "$work/plain/format.ini"
for t in yaml json env ini; do
  type=$t; [ "$t" = env ] && type=dotenv
  enc "$sops" "$type" --pgp "${fps[0]}" "$work/plain/format.$t" "$data/format.enc.$t"
  "$sops" decrypt --input-type "$type" --output-type "$type" "$data/format.enc.$t" > "$data/format.$t.expected"
done
enc "$sops_ini" ini --pgp "${fps[0]}" "$work/plain/format.ini" "$data/format-2.enc.ini"
grep -q '"""' "$data/format-2.enc.ini" # the triple-quoted form this file exists for

# A file for both PGP keys, and one whose MAC line was removed.
printf 'message: hello from kiln\n' > "$work/plain/multiple_keys.yaml"
enc "$sops" yaml --pgp "${fps[0]},${fps[1]}" "$work/plain/multiple_keys.yaml" "$data/multiple_keys.yaml"
printf 'token: kiln-no-mac-secret\n' > "$work/plain/no_mac.yaml"
enc "$sops" yaml --pgp "${fps[0]}" "$work/plain/no_mac.yaml" "$work/no_mac.yaml"
grep -v '^    mac: ' "$work/no_mac.yaml" > "$data/no_mac.yaml"

# A binary file for both age identities.
printf 'kiln test payload\n\nEncrypted as a binary file by sops for two age recipients.\n' > "$data/age-example.expected"
enc "$sops" binary --age "${recipients[0]},${recipients[1]}" "$data/age-example.expected" "$data/age-example.txt"
cmp <(SOPS_AGE_KEY_FILE="$data/age-keys.txt" "$sops" decrypt "$data/age-example.txt") "$data/age-example.expected"
echo "fixtures written to $data with sops $sops_version (INI variant: $sops_ini_version)" >&2
