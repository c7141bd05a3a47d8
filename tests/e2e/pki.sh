#!/bin/sh
# pki.sh DIR: a throw-away test PKI for vigie's TLS tests (unit and end-to-end),
# made with the openssl CLI only. DIR/README lists every file and its use.
#
# Idempotent: does nothing when DIR/done exists. Files are generated in a
# scratch directory inside DIR and moved into place before DIR/done is
# written, under a lock, so that two tests sharing DIR never see half a PKI.
# EC P-256 keys everywhere (fast) except rsa.key, which must be RSA: the
# gateway serves an RSA and an ECDSA certificate side by side.
#
# NEVER use these files outside tests: the private keys are written unencrypted
# next to the certificates.
set -eu

DIR=${1:?usage: pki.sh DIR}
mkdir -p "$DIR"
[ -f "$DIR/done" ] && exit 0

# Serialise concurrent runs on the same DIR (ctest -j); flock is util-linux.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$DIR/.lock"
    flock 9
    [ -f "$DIR/done" ] && exit 0
fi

T=$(mktemp -d "$DIR/.pki.XXXXXX")
trap 'rm -rf "$T"' EXIT

# Runs a command quietly; on failure shows what it printed and stops.
run() {
    if ! "$@" >"$T/log" 2>&1; then
        echo "pki.sh: failed: $*" >&2
        cat "$T/log" >&2
        exit 1
    fi
}

# One configuration for every step. Leaf SANs come from the environment, so
# one extension section serves every server certificate.
cat >"$T/openssl.cnf" <<'EOF'
# Minimal configuration for pki.sh (req, x509 -req and ca).
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${ENV::SAN}
[ v3_selfsigned ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = ${ENV::SAN}
[ v3_client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# `openssl ca` is used once, for the expired certificate: x509 -req in
# OpenSSL 3.0 cannot set a validity period in the past.
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $ENV::CADB
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
EOF
export OPENSSL_CONF="$T/openssl.cnf"
export SAN="DNS:localhost"
export CADB="$T/cadb"
CNF="$T/openssl.cnf"
LOCAL="DNS:localhost,IP:127.0.0.1"

eckey() { # out
    run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$1"
}

serial() {
    echo "0x$(openssl rand -hex 8)"
}

root() { # name subject: a self-signed root valid ten years
    eckey "$1.key"
    run openssl req -config "$CNF" -new -x509 -key "$T/$1.key" -subj "$2" -days 3650 \
        -sha256 -set_serial "$(serial)" -extensions v3_ca -out "$T/$1.crt"
}

# leaf name ca_name subject extension_section san: name.crt for name.key,
# signed by ca_name, valid 825 days.
leaf() {
    run openssl req -config "$CNF" -new -key "$T/$1.key" -subj "$3" -out "$T/$1.csr"
    SAN=${5:-DNS:unused}
    export SAN
    run openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.crt" -CAkey "$T/$2.key" \
        -set_serial "$(serial)" -days 825 -sha256 -extfile "$CNF" -extensions "$4" \
        -out "$T/$1.crt"
    rm -f "$T/$1.csr"
}

# Roots: the gateway's and the upstreams' CA (the bundle), the client CA for
# mTLS, and an unknown CA that no bundle holds.
root ca "/O=vigie tests/CN=vigie test root CA"
root client-ca "/O=vigie tests/CN=vigie test client CA"
root unknown-ca "/O=nobody/CN=unknown test CA"

# Gateway listener: one RSA and one ECDSA certificate, served side by side.
run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.key"
leaf rsa ca "/O=vigie tests/CN=localhost" v3_server "$LOCAL"
eckey ecdsa.key
leaf ecdsa ca "/O=vigie tests/CN=localhost" v3_server "$LOCAL"

# mTLS clients.
eckey client.key
leaf client client-ca "/C=FR/O=DGDDI/OU=Bureau JC/CN=Service juridique" v3_client ""
eckey client-unknown.key
leaf client-unknown unknown-ca "/C=FR/O=DGDDI/OU=Bureau JC/CN=Service juridique" v3_client ""

# Mock model (upstream) certificates.
eckey upstream-good.key
leaf upstream-good ca "/O=vigie tests/CN=localhost" v3_server "$LOCAL"
eckey upstream-wrongname.key
leaf upstream-wrongname ca "/O=vigie tests/CN=wrong.example" v3_server "DNS:wrong.example"
eckey upstream-unknownca.key
leaf upstream-unknownca unknown-ca "/O=nobody/CN=localhost" v3_server "$LOCAL"
eckey upstream-selfsigned.key
SAN=$LOCAL
run openssl req -config "$CNF" -new -x509 -key "$T/upstream-selfsigned.key" \
    -subj "/O=nobody/CN=localhost" -days 825 -sha256 -set_serial "$(serial)" \
    -extensions v3_selfsigned -out "$T/upstream-selfsigned.crt"

# Expired: signed by the good CA with the right names, valid only in 2020.
eckey upstream-expired.key
mkdir "$CADB"
: >"$CADB/index.txt"
openssl rand -hex 8 >"$CADB/serial"
run openssl req -config "$CNF" -new -key "$T/upstream-expired.key" \
    -subj "/O=vigie tests/CN=localhost" -out "$T/upstream-expired.csr"
SAN=$LOCAL
run openssl ca -config "$CNF" -batch -notext -md sha256 \
    -cert "$T/ca.crt" -keyfile "$T/ca.key" -in "$T/upstream-expired.csr" \
    -startdate 20200101000000Z -enddate 20200201000000Z -extfile "$CNF" \
    -extensions v3_server -out "$T/upstream-expired.crt"
rm -rf "$CADB" "$T/upstream-expired.csr"

cat >"$T/README" <<'EOF'
Test PKI made by tests/e2e/pki.sh. Unencrypted keys: for tests only.

ca.crt, ca.key                  root CA of the gateway's and the mock model's
                                certificates: clients trust it to reach the
                                gateway; the gateway's upstream_ca_file / an
                                upstream's ca_file is this file
rsa.crt, rsa.key                gateway listener, RSA 2048, SAN DNS:localhost,
                                IP:127.0.0.1, signed by ca
ecdsa.crt, ecdsa.key            gateway listener, ECDSA P-256, same names,
                                signed by ca (served beside rsa.crt)
client-ca.crt, client-ca.key    CA of client certificates (listener client_ca)
client.crt, client.key          client certificate signed by client-ca, subject
                                CN=Service juridique,OU=Bureau JC,O=DGDDI,C=FR
                                (RFC 2253)
client-unknown.crt, .key        same subject, signed by unknown-ca: must be
                                refused (required) or not trusted (optional)
unknown-ca.crt, unknown-ca.key  a CA in no bundle
upstream-good.crt, .key         mock model, SAN DNS:localhost, IP:127.0.0.1,
                                signed by ca: verifies
upstream-expired.crt, .key      as good but valid only 2020-01-01..2020-02-01:
                                X509_V_ERR_CERT_HAS_EXPIRED (10)
upstream-wrongname.crt, .key    signed by ca, SAN DNS:wrong.example only:
                                X509_V_ERR_HOSTNAME_MISMATCH (62) for localhost,
                                X509_V_ERR_IP_ADDRESS_MISMATCH (64) for 127.0.0.1
upstream-unknownca.crt, .key    right names, signed by unknown-ca:
                                X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY (20)
upstream-selfsigned.crt, .key   right names, self-signed:
                                X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT (18)
done                            marks a complete PKI (pki.sh does nothing then)
EOF

rm -f "$T/log" "$T/openssl.cnf"
for f in "$T"/*; do
    mv -f "$f" "$DIR/"
done
: >"$DIR/done"
