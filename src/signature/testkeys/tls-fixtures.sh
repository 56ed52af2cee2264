#!/bin/sh
# Regenerates the loopback TLS test fixtures of src/signature/http.rs (TEST KEYS - NOT SECRET):
# a self-signed CA and a leaf for 127.0.0.1 / ::1 / localhost that it signed, both EC P-256, valid for 100 years.
# Run from this folder; needs the openssl command line. The test only reads the three output files.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 36500 -subj "/CN=interop-conformance test CA (NOT SECRET)" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$tmp/ca.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/leaf.key"
openssl req -new -key "$tmp/leaf.key" -subj "/CN=localhost" -out "$tmp/leaf.csr"
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
  "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost" > "$tmp/leaf.ext"
openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -sha256 -days 36500 \
  -extfile "$tmp/leaf.ext" -out "$tmp/leaf.pem"
note="TEST KEY - NOT SECRET - DO NOT USE OUTSIDE TESTS. Made by tls-fixtures.sh."
{ echo "$note"; echo "Role: the CA the loopback TLS tests trust with --tls-ca (its key is thrown away)."; cat "$tmp/ca.pem"; } > tls-ca.pem
{ echo "$note"; echo "Role: the loopback TLS server's certificate (127.0.0.1, ::1, localhost), signed by tls-ca.pem."; cat "$tmp/leaf.pem"; } > tls-leaf.pem
{ echo "$note"; echo "Role: the loopback TLS server's private key (PKCS#8)."; cat "$tmp/leaf.key"; } > tls-leaf.key
