#!/bin/sh
# Lab and test TLS: a private CA and a server certificate it signs, for the
# names given. Idempotent: prints "issued" only when it wrote something; a
# certificate is reissued when the names it must carry change.
# Usage: lab-ca.sh DIR SERVER_NAME [EXTRA_SAN ...]   (EXTRA_SAN like IP:192.0.2.1)
set -eu
dir="$1"; name="$2"; shift 2
sans="DNS:$name"
for extra in "$@"; do sans="$sans,$extra"; done
umask 077
cd "$dir"

if [ ! -s lab-ca.crt ] || [ ! -s lab-ca.key ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=tailnet.headscale lab CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout lab-ca.key -out lab-ca.crt 2>/dev/null
  chmod 0644 lab-ca.crt
  rm -f server.crt
  echo "issued lab CA"
fi

# The names the current certificate carries, in openssl's "DNS:a, IP Address:b" form.
wanted="$(printf %s "$sans" | sed -e 's/,/, /g' -e 's/IP:/IP Address:/g')"
current="$(openssl x509 -in server.crt -noout -ext subjectAltName 2>/dev/null | sed -n 2p | sed 's/^ *//')" || current=""
if [ "$current" != "$wanted" ] || ! openssl verify -CAfile lab-ca.crt server.crt >/dev/null 2>&1; then
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout server.key -out server.csr 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' "$sans" > server.ext
  openssl x509 -req -in server.csr -CA lab-ca.crt -CAkey lab-ca.key -CAcreateserial -days 397 \
    -extfile server.ext -out server.crt 2>/dev/null
  chmod 0644 server.crt
  rm -f server.csr server.ext
  echo "issued server certificate for $sans"
fi
