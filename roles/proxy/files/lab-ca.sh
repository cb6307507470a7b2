#!/bin/sh
# Lab and test TLS: a private CA and a server certificate it signs, for the
# names given. The server pair is written to STAGED_DIR only (never over the
# live pair nginx serves): proxy-apply checks it with nginx -t and renames it
# into place. Prints "issued" only when it wrote something; a pair is reissued
# when the names it must carry change, when the CA no longer signs it, or when
# the key is not the certificate's.
# Usage: lab-ca.sh DIR STAGED_DIR SERVER_NAME [EXTRA_SAN ...]   (EXTRA_SAN like IP:192.0.2.1)
set -eu
dir="$1"; staged="$2"; name="$3"; shift 3
sans="DNS:$name"
for extra in "$@"; do sans="$sans,$extra"; done
umask 077
cd "$dir"
mkdir -p "$staged"
work="$(mktemp -d "$dir/.lab-ca.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# True when KEY is the private key of CERT.
pair_matches() {
  [ -s "$1" ] && [ -s "$2" ] || return 1
  cert_pub="$(openssl x509 -in "$1" -noout -pubkey 2>/dev/null)" || return 1
  key_pub="$(openssl pkey -in "$2" -pubout 2>/dev/null)" || return 1
  [ -n "$cert_pub" ] && [ "$cert_pub" = "$key_pub" ]
}

# Runs openssl quietly; when it fails, its own words go to stderr, where the failed task shows them.
quiet() {
  "$@" 2>"$work/openssl.err" || { cat "$work/openssl.err" >&2; exit 1; }
}

if ! pair_matches lab-ca.crt lab-ca.key; then
  quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=tailnet.headscale lab CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$work/lab-ca.key" -out "$work/lab-ca.crt"
  chmod 0644 "$work/lab-ca.crt"
  mv -f "$work/lab-ca.key" lab-ca.key
  mv -f "$work/lab-ca.crt" lab-ca.crt
  echo "issued lab CA"
fi

# A host converged before the staging directory existed: start from its live pair.
if [ ! -e "$staged/server.crt" ] && [ ! -e "$staged/server.key" ] && pair_matches server.crt server.key; then
  cp -p server.key "$staged/server.key"
  cp -p server.crt "$staged/server.crt"
fi

# The names the staged certificate carries, in openssl's "DNS:a, IP Address:b" form.
wanted="$(printf %s "$sans" | sed -e 's/,/, /g' -e 's/IP:/IP Address:/g')"
current="$(openssl x509 -in "$staged/server.crt" -noout -ext subjectAltName 2>/dev/null | sed -n 2p | sed 's/^ *//')" || current=""
if [ "$current" != "$wanted" ] \
    || ! openssl verify -CAfile lab-ca.crt "$staged/server.crt" >/dev/null 2>&1 \
    || ! pair_matches "$staged/server.crt" "$staged/server.key"; then
  # The whole pair is made aside; a request that fails leaves the staged pair as it was.
  quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$work/server.key" -out "$work/server.csr"
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' "$sans" > "$work/server.ext"
  quiet openssl x509 -req -in "$work/server.csr" -CA lab-ca.crt -CAkey lab-ca.key -CAcreateserial -days 397 \
    -extfile "$work/server.ext" -out "$work/server.crt"
  chmod 0644 "$work/server.crt"
  pair_matches "$work/server.crt" "$work/server.key"
  mv -f "$work/server.key" "$staged/server.key"
  mv -f "$work/server.crt" "$staged/server.crt"
  echo "issued server certificate for $sans"
fi
