#!/bin/sh
# Makes a private CA, one server certificate per monoroute service, a client certificate and three
# bearer tokens, for docker-compose.yml (./deploy/secrets) and the Kubernetes Secrets
# (deploy/k8s, see docs/deploy.md). Needs only `openssl` (Debian package openssl).
#
#   deploy/tls/make-certs.sh [OUTDIR]          # default OUTDIR: deploy/secrets
#   MONOROUTE_TLS_EXTRA_SANS="DNS:gpu1.example.org,IP:10.0.0.5" deploy/tls/make-certs.sh
#   MONOROUTE_TLS_DAYS=90 deploy/tls/make-certs.sh
#
# Writes into OUTDIR (created with mode 0700; refuses to overwrite an existing ca.key):
#   ca.crt ca.key                       the CA (keep ca.key offline; only ca.crt is deployed)
#   recorder.crt recorder.key           server certificates; subjectAltName: the service name, its
#   analysis.crt analysis.key           Kubernetes names (<svc>.monoroute.svc[.cluster.local]),
#   trainer.crt trainer.key             localhost, 127.0.0.1 and MONOROUTE_TLS_EXTRA_SANS
#   client.crt client.key               client certificate (CN monoroute-client) for mutual TLS:
#                                       trainer -> recorder, analysis -> recorder, the CLI
#   recorder.token trainer.token analysis.token   bearer tokens (32 random bytes, hex)
# Certificate and key files are mode 0644 so that a container user (uid 10001) can read the
# compose bind mounts; the directory's 0700 keeps other host users out.
set -eu

out=${1:-$(dirname "$0")/../secrets}
days=${MONOROUTE_TLS_DAYS:-365}
extra=${MONOROUTE_TLS_EXTRA_SANS:-}

command -v openssl >/dev/null 2>&1 || { echo "make-certs.sh: openssl not found" >&2; exit 1; }
if [ -e "$out/ca.key" ]; then
  echo "make-certs.sh: $out/ca.key exists; remove $out first to make a new CA" >&2
  exit 1
fi
mkdir -p "$out"
chmod 0700 "$out"
cd "$out"
umask 022

# Keys: ECDSA P-256, PKCS#8 PEM, unencrypted (the services read them at startup).
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { echo "0x$(openssl rand -hex 16)"; }

key ca.key
openssl req -x509 -new -key ca.key -out ca.crt -days "$days" -subj "/CN=monoroute CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# sign NAME CN EXTENSIONS: NAME.key + NAME.crt signed by the CA.
sign() {
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%b\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "$(serial)" \
    -days "$days" -out "$1.crt" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

for svc in recorder analysis trainer; do
  sans="DNS:$svc,DNS:$svc.monoroute.svc,DNS:$svc.monoroute.svc.cluster.local,DNS:localhost,IP:127.0.0.1"
  [ -n "$extra" ] && sans="$sans,$extra"
  sign "$svc" "$svc" "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=$sans"
done
sign client monoroute-client "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth"

for t in recorder trainer analysis; do openssl rand -hex 32 > "$t.token"; done
chmod 0644 ./*.crt ./*.key ./*.token
chmod 0600 ca.key
echo "make-certs.sh: wrote CA, server certificates (recorder, analysis, trainer), client" \
  "certificate and tokens to $(pwd)"
